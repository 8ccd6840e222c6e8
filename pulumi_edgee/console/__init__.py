"""Client of the Edgee Console API's Gateway API key endpoints.

Imported lazily by the provider, so it may pull in httpx and pydantic.
"""

from .client import ConsoleClient, is_loopback
from .errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConsoleError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
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
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
    "UnsupportedOperationError",
    "is_loopback",
]
