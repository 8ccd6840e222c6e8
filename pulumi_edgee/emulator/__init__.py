"""Local emulator of the Edgee Console API (Gateway API keys), per docs/console-api.md.

Laid out by concern: `keys` (the stored key and its JSON form), `validation` (the
contract's body rules), `store` (keys, order, cursors), `persistence` (the state
file), `faults` (fault rules), `requestlog`, the facade `backend`; then the HTTP side,
which holds no state: `wire` (requests, responses, errors), `console_routes`,
`admin_routes`, `gateway` (the AI Gateway stand-in, per docs/gateway.md, with its
spend ledger), `app` (dispatch), `server` (socket) and `transport` (in-process httpx).

Importing this package is cheap (standard library only); `EmulatorTransport`, which
needs httpx, loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .app import ConsoleApp, RouteGroup
from .backend import EmulatorBackend
from .errors import (
    BackendError,
    FieldError,
    Immutable,
    InvalidPageRequest,
    KeyNotFound,
    StateFileError,
    ValidationFailed,
)
from .faults import FaultDecision, FaultRule, fault_json
from .keys import KeyPage, StoredKey, key_json
from .requestlog import RequestRecord, request_json
from .server import EmulatorServer
from .wire import DropConnection, Headers, HttpRequest, HttpResponse

if TYPE_CHECKING:
    from .transport import EmulatorTransport

__all__ = [
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
    "RouteGroup",
    "StateFileError",
    "StoredKey",
    "ValidationFailed",
    "fault_json",
    "key_json",
    "request_json",
]


def __getattr__(name: str) -> object:
    if name == "EmulatorTransport":
        from .transport import EmulatorTransport

        return EmulatorTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
