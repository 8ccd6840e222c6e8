"""HTTP layer of the Console API emulator, free of any server framework.

`ConsoleApp.handle` turns an `HttpRequest` into an `HttpResponse`, or raises
`DropConnection` when the connection must close unanswered, so that the same code
serves a real socket (server.py) and an in-process httpx transport (transport.py). It
keeps no state: keys, fault rules and the request log live in the backend.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Literal
from urllib.parse import parse_qsl, unquote

from .backend import (
    DEFAULT_PAGE_SIZE,
    KEY_OBJECT,
    MAX_PAGE_SIZE,
    ApiKey,
    EmulatorBackend,
    FaultRule,
    FieldError,
    InvalidPageRequest,
    KeyNotFound,
    RequestRecord,
    ValidationFailed,
    format_timestamp,
)

logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/_emulator"
UNAUTHORIZED_BODY = {"error": "Unauthorized", "message": "Invalid or expired API token"}
FORBIDDEN_BODY = {
    "error": "Forbidden",
    "message": "Your token does not have permission to access this resource",
}
# Pinned here because http.HTTPStatus renamed some phrases between Python versions.
_PHRASES = {413: "Content Too Large", 422: "Unprocessable Entity"}
_DIGITS_RE = re.compile(r"[0-9]+")

Role = Literal["full", "read_only"]
Handler = Callable[["HttpRequest", str], "HttpResponse"]


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
    """A request as the app sees it: `path` is percent-decoded and has no query."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

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
        return cls(method.upper(), unquote(raw_path), query, Headers(headers), body)


