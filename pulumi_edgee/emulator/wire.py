"""HTTP vocabulary of the emulator, free of any server framework and of any state.

Requests, responses, headers and the contract's error body, shared by every route
group (Console API, admin API) and by both ways of serving them: a real socket
(server.py) and an in-process httpx transport (transport.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote

from .errors import FieldError

# Pinned here because http.HTTPStatus renamed some phrases between Python versions.
_PHRASES = {413: "Content Too Large", 422: "Unprocessable Entity"}


def reason_phrase(status: int) -> str:
    """The reason phrase used as the `error` of an error body."""
    if status in _PHRASES:
        return _PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error" if status >= 500 else "Client Error"


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive header lookup; the first of repeated headers wins."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, str] = {}
        for name, value in pairs:
            self._items.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        # Never show credentials, e.g. in a failing test's assertion message.
        shown = {k: ("<redacted>" if k == "authorization" else v) for k, v in self._items.items()}
        return f"Headers({shown!r})"


@dataclass(frozen=True)
class HttpRequest:
    """A request as the app sees it: `path` is percent-decoded and has no query.

    Routes use `segments`, decoded one by one from the raw path, so that an encoded
    slash (`abc%2Freveal`) stays inside its segment instead of making a new one.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    raw_path: str | None = None

    @property
    def segments(self) -> list[str]:
        """The path's segments, each percent-decoded on its own; the first is empty."""
        if self.raw_path is None:
            return self.path.split("/")
        return [unquote(segment) for segment in self.raw_path.split("/")]

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        body: bytes = b"",
    ) -> HttpRequest:
        """Build from a raw request target such as `/v1/x?limit=5` (first value wins)."""
        raw_path, _, raw_query = target.split("#", 1)[0].partition("?")
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(name, value)
        return cls(method.upper(), unquote(raw_path), query, Headers(headers), body, raw_path)


@dataclass(frozen=True)
class HttpResponse:
    """An answer; the server adds Content-Length (and Date/Server) itself.

    `drip_interval_ms`, set by a `slow_drip` fault, makes the socket server send the
    whole answer (status line and headers included) one byte at a time.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    drip_interval_ms: int | None = None

    @classmethod
    def from_json(
        cls, status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        """A JSON answer."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status, (("Content-Type", "application/json"), *headers), body)


class DropConnection(Exception):
    """Raised by `handle` when the connection must be closed without an answer."""


def error_response(
    status: int,
    message: str,
    errors: Iterable[FieldError] = (),
    headers: tuple[tuple[str, str], ...] = (),
) -> HttpResponse:
    """An error body as the contract shapes it: error, message, optional field errors."""
    payload: dict[str, object] = {"error": reason_phrase(status), "message": message}
    field_errors = [{"field": e.field, "message": e.message} for e in errors]
    if field_errors:
        payload["errors"] = field_errors
    return HttpResponse.from_json(status, payload, headers)


class BadBody(Exception):
    """The body is not a JSON object (400)."""


def json_object(body: bytes) -> dict[str, object]:
    """The body as a JSON object; NaN/Infinity and deep nesting are refused (BadBody)."""

    def reject_constant(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(body, parse_constant=reject_constant)
    except (ValueError, RecursionError):
        raise BadBody("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise BadBody("The request body must be a JSON object.")
    return value


def method_not_allowed(request: HttpRequest, allowed: Iterable[str]) -> HttpResponse:
    """405 with the `Allow` header listing what the path serves."""
    return error_response(
        405,
        f"{request.method} is not allowed on {request.path}.",
        headers=(("Allow", ", ".join(sorted(allowed))),),
    )


def not_found(request: HttpRequest) -> HttpResponse:
    """404 naming the path."""
    return error_response(404, f"No resource at {request.path}.")
