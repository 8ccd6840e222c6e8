"""Client of the Edgee Console API's Gateway API key endpoints.

Imported lazily by the provider, so it may pull in httpx and pydantic.
"""

from .client import ConsoleClient, KeyList, check_base_url, is_loopback
from .errors import (
    ApiError,
    AuthenticationError,
    CommunicationError,
    ConfigurationError,
    ConsoleError,
    DeadlineExceededError,
    InvalidKeyIdError,
    InvalidRequestError,
    NotFoundError,
    OrganizationNotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RetryableApiError,
    ServerError,
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
    "CommunicationError",
    "ConfigurationError",
    "ConsoleClient",
    "ConsoleError",
    "DeadlineExceededError",
    "InvalidKeyIdError",
    "InvalidRequestError",
    "KeyList",
    "NotFoundError",
    "OrganizationNotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryPolicy",
    "RetryableApiError",
    "ServerError",
    "UnexpectedResponseError",
    "UnsupportedOperationError",
    "check_base_url",
    "is_loopback",
]
