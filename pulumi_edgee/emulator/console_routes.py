"""The Console API routes (`/v1/organizations/{id}/api_keys...`) over the backend.

Stateless: every key lives in the backend; this module only checks the token, routes,
checks permission and turns typed backend errors into the contract's statuses.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .backend import EmulatorBackend
from .errors import FieldError, InvalidPageRequest, KeyNotFound, StateNotSaved, ValidationFailed
from .keys import KEY_OBJECT, key_json
from .store import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from .wire import (
    BadBody,
    HttpRequest,
    HttpResponse,
    error_response,
    json_object,
    method_not_allowed,
    not_found,
)

logger = logging.getLogger(__name__)

UNAUTHORIZED_BODY = {"error": "Unauthorized", "message": "Invalid or expired API token"}
FORBIDDEN_BODY = {
    "error": "Forbidden",
    "message": "Your token does not have permission to access this resource",
}
_DIGITS_RE = re.compile(r"[0-9]+")

Role = Literal["full", "read_only"]
Handler = Callable[[HttpRequest, str, str], HttpResponse]  # request, organization, key id


@dataclass(frozen=True)
class Route:
    """One route under `/v1/organizations/{organization}/api_keys`: the rest of the path
    (`{id}` stands for a key id), the method, the handler's name, and whether a
    read-only token is refused it (writes, and the reveal of a secret)."""

    path: str
    method: str
    handler: str
    privileged: bool
    # Served only with `serve_key_get` (the documented API has no single-key GET).
    optional: bool = False


ROUTES: tuple[Route, ...] = (
    Route("", "GET", "_list", privileged=False),
    Route("", "POST", "_create", privileged=True),
    Route("{id}", "GET", "_get", privileged=False, optional=True),
    Route("{id}", "POST", "_update", privileged=True),
    Route("{id}", "DELETE", "_delete", privileged=True),
    Route("{id}/reveal", "GET", "_reveal", privileged=True),
)


def _path_shape(rest: Sequence[str]) -> str:
    """The route path of the segments after `api_keys`, a key id as `{id}`."""
    return "/".join(["{id}", *rest[1:]]) if rest else ""


def _parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE_SIZE
    if _DIGITS_RE.fullmatch(text) is None:
        raise InvalidPageRequest("limit", "limit must be a positive integer.")
    significant = text.lstrip("0") or "0"
    # Avoid int() on huge digit strings: anything this long is clamped anyway.
    return int(significant) if len(significant) <= 9 else MAX_PAGE_SIZE + 1


class ConsoleRoutes:
    """The Console API of the backend's organizations; claims every path no other group claims.

    Order of checks: the token (401, on every path it serves), then the route (404,
    405), then permission (403), then the key (404) and the body (400, 422).
    """

    faulted = True  # fault rules and the request log apply to these routes

    def __init__(
        self,
        backend: EmulatorBackend,
        token: str,
        organization_id: str,
        read_only_token: str | None = None,
        serve_key_get: bool = False,
        extra_organization_ids: Sequence[str] = (),
    ) -> None:
        if not token:
            raise ValueError("the token must not be empty")
        if read_only_token is not None and (not read_only_token or read_only_token == token):
            raise ValueError("the read-only token must be non-empty and differ from the token")
        for organization in (organization_id, *extra_organization_ids):
            if not organization or "/" in organization:
                raise ValueError("an organization id must be a non-empty path segment")
        self.backend = backend
        self.organization_id = organization_id
        # The organizations live in the backend, which admin calls may add to.
        for organization in (organization_id, *extra_organization_ids):
            backend.add_organization(organization)
        self._token = token.encode()
        self._read_only_token = None if read_only_token is None else read_only_token.encode()
        self._serve_key_get = serve_key_get

    def claims(self, path: str) -> bool:
        """Every path: the Console API is the fallback group (unknown paths are 401/404)."""
        return True

    def serve(self, request: HttpRequest) -> HttpResponse:
        """Answer one request; an unexpected failure is a 500, never a traceback."""
        try:
            return self._route(request)
        except Exception:
            logger.exception("emulator failed on %s %s", request.method, request.path)
            return error_response(500, "The emulator failed unexpectedly.")

    @staticmethod
    def fault_response(
        status: int, message: str, headers: tuple[tuple[str, str], ...]
    ) -> HttpResponse:
        """An injected fault's answer: the Console's error body."""
        return error_response(status, message, headers=headers)

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
        parts = request.segments
        if (
            parts[:3] != ["", "v1", "organizations"]
            or parts[4:5] != ["api_keys"]
            or parts[3] not in self.backend.organizations()
            or len(parts) > 7
            or any(not part or "/" in part for part in parts[5:])
        ):
            return not_found(request)
        rest = parts[5:]
        shape = _path_shape(rest)
        routes: dict[str, tuple[Handler, bool]] = {
            route.method: (getattr(self, route.handler), route.privileged)
            for route in ROUTES
            if route.path == shape and (self._serve_key_get or not route.optional)
        }
        if not routes:
            return not_found(request)
        if request.method not in routes:
            return method_not_allowed(request, routes)
        handler, privileged = routes[request.method]
        if privileged and role == "read_only":
            return HttpResponse.from_json(403, FORBIDDEN_BODY)
        key_id = rest[0] if rest else ""
        try:
            return handler(request, parts[3], key_id)
        except BadBody as exc:
            return error_response(400, str(exc))
        except InvalidPageRequest as exc:
            return error_response(400, exc.message, [FieldError(exc.field, exc.message)])
        except KeyNotFound as exc:
            return error_response(404, str(exc))
        except ValidationFailed as exc:
            return error_response(422, "Validation failed.", exc.errors)
        except StateNotSaved as exc:
            return error_response(503, str(exc))

    def _list(self, request: HttpRequest, organization_id: str, _key_id: str) -> HttpResponse:
        limit = _parse_limit(request.query.get("limit"))
        page = self.backend.list_keys(
            organization_id, limit=limit, cursor=request.query.get("cursor") or None
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

    def _create(self, request: HttpRequest, organization_id: str, _key_id: str) -> HttpResponse:
        key = self.backend.create_key(organization_id, json_object(request.body))
        return HttpResponse.from_json(201, key_json(key, secret=True))

    def _get(self, _request: HttpRequest, organization_id: str, key_id: str) -> HttpResponse:
        key = self.backend.get_key(organization_id, key_id)
        return HttpResponse.from_json(200, key_json(key, secret=False))

    def _update(self, request: HttpRequest, organization_id: str, key_id: str) -> HttpResponse:
        # The key is looked up before the body is read: a missing key is 404 first.
        self.backend.get_key(organization_id, key_id)
        key = self.backend.update_key(organization_id, key_id, json_object(request.body))
        return HttpResponse.from_json(200, key_json(key, secret=False))

    def _delete(self, _request: HttpRequest, organization_id: str, key_id: str) -> HttpResponse:
        key = self.backend.delete_key(organization_id, key_id)
        return HttpResponse.from_json(200, {"id": key.id, "object": KEY_OBJECT, "deleted": True})

    def _reveal(self, _request: HttpRequest, organization_id: str, key_id: str) -> HttpResponse:
        key = self.backend.get_key(organization_id, key_id)
        return HttpResponse.from_json(200, key_json(key, secret=True))