@dataclass(frozen=True)
class HttpResponse:
    """An answer; the server adds Content-Length (and Date/Server) itself."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

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


class _BadBody(Exception):
    """The body is not a JSON object (400)."""


def _json_object(body: bytes) -> dict[str, object]:
    def reject_constant(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(body, parse_constant=reject_constant)
    except (ValueError, RecursionError):
        raise _BadBody("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise _BadBody("The request body must be a JSON object.")
    return value


def key_json(key: ApiKey, *, secret: bool, email: bool = False) -> dict[str, object]:
    """The key object; `secret` adds `key`, `email` (admin view only) adds `email`."""
    payload: dict[str, object] = {
        "object": KEY_OBJECT,
        "id": key.id,
        "organization_id": key.organization_id,
        "name": key.name,
        "type": key.type,
        "coding_assistant": key.coding_assistant,
        "models": list(key.models),
        "max_usage": key.max_usage,
        "active": key.active,
        "debug_mode": key.debug_mode,
        "created_at": format_timestamp(key.created_at),
        "expires_at": format_timestamp(key.expires_at),
        "last_used_at": format_timestamp(key.last_used_at),
    }
    if email:
        payload["email"] = key.email
    if secret:
        payload["key"] = key.secret
    return payload


def fault_json(rule: FaultRule) -> dict[str, object]:
    """A fault rule as the admin API shows it."""
    return {
        "id": rule.id,
        "kind": rule.kind,
        "method": rule.method,
        "path": rule.path,
        "count": rule.count,
        "remaining": rule.remaining,
        "delay_ms": rule.delay_ms,
        "retry_after": rule.retry_after,
        "status": rule.status,
        "drop": rule.drop,
    }


def request_json(record: RequestRecord) -> dict[str, object]:
    """A request log entry as the admin API shows it."""
    started_at = record.started_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "method": record.method,
        "path": record.path,
        "query": dict(record.query),
        "status": record.status,
        "fault": record.fault,
        "started_at": started_at,
        "duration_ms": record.duration_ms,
    }


def _parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE_SIZE
    if _DIGITS_RE.fullmatch(text) is None:
        raise InvalidPageRequest("limit", "limit must be a positive integer.")
    significant = text.lstrip("0") or "0"
    # Avoid int() on huge digit strings: anything this long is clamped anyway.
    return int(significant) if len(significant) <= 9 else MAX_PAGE_SIZE + 1


def _error_code(status: int) -> str:
    """A machine-readable code for an error status: its phrase in snake case."""
    return re.sub(r"[^a-z0-9]+", "_", reason_phrase(status).lower()).strip("_")


def _method_not_allowed(request: HttpRequest, allowed: Iterable[str]) -> HttpResponse:
    return error_response(
        405,
        f"{request.method} is not allowed on {request.path}.",
        headers=(("Allow", ", ".join(sorted(allowed))),),
    )


def _not_found(request: HttpRequest) -> HttpResponse:
    return error_response(404, f"No resource at {request.path}.")


class ConsoleApp:
    """The Console API of one organization, plus the `/_emulator/` admin API.

    Order of checks on a Console API request: fault rules, then the token (401, on
    every path outside `/_emulator/`), then the route (404, 405), then permission
    (403), then the key (404) and the body (400, 422).
    """

    def __init__(
        self,
        backend: EmulatorBackend,
        token: str,
        organization_id: str,
        read_only_token: str | None = None,
        serve_key_get: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise ValueError("the token must not be empty")
        if read_only_token is not None and (not read_only_token or read_only_token == token):
            raise ValueError("the read-only token must be non-empty and differ from the token")
        if not organization_id or "/" in organization_id:
            raise ValueError("the organization id must be a non-empty path segment")
        self.backend = backend
        self.organization_id = organization_id
        self._token = token.encode()
        self._read_only_token = None if read_only_token is None else read_only_token.encode()
        self._serve_key_get = serve_key_get
        self._sleep = sleep
        from .gateway import Gateway  # gateway.py builds on this module's request types

        self.gateway = Gateway(backend)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request, or raise DropConnection."""
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            response = self._admin(request)
        else:
            response = self._console(request)
        if request.method == "HEAD":
            return replace(response, body=b"")
        return response

    # ------------------------------------------------------------------ Console API

    def _console(self, request: HttpRequest) -> HttpResponse:
        # Wall time, not the backend's injectable clock: it pairs with duration_ms.
        started_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        decision = self.backend.match_faults(request.method, request.path)
        status: int | None = None
        try:
            if decision.delay_ms:
                self._sleep(decision.delay_ms / 1000)
            response = self._with_fault(request, decision.rule)
            status = response.status
            return response
        finally:
            self.backend.record_request(
                RequestRecord(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    status=status,
                    fault=decision.label,
                    started_at=started_at,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            )

    def _with_fault(self, request: HttpRequest, rule: FaultRule | None) -> HttpResponse:
        if rule is None:
            return self._serve(request)
        error = self._error_for(request)
        if rule.kind == "rate_limit":
            return error(
                429,
                "Too many requests; retry later.",
                (("Retry-After", str(rule.retry_after)),),
            )
        if rule.kind == "server_error":
            assert rule.status is not None
            headers = () if rule.retry_after is None else (("Retry-After", str(rule.retry_after)),)
            return error(rule.status, "Injected server error.", headers)
        if rule.kind == "drop_connection":
            raise DropConnection
        # apply_then_fail: the change is committed whatever the answer says.
        self._serve(request)
        if rule.drop:
            raise DropConnection
        assert rule.status is not None
        return error(rule.status, "Injected failure after the request was applied.", ())

    def _error_for(
        self, request: HttpRequest
    ) -> Callable[[int, str, tuple[tuple[str, str], ...]], HttpResponse]:
        """Error bodies in the shape of the API the path belongs to."""
        if self.gateway.serves(request.path):
            from .gateway import gateway_error

            return lambda status, message, headers: gateway_error(
                status, _error_code(status), message, headers
            )
        return lambda status, message, headers: error_response(status, message, headers=headers)

    def _serve(self, request: HttpRequest) -> HttpResponse:
        try:
            if self.gateway.serves(request.path):
                return self.gateway.handle(request)
            return self._route(request)
        except Exception:
            logger.exception("emulator failed on %s %s", request.method, request.path)
            return self._error_for(request)(500, "The emulator failed unexpectedly.", ())

    def _role(self, request: HttpRequest) -> Role | None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        presented = credentials.strip().encode()
        if hmac.compare_digest(presented, self._token):
            return "full"
        if self._read_only_token is not None and hmac.compare_digest(
            presented, self._read_only_token
        ):
            return "read_only"
        return None

    def _route(self, request: HttpRequest) -> HttpResponse:
        role = self._role(request)
        if role is None:
            return HttpResponse.from_json(
                401, UNAUTHORIZED_BODY, (("WWW-Authenticate", 'Bearer realm="edgee"'),)
            )
        parts = request.path.split("/")
        prefix = ["", "v1", "organizations", self.organization_id, "api_keys"]
        if parts[:5] != prefix or len(parts) > 7 or any(not part for part in parts[5:]):
            return _not_found(request)
        rest = parts[5:]
        routes: dict[str, tuple[Handler, bool]]  # method -> (handler, is a write or reveal)
        if not rest:
            routes = {"GET": (self._list, False), "POST": (self._create, True)}
        elif len(rest) == 1:
            routes = {"POST": (self._update, True), "DELETE": (self._delete, True)}
            if self._serve_key_get:
                routes["GET"] = (self._get, False)
        elif rest[1] == "reveal":
            routes = {"GET": (self._reveal, True)}
        else:
            return _not_found(request)
        if request.method not in routes:
            return _method_not_allowed(request, routes)
        handler, privileged = routes[request.method]
        if privileged and role == "read_only":
            return HttpResponse.from_json(403, FORBIDDEN_BODY)
        key_id = rest[0] if rest else ""
        try:
            return handler(request, key_id)
        except _BadBody as exc:
            return error_response(400, str(exc))
        except InvalidPageRequest as exc:
            return error_response(400, exc.message, [FieldError(exc.field, exc.message)])
        except KeyNotFound as exc:
            return error_response(404, str(exc))
        except ValidationFailed as exc:
            return error_response(422, "Validation failed.", exc.errors)

    def _list(self, request: HttpRequest, _key_id: str) -> HttpResponse:
        limit = _parse_limit(request.query.get("limit"))
        page = self.backend.list_keys(
            self.organization_id, limit=limit, cursor=request.query.get("cursor") or None
        )
        return HttpResponse.from_json(
            200,
            {
                "object": "list",
                "data": [key_json(key, secret=False) for key in page.keys],
                "has_more": page.next_cursor is not None,
                "next_cursor": page.next_cursor,
            },
        )

    def _create(self, request: HttpRequest, _key_id: str) -> HttpResponse:
        key = self.backend.create_key(self.organization_id, _json_object(request.body))
        return HttpResponse.from_json(201, key_json(key, secret=True))

    def _get(self, _request: HttpRequest, key_id: str) -> HttpResponse:
        key = self.backend.get_key(self.organization_id, key_id)
        return HttpResponse.from_json(200, key_json(key, secret=False))

    def _update(self, request: HttpRequest, key_id: str) -> HttpResponse:
        # The key is looked up before the body is read: a missing key is 404 first.
        self.backend.get_key(self.organization_id, key_id)
        key = self.backend.update_key(self.organization_id, key_id, _json_object(request.body))
        return HttpResponse.from_json(200, key_json(key, secret=False))

    def _delete(self, _request: HttpRequest, key_id: str) -> HttpResponse:
        key = self.backend.delete_key(self.organization_id, key_id)
        return HttpResponse.from_json(200, {"id": key.id, "object": KEY_OBJECT, "deleted": True})

    def _reveal(self, _request: HttpRequest, key_id: str) -> HttpResponse:
        key = self.backend.get_key(self.organization_id, key_id)
        return HttpResponse.from_json(200, key_json(key, secret=True))

    # ------------------------------------------------------------------ admin API

    def _admin(self, request: HttpRequest) -> HttpResponse:
        parts = request.path[len(ADMIN_PREFIX) :].split("/")[1:]
        if len(parts) == 3 and parts[0] == "keys" and parts[1] and parts[2] == "use":
            routes: dict[str, Callable[[], HttpResponse]] = {
                "POST": lambda: self._admin_use(parts[1])
            }
        elif len(parts) == 3 and parts[0] == "keys" and parts[1] and parts[2] == "spend":
            routes = {
                "GET": lambda: HttpResponse.from_json(200, self.gateway.spend_json(parts[1])),
                "POST": lambda: self._admin_set_spend(request, parts[1]),
            }
        else:
            table: dict[str, dict[str, Callable[[], HttpResponse]]] = {
                "health": {"GET": lambda: HttpResponse.from_json(200, {"status": "ok"})},
                "reset": {"POST": self._admin_reset},
                "keys": {"GET": self._admin_keys},
                "faults": {
                    "GET": self._admin_faults,
                    "POST": lambda: self._admin_add_fault(request),
                    "DELETE": self._admin_clear_faults,
                },
                "requests": {"GET": self._admin_requests, "DELETE": self._admin_clear_requests},
            }
            if len(parts) != 1 or parts[0] not in table:
                return _not_found(request)
            routes = table[parts[0]]
        if request.method not in routes:
            return _method_not_allowed(request, routes)
        try:
            return routes[request.method]()
        except _BadBody as exc:
            return error_response(400, str(exc))
        except KeyNotFound as exc:
            return error_response(404, str(exc))
        except ValidationFailed as exc:
            return error_response(422, "Validation failed.", exc.errors)

    def _admin_reset(self) -> HttpResponse:
        self.backend.reset()
        return HttpResponse.from_json(200, {"status": "ok"})

    def _admin_keys(self) -> HttpResponse:
        keys = [key_json(key, secret=True, email=True) for key in self.backend.all_keys()]
        return HttpResponse.from_json(200, {"keys": keys})

    def _admin_use(self, key_id: str) -> HttpResponse:
        key = self.backend.mark_used(key_id)
        return HttpResponse.from_json(200, key_json(key, secret=True, email=True))

    def _admin_set_spend(self, request: HttpRequest, key_id: str) -> HttpResponse:
        try:
            spend = self.gateway.set_spend(key_id, _json_object(request.body))
        except ValueError as exc:
            raise ValidationFailed([FieldError("spent_usd", str(exc))]) from None
        return HttpResponse.from_json(200, spend)

    def _admin_faults(self) -> HttpResponse:
        faults = [fault_json(rule) for rule in self.backend.faults()]
        return HttpResponse.from_json(200, {"faults": faults})

    def _admin_add_fault(self, request: HttpRequest) -> HttpResponse:
        rule = self.backend.add_fault(_json_object(request.body))
        return HttpResponse.from_json(201, fault_json(rule))

    def _admin_clear_faults(self) -> HttpResponse:
        self.backend.clear_faults()
        return HttpResponse.from_json(200, {"status": "ok"})

    def _admin_requests(self) -> HttpResponse:
        records = [request_json(record) for record in self.backend.requests()]
        return HttpResponse.from_json(200, {"requests": records})

    def _admin_clear_requests(self) -> HttpResponse:
        self.backend.clear_requests()
        return HttpResponse.from_json(200, {"status": "ok"})
