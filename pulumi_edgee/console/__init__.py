"""Client of the Edgee Console API's Gateway API key endpoints.

The errors and the settings rules load with the package; the client, the wire models and
the retry policy (httpx and pydantic) load on first use of their names, so that checking
settings at preview time does not pay for the HTTP stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr
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
from .rules import check_base_url, check_token, is_loopback

if TYPE_CHECKING:
    from .client import ConsoleClient, KeyList
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
    "check_token",
    "is_loopback",
]

_HOMES = {
    "ApiKeyCreate": ".models",
    "ApiKeyObject": ".models",
    "ApiKeyUpdate": ".models",
    "ConsoleClient": ".client",
    "KeyList": ".client",
    "RetryPolicy": ".retry",
}


__getattr__ = lazy_getattr(__name__, _HOMES)
