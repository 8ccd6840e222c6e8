"""The `/_emulator/` admin routes: inspect and reset state, arm faults, read the log.

Stateless like the Console routes; served on the same port, and no Console API path
can reach them (the prefix is matched as a whole path segment).
"""

from __future__ import annotations

from collections.abc import Callable

from .backend import EmulatorBackend
from .errors import FieldError, KeyNotFound, StateNotSaved, ValidationFailed
from .faults import fault_json
from .keys import key_json
from .requestlog import request_json
from .wire import (
    BadBody,
    HttpRequest,
    HttpResponse,
    error_response,
    json_object,
    method_not_allowed,
    not_found,
)

ADMIN_PREFIX = "/_emulator"

_OK = {"status": "ok"}
_READS = ("GET", "HEAD")
# What a 422 on each admin collection calls the refused body.
_SUBJECTS = {"faults": "fault rule", "keys": "key", "organizations": "organization"}


def _cross_origin(request: HttpRequest) -> bool:
    """Whether a browser sent this for a page of another origin (a CSRF attempt).

    Browsers send `Origin` on every cross-origin request but simple GETs, and
    `Sec-Fetch-Site` on all; command-line and library clients send neither.
    """
    origin = request.headers.get("origin")
    if origin is not None and origin != "http://" + request.headers.get("host", ""):
        return True
    return request.headers.get("sec-fetch-site", "none") not in ("none", "same-origin")


def _is_json(request: HttpRequest) -> bool:
    """Whether the body is declared JSON, which no form or simple cross-origin request can be."""
    media_type = request.headers.get("content-type", "").partition(";")[0]
    return media_type.strip().lower() == "application/json"


def admin_refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer to a web page's admin request (403) or a non-JSON admin write (415)."""
    if _cross_origin(request):
        return error_response(403, "The admin API refuses cross-origin requests.")
    if request.method not in _READS and not _is_json(request):
        return error_response(415, "Send admin requests with Content-Type: application/json.")
    return None


def _only(request: HttpRequest, field: str) -> object:
    """The one field a body may carry; any other field is an error, as for fault rules."""
    body = json_object(request.body)
    errors = [
        FieldError(name, f"{name} is not a field here.") for name in sorted(body) if name != field
    ]
    if errors:
        raise ValidationFailed(errors)
    return body.get(field)


class AdminRoutes:
    """The admin API; no token (the server binds loopback only).

    Writes must be JSON (415 otherwise) and any request a browser marks as coming from
    another origin is refused (403), so a web page cannot reset or read the emulator.
    """

    faulted = False  # fault rules never touch the admin API, nor does the request log

    def __init__(self, backend: EmulatorBackend) -> None:
        self.backend = backend

    def claims(self, path: str) -> bool:
        """`/_emulator` and everything under it."""
        return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")

    def serve(self, request: HttpRequest) -> HttpResponse:
        """Route one admin request; a web page's request is refused before anything else."""
        if _cross_origin(request):
            return error_response(403, "The admin API refuses cross-origin requests.")
        parts = request.segments[2:]
        if any("/" in part for part in parts):
            return not_found(request)
        if len(parts) == 3 and parts[0] == "keys" and parts[1] and parts[2] == "use":
            routes: dict[str, Callable[[], HttpResponse]] = {"POST": lambda: self._use(parts[1])}
        else:
            table: dict[str, dict[str, Callable[[], HttpResponse]]] = {
                "health": {"GET": lambda: HttpResponse.from_json(200, _OK)},
                "reset": {"POST": self._reset},
                "keys": {"GET": self._keys, "POST": lambda: self._insert_key(request)},
                "organizations": {
                    "GET": self._organizations,
                    "POST": lambda: self._add_organization(request),
                },
                "clock": {"GET": self._clock, "POST": lambda: self._set_clock(request)},
                "faults": {
                    "GET": self._faults,
                    "POST": lambda: self._add_fault(request),
                    "DELETE": self._clear_faults,
                },
                "requests": {"GET": self._requests, "DELETE": self._clear_requests},
            }
            if len(parts) != 1 or parts[0] not in table:
                return not_found(request)
            routes = table[parts[0]]
        if request.method not in routes:
            return method_not_allowed(request, routes)
        if request.method not in _READS and not _is_json(request):
            return error_response(415, "Send admin requests with Content-Type: application/json.")
        try:
            return routes[request.method]()
        except BadBody as exc:
            return error_response(400, str(exc))
        except KeyNotFound as exc:
            return error_response(404, str(exc))
        except StateNotSaved as exc:
            return error_response(503, str(exc))
        except ValidationFailed as exc:
            return error_response(422, f"Invalid {_SUBJECTS.get(parts[0], 'request')}.", exc.errors)

    @staticmethod
    def fault_response(
        status: int, message: str, headers: tuple[tuple[str, str], ...]
    ) -> HttpResponse:
        """An injected fault's answer: the Console's error body."""
        return error_response(status, message, headers=headers)

    def _reset(self) -> HttpResponse:
        self.backend.reset()
        return HttpResponse.from_json(200, _OK)

    def _keys(self) -> HttpResponse:
        keys = [key_json(key, secret=True, email=True) for key in self.backend.all_keys()]
        return HttpResponse.from_json(200, {"keys": keys})

    def _insert_key(self, request: HttpRequest) -> HttpResponse:
        key = self.backend.insert_key(json_object(request.body))
        return HttpResponse.from_json(201, key_json(key, secret=True, email=True))

    def _organizations(self) -> HttpResponse:
        return HttpResponse.from_json(200, {"organizations": self.backend.organizations()})

    def _add_organization(self, request: HttpRequest) -> HttpResponse:
        added = self.backend.add_organization(_only(request, "id"))
        body = {"organizations": self.backend.organizations()}
        return HttpResponse.from_json(201 if added else 200, body)

    def _clock(self) -> HttpResponse:
        return HttpResponse.from_json(200, {"offset_seconds": self.backend.clock_offset()})

    def _set_clock(self, request: HttpRequest) -> HttpResponse:
        offset = self.backend.set_clock_offset(_only(request, "offset_seconds"))
        return HttpResponse.from_json(200, {"offset_seconds": offset})

    def _use(self, key_id: str) -> HttpResponse:
        key = self.backend.mark_used(key_id)
        return HttpResponse.from_json(200, key_json(key, secret=True, email=True))

    def _faults(self) -> HttpResponse:
        faults = [fault_json(rule) for rule in self.backend.faults()]
        return HttpResponse.from_json(200, {"faults": faults})

    def _add_fault(self, request: HttpRequest) -> HttpResponse:
        rule = self.backend.add_fault(json_object(request.body))
        return HttpResponse.from_json(201, fault_json(rule))

    def _clear_faults(self) -> HttpResponse:
        self.backend.clear_faults()
        return HttpResponse.from_json(200, _OK)

    def _requests(self) -> HttpResponse:
        records = [request_json(record) for record in self.backend.requests()]
        return HttpResponse.from_json(200, {"requests": records})

    def _clear_requests(self) -> HttpResponse:
        self.backend.clear_requests()
        return HttpResponse.from_json(200, _OK)
