"""The emulator's application: route groups on one port, with fault rules and a log.

`ConsoleApp.handle` turns an `HttpRequest` into an `HttpResponse`, or raises
`DropConnection` when the connection must close unanswered, so that the same code
serves a real socket (server.py) and an in-process httpx transport (transport.py).

Dispatch: the first route group in `route_groups` that claims a path serves it. The
admin group comes first and the Console API group last (it claims every path, so
unknown paths get the Console's 401/404); `mount` adds another group between them, as
the AI Gateway stand-in (gateway.py) is. Fault rules and the request log apply to the
requests of every group whose `faulted` is true. The app keeps no state: keys, fault
rules and the request log live in the backend.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Protocol

from .admin_routes import ADMIN_PREFIX, AdminRoutes, admin_refusal
from .backend import EmulatorBackend
from .console_routes import ConsoleRoutes
from .faults import FaultRule, fault_json
from .gateway import Gateway
from .keys import key_json
from .requestlog import RequestRecord, request_json
from .wire import (
    DropConnection,
    Headers,
    HttpRequest,
    HttpResponse,
    error_response,
    reason_phrase,
)

__all__ = [
    "ADMIN_PREFIX",
    "ConsoleApp",
    "DropConnection",
    "Headers",
    "HttpRequest",
    "HttpResponse",
    "RouteGroup",
    "error_response",
    "fault_json",
    "key_json",
    "reason_phrase",
    "request_json",
]


class RouteGroup(Protocol):
    """A set of routes served on the emulator's port."""

    @property
    def faulted(self) -> bool:
        """Whether fault rules and the request log apply to this group's requests."""

    def claims(self, path: str) -> bool:
        """Whether this group serves `path` (percent-decoded, without query)."""

    def serve(self, request: HttpRequest) -> HttpResponse:
        """Answer a request this group claims, without fault rules."""

    def fault_response(
        self, status: int, message: str, headers: tuple[tuple[str, str], ...]
    ) -> HttpResponse:
        """An injected fault's error answer, in this group's error body shape."""


class ConsoleApp:
    """The Console API of `organization_id` (the default) and any extra organizations,
    plus the `/_emulator/` admin API.

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
        extra_organization_ids: Sequence[str] = (),
    ) -> None:
        self.backend = backend
        self.console = ConsoleRoutes(
            backend,
            token=token,
            organization_id=organization_id,
            read_only_token=read_only_token,
            serve_key_get=serve_key_get,
            extra_organization_ids=extra_organization_ids,
        )
        self.organization_id = organization_id
        self.admin = AdminRoutes(backend)
        self.route_groups: list[RouteGroup] = [self.admin, self.console]
        self._sleep = sleep
        self.gateway = Gateway(backend)
        self.mount(self.gateway)
        # Its one admin route (a key's spend) is claimed ahead of the admin API.
        self.route_groups.insert(0, self.gateway.admin_routes)

    def mount(self, group: RouteGroup) -> None:
        """Serve another route group, tried after the admin API, before the Console API."""
        self.route_groups.insert(len(self.route_groups) - 1, group)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request, or raise DropConnection."""
        group = next(g for g in self.route_groups if g.claims(request.path))
        # Another group's route under /_emulator/ gets the admin API's guard too.
        if (
            group is not self.admin
            and self.admin.claims(request.path)
            and (refusal := admin_refusal(request)) is not None
        ):
            return refusal
        response = self._with_faults(request, group) if group.faulted else group.serve(request)
        if request.method == "HEAD":
            return replace(response, body=b"")
        return response

    def _with_faults(self, request: HttpRequest, group: RouteGroup) -> HttpResponse:
        # Wall time, not the backend's injectable clock: it pairs with duration_ms.
        started_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        decision = self.backend.match_faults(request.method, request.path)
        status: int | None = None
        try:
            if decision.delay_ms:
                self._sleep(decision.delay_ms / 1000)
            response = self._apply_fault(request, group, decision.rule)
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

    def _apply_fault(
        self, request: HttpRequest, group: RouteGroup, rule: FaultRule | None
    ) -> HttpResponse:
        if rule is None:
            return group.serve(request)
        if rule.kind == "rate_limit":
            return group.fault_response(
                429,
                "Too many requests; retry later.",
                (("Retry-After", str(rule.retry_after)),),
            )
        if rule.kind == "server_error":
            assert rule.status is not None
            headers = () if rule.retry_after is None else (("Retry-After", str(rule.retry_after)),)
            message = "Injected server error." if rule.body is None else rule.body
            return group.fault_response(rule.status, message, headers)
        if rule.kind == "drop_connection":
            raise DropConnection
        if rule.kind == "endless_pages":
            # A fresh cursor each time, so that a client cannot spot a loop by its value.
            page = {"object": "list", "data": [], "has_more": True}
            return HttpResponse.from_json(200, {**page, "next_cursor": secrets.token_urlsafe(12)})
        if rule.kind == "growing_pages":
            # Each page one key never seen before: a walk that always finds something new.
            page = {"object": "list", "data": [_phantom_key(request.path)], "has_more": True}
            return HttpResponse.from_json(200, {**page, "next_cursor": secrets.token_urlsafe(12)})
        if rule.kind == "answer_unapplied":
            return _as_it_is(request, group)
        if rule.kind == "late_apply":
            # Held unanswered, then applied; the client has usually given up by then,
            # and the server ignores the failed write of the answer.
            assert rule.delay_ms is not None
            self._sleep(rule.delay_ms / 1000)
            return group.serve(request)
        # The remaining kinds apply the request whatever the answer then says.
        response = group.serve(request)
        if rule.kind == "slow_drip":
            return replace(response, drip_interval_ms=rule.interval_ms)
        if rule.kind == "apply_then_garble":
            assert rule.status is not None
            assert rule.body is not None
            headers = (("Content-Type", "application/json"),)
            return HttpResponse(rule.status, headers, rule.body.encode())
        # apply_then_fail
        if rule.drop:
            raise DropConnection
        assert rule.status is not None
        return group.fault_response(
            rule.status, "Injected failure after the request was applied.", ()
        )


def _phantom_key(list_path: str) -> dict[str, object]:
    """A key object with a fresh id that no store holds (`growing_pages`)."""
    organization = list_path.split("/")[3]
    return {
        "object": "ai_gateway_api_key",
        "id": f"key_{secrets.token_hex(10)}",
        "organization_id": organization,
        "name": "phantom",
        "type": "api",
        "models": [],
        "active": True,
        "created_at": datetime.now(timezone.utc).isoformat(),
    }


def _as_it_is(request: HttpRequest, group: RouteGroup) -> HttpResponse:
    """`answer_unapplied`: a write acknowledged with 200 and the key as it is, unchanged;
    any other request answered as usual (read through the key's reveal route, the one
    read of a single key every server has, its secret left out as an update's answer)."""
    if request.method != "POST" or len(request.segments) != 6:
        return group.serve(request)
    raw = None if request.raw_path is None else request.raw_path + "/reveal"
    shown = group.serve(
        replace(request, method="GET", path=request.path + "/reveal", raw_path=raw, body=b"")
    )
    if shown.status != 200:
        return shown
    body = json.loads(shown.body)
    body.pop("key", None)
    return HttpResponse.from_json(200, body)
