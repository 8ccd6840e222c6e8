"""Client of the Edgee Console API's Gateway API key endpoints.

Imported lazily by the provider, so it may pull in httpx and pydantic.
"""

from .client import ConsoleClient, check_base_url, is_loopback
from .errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConsoleError,
    InvalidRequestError,
    NotFoundError,
    OrganizationNotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RetryableApiError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    UnsupportedOperationError,
)
from .models import ApiKeyCreate, ApiKeyObject, ApiKeyUpdate
from .retry import RetryPolicy

__all__ = [
    "ApiError",
    "ApiKeyCreate",
    "ApiKeyObject",
    "ApiKeyUpdate",
    "AuthenticationError",
    "ConfigurationError",
    "ConsoleClient",
    "ConsoleError",
    "InvalidRequestError",
    "NotFoundError",
    "OrganizationNotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryPolicy",
    "RetryableApiError",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
    "UnsupportedOperationError",
    "check_base_url",
    "is_loopback",
]
