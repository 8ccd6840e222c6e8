"""Local emulator of the Edgee Console API (Gateway API keys), per docs/console-api.md.

Importing this package is cheap (standard library only); `EmulatorTransport`, which
needs httpx, loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .app import ConsoleApp, DropConnection, Headers, HttpRequest, HttpResponse
from .backend import (
    ApiKey,
    BackendError,
    EmulatorBackend,
    FaultDecision,
    FaultRule,
    FieldError,
    Immutable,
    InvalidPageRequest,
    KeyNotFound,
    KeyPage,
    RequestRecord,
    StateFileError,
    ValidationFailed,
)
from .server import EmulatorServer

if TYPE_CHECKING:
    from .transport import EmulatorTransport

__all__ = [
    "ApiKey",
    "BackendError",
    "ConsoleApp",
    "DropConnection",
    "EmulatorBackend",
    "EmulatorServer",
    "EmulatorTransport",
    "FaultDecision",
    "FaultRule",
    "FieldError",
    "Headers",
    "HttpRequest",
    "HttpResponse",
    "Immutable",
    "InvalidPageRequest",
    "KeyNotFound",
    "KeyPage",
    "RequestRecord",
    "StateFileError",
    "ValidationFailed",
]


def __getattr__(name: str) -> object:
    if name == "EmulatorTransport":
        from .transport import EmulatorTransport

        return EmulatorTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
