"""Synchronous Console API client for Gateway API keys (contract: docs/console-api.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpcore
import httpx
import pydantic

from .._version import __version__
from .deadline import (
    REQUEST_DEADLINE_ENV_VAR,
    STEP_DEADLINE_ENV_VAR,
    Budget,
    DeadlineBackend,
    current_step,
    request_budget,
    step_budget,
)
from .errors import (
    ApiError,
    AuthenticationError,
    CommunicationError,
    ConfigurationError,
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
    scrub,
)
from .models import ApiKeyCreate, ApiKeyObject, ApiKeyUpdate, OddApiKeyObject
from .retry import RetryPolicy, parse_retry_after
from .rules import check_base_url, check_token

_DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# A request's total budget, whatever the server's pace (the timeouts above are per read).
DEFAULT_REQUEST_DEADLINE = 30.0
# A list walk's total budget, whatever the number of pages: the step deadline's default.
DEFAULT_WALK_DEADLINE = 120.0
# A list walk that has not ended after this many pages (1,000,000 keys at 100 a page),
# or after this many empty pages in a row that say more follow, is not going to end.
MAX_PAGES = 10_000
MAX_EMPTY_PAGES = 5
# Failures raised before any byte of the request could reach the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_ITEM_FIELDS = ("data", "items", "api_keys")
_CURSOR_FIELDS = ("next_cursor", "cursor", "next")


def _validation_detail(exc: pydantic.ValidationError) -> str:
    # Locations and reasons only: pydantic's default text quotes the input, secret included.
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)


def _json(response: httpx.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: brackets nested too deep
        raise UnexpectedResponseError(method, path, "the body is not readable JSON") from None


# Fields without which a key cannot be told apart or shown: a key missing one is unreadable.
_REQUIRED_FIELDS = frozenset(
    name for name, field in ApiKeyObject.model_fields.items() if field.is_required()
)


def _parse_key(data: Any, method: str, path: str) -> ApiKeyObject:
    """The key object, with optional fields that cannot be read taken as unset (and
    named in `odd_fields`); `UnexpectedResponseError` when a required one is unreadable."""
    try:
        return ApiKeyObject.model_validate(data)
    except pydantic.ValidationError as exc:
        odd = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if isinstance(data, dict) and odd and not odd & _REQUIRED_FIELDS:
            kept = {k: v for k, v in data.items() if k not in odd}
            return OddApiKeyObject.with_odd_fields(kept, tuple(sorted(odd)))
        detail = f"not a key object ({_validation_detail(exc)})"
        raise UnexpectedResponseError(method, path, detail) from None


class KeyList(list[ApiKeyObject]):
    """The keys of a list walk, and the ids of listed entries that could not be read
    (each with the reason), so that no reader takes such a key for deleted."""

    def __init__(self, keys: list[ApiKeyObject], unreadable: dict[str, str]) -> None:
        super().__init__(keys)
        self.unreadable = unreadable


def _key_from(response: httpx.Response, method: str, path: str) -> ApiKeyObject:
    return _parse_key(_json(response, method, path), method, path)


def _walk_ran_out(path: str, budget: Budget, pages: int, keys: int) -> DeadlineExceededError:
    return DeadlineExceededError(
        "GET",
        path,
        may_have_been_sent=False,
        detail=f"the key list did not end within {budget.describe()} "
        f"({pages} pages, {keys} keys read)",
    )


def _page(
    body: Any, path: str, unreadable: dict[str, str]
) -> tuple[list[ApiKeyObject], str | None, bool | None]:
    """Split a list answer into keys, next cursor and has_more, across tolerated shapes.

    An entry that is not a readable key is set aside in `unreadable` (by id, when it
    has one): one odd key of another stack must not stop this one's walk.
    """
    raw: Any = body
    cursor: Any = None
    has_more: Any = None
    if isinstance(body, dict):
        raw = next((body[f] for f in _ITEM_FIELDS if isinstance(body.get(f), list)), None)
        cursor = next((body[f] for f in _CURSOR_FIELDS if body.get(f) not in (None, "")), None)
        has_more = body.get("has_more")
    if not isinstance(raw, list):
        raise UnexpectedResponseError("GET", path, "no list of keys in the answer")
    keys = []
    for item in raw:
        try:
            keys.append(_parse_key(item, "GET", path))
        except UnexpectedResponseError as error:
            key_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(key_id, str):
                unreadable[key_id] = str(error)
    return (
        keys,
        None if cursor is None else str(cursor),
        has_more if isinstance(has_more, bool) else None,
    )


def _field_errors(body: Any) -> dict[str, str]:
    """Collect field errors from `errors` or `details`, as a list of objects or a mapping."""
    found: dict[str, list[str]] = {}
    for source in ("errors", "details"):
        value = body.get(source)
        if isinstance(value, list):
            pairs = [(e.get("field"), e.get("message")) for e in value if isinstance(e, dict)]
        elif isinstance(value, dict):
            pairs = list(value.items())
        else:
            continue
        for name, reasons in pairs:
            for reason in reasons if isinstance(reasons, list) else [reasons]:
                found.setdefault(str(name or "body"), []).append(str(reason or "invalid"))
    return {name: "; ".join(reasons) for name, reasons in found.items()}


class _BoundedTransport(httpx.HTTPTransport):
    """httpx's transport over `DeadlineBackend`, so that budgets bound every socket
    operation; a TLS context is built only for an https:// Console URL."""

    def __init__(self, *, https: bool) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context() if https else None,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=DeadlineBackend(),
        )


class ConsoleClient:
    """Gateway API key operations of one organization, safe to share between threads.

    Reads, updates and deletes are retried on 429, 5xx and transport failures; a create
    only when it certainly was not applied (see `create_api_key`).
    """

    def __init__(
        self,
        base_url: str,
        organization_id: str,
        token: str,
        *,
        timeout: httpx.Timeout | None = None,
        request_deadline: float = DEFAULT_REQUEST_DEADLINE,
        walk_deadline: float = DEFAULT_WALK_DEADLINE,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        on_walk: Callable[[KeyList, float], None] | None = None,
    ) -> None:
        base_url = check_base_url(base_url)
        token = check_token(token)
        if not organization_id:
            raise ConfigurationError("The organization id is empty")
        self._base_url = base_url
        self._organization_id = organization_id
        self._token = token
        self._keys_path = f"/v1/organizations/{quote(organization_id, safe='')}/api_keys"
        self._retry = retry or RetryPolicy()
        self._request_deadline = request_deadline
        self._walk_deadline = walk_deadline
        self._on_walk = on_walk
        # None until the server proves whether it serves GET /api_keys/{id}.
        self._get_one_served: bool | None = None
        self._http = httpx.Client(
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"pulumi-edgee/{__version__}",
                "Accept": "application/json",
            },
            timeout=timeout or _DEFAULT_TIMEOUT,
            transport=transport or _BoundedTransport(https=base_url.startswith("https:")),
            follow_redirects=False,
            # Plain http (loopback only) never uses TLS: skip building a context (~30 ms).
            verify=not base_url.startswith("http://"),
        )

    def __repr__(self) -> str:
        return (
            f"ConsoleClient(base_url={self._base_url!r}, organization_id={self._organization_id!r})"
        )

    def __enter__(self) -> ConsoleClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- operations ------------------------------------------------------------------

    def create_api_key(self, body: ApiKeyCreate) -> ApiKeyObject:
        """Create a key; the answer carries the secret `key`.

        Raises `OutcomeUnknownError` when the request may have been applied without the
        answer arriving (timeout after sending, dropped connection, 5xx, unreadable 2xx).
        """
        path = self._keys_path
        response = self._request("POST", path, json=body.payload(), idempotent=False)
        try:
            return _key_from(response, "POST", path)
        except UnexpectedResponseError as exc:
            raise OutcomeUnknownError("POST", path, exc) from exc

    def list_api_keys(
        self, *, page_size: int = 100, on_page: Callable[[int, int], None] | None = None
    ) -> KeyList:
        """Every key of the organization, following the cursor through all pages;
        `on_page` hears the pages and keys read so far after each page (a progress line).

        A walk that would not end (a cursor seen before, more than `MAX_PAGES` pages,
        `MAX_EMPTY_PAGES` empty pages in a row that say more follow, or still going when
        its total budget, the walk deadline or what is left of the step's, runs out)
        stops with an error. A complete walk is handed to `on_walk` with the time it
        began (epoch seconds).
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        what = f"walk deadline ({STEP_DEADLINE_ENV_VAR})"
        with step_budget(self._walk_deadline, what) as budget:
            keys, unreadable, started = self._walk(page_size, budget, on_page)
        for key_id in keys:
            unreadable.pop(key_id, None)
        walked = KeyList(list(keys.values()), unreadable)
        if self._on_walk is not None:
            self._on_walk(walked, started)
        return walked

    def _walk(
        self, page_size: int, budget: Budget, on_page: Callable[[int, int], None] | None
    ) -> tuple[dict[str, ApiKeyObject], dict[str, str], float]:
        path = self._keys_path
        keys: dict[str, ApiKeyObject] = {}
        unreadable: dict[str, str] = {}
        seen: set[str] = set()
        cursor: str | None = None
        empty = 0
        started = time.time()
        for pages in range(MAX_PAGES):
            if budget.remaining() <= 0:
                raise _walk_ran_out(path, budget, pages, len(keys))
            params: dict[str, Any] = {"limit": page_size}
            if cursor is not None:
                params["cursor"] = cursor
            try:
                response = self._request("GET", path, params=params)
            except DeadlineExceededError:
                # The walk's budget may run out during a page: say so in the walk's words.
                if budget.remaining() > 0:
                    raise
                raise _walk_ran_out(path, budget, pages, len(keys)) from None
            raw_count = len(unreadable)
            items, cursor, has_more = _page(_json(response, "GET", path), path, unreadable)
            raw_count = len(unreadable) - raw_count
            for item in items:
                keys.setdefault(item.id, item)
            if on_page is not None:
                on_page(pages + 1, len(keys))
            if cursor is None:
                if has_more:
                    # Stopping here would report the remaining keys as deleted.
                    raise UnexpectedResponseError(
                        "GET", path, "has_more is true but no cursor was given"
                    )
                break
            if has_more is False:
                break
            if cursor in seen:
                raise UnexpectedResponseError("GET", path, "the same page cursor came back twice")
            seen.add(cursor)
            empty = 0 if items or raw_count else empty + 1
            if empty >= MAX_EMPTY_PAGES:
                raise UnexpectedResponseError(
                    "GET", path, f"{empty} empty pages in a row each said more keys follow"
                )
        else:
            raise UnexpectedResponseError(
                "GET", path, f"the key list did not end after {MAX_PAGES} pages"
            )
        return keys, unreadable, started

    def get_api_key(self, key_id: str) -> ApiKeyObject:
        """Read one key (without its secret); `NotFoundError` when it does not exist.

        Uses the undocumented `GET /api_keys/{id}` while the server serves it and the
        list otherwise; a 404 before the route is proven is checked against the list,
        since a server without the route answers 404 too.
        """
        path = self._key_path(key_id)
        if self._get_one_served is not False:
            try:
                key = _key_from(self._request("GET", path), "GET", path)
            except UnsupportedOperationError:
                self._set_get_one_served(False)
            except NotFoundError:
                if self._get_one_served:
                    raise
                listed = self._find_in_list(key_id)
                if listed is None:
                    raise
                self._set_get_one_served(False)
                return listed
            else:
                self._set_get_one_served(True)
                return key
        listed = self._find_in_list(key_id)
        if listed is None:
            raise NotFoundError(404, "GET", path, f"the organization's key list has no {key_id!r}")
        return listed

    def update_api_key(self, key_id: str, body: ApiKeyUpdate) -> ApiKeyObject:
        path = self._key_path(key_id)
        return _key_from(self._request("POST", path, json=body.payload()), "POST", path)

    def delete_api_key(self, key_id: str) -> None:
        """Delete a key; `NotFoundError` when it is already gone (the caller decides)."""
        self._request("DELETE", self._key_path(key_id))

    def reveal_api_key(self, key_id: str) -> ApiKeyObject:
        """Read one key with its secret `key`."""
        path = f"{self._key_path(key_id)}/reveal"
        return _key_from(self._request("GET", path), "GET", path)

    def check_access(self) -> None:
        """One cheap request (the first key of the list) that fails as any call would with
        a wrong token or organization: settings are proven before any key is touched."""
        path = self._keys_path
        _page(_json(self._request("GET", path, params={"limit": 1}), "GET", path), path, {})

    # -- plumbing --------------------------------------------------------------------

    def _key_path(self, key_id: str) -> str:
        if not key_id or key_id in (".", ".."):
            raise InvalidKeyIdError(key_id)
        return f"{self._keys_path}/{quote(key_id, safe='')}"

    def _set_get_one_served(self, served: bool) -> None:
        # A plain assignment: atomic, and every thread would learn the same answer.
        self._get_one_served = served

    def _find_in_list(self, key_id: str) -> ApiKeyObject | None:
        keys = self.list_api_keys()
        if key_id in keys.unreadable:
            path = self._key_path(key_id)
            detail = f"listed but unreadable: {keys.unreadable[key_id]}"
            raise UnexpectedResponseError("GET", path, detail)
        return next((key for key in keys if key.id == key_id), None)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send with retries; a non-idempotent request is retried only if surely not applied."""
        policy = self._retry
        started = policy.clock()
        attempt = 1
        while True:
            try:
                return self._send(method, path, json, params)
            except (RetryableApiError, CommunicationError) as exc:
                applied_maybe = isinstance(exc, ServerError) or (
                    isinstance(exc, CommunicationError) and exc.may_have_been_sent
                )
                if applied_maybe and not idempotent:
                    raise OutcomeUnknownError(method, path, exc) from exc
                retry_after = None if isinstance(exc, CommunicationError) else exc.retry_after
                wait = policy.delay(attempt, policy.clock() - started, retry_after)
                step = current_step()
                if wait is None or (step is not None and wait >= step.remaining()):
                    raise
                policy.sleep(wait)
                attempt += 1

    def _send(
        self, method: str, path: str, json: dict[str, Any] | None, params: dict[str, Any] | None
    ) -> httpx.Response:
        budget = self._budget()
        if budget.remaining() <= 0:
            raise DeadlineExceededError(
                method, path, may_have_been_sent=False, detail=f"{budget.describe()} ran out"
            )
        try:
            with request_budget(budget):
                response = self._http.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            if budget.remaining() > 0:
                raise self._communication_error(method, path, exc) from None
            raise DeadlineExceededError(
                method,
                path,
                may_have_been_sent=not isinstance(exc, _NOT_SENT),
                detail=f"no complete answer within {budget.describe()}",
            ) from None
        except httpx.RequestError as exc:
            raise self._communication_error(method, path, exc) from None
        if response.is_success:
            return response
        raise self._error(response, method, path)

    def _budget(self) -> Budget:
        """This request's budget: the request deadline, or what is left of the step's."""
        own = Budget(
            time.monotonic() + self._request_deadline,
            self._request_deadline,
            f"request deadline ({REQUEST_DEADLINE_ENV_VAR})",
        )
        step = current_step()
        return step if step is not None and step.deadline < own.deadline else own

    def _communication_error(
        self, method: str, path: str, exc: httpx.RequestError
    ) -> CommunicationError:
        """Any failure to get a readable answer, including a body that cannot be decoded
        (the request was then certainly sent). Not chained by callers: the httpx
        exception holds the request, Authorization header included."""
        return CommunicationError(
            method,
            path,
            may_have_been_sent=not isinstance(exc, _NOT_SENT),
            detail=f"{type(exc).__name__} at {self._base_url}: {scrub(str(exc), self._token)}",
        )

    def _error(self, response: httpx.Response, method: str, path: str) -> ApiError:
        """The one place that turns an HTTP error status into a typed error."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if isinstance(body, dict):
            message = body.get("message") or body.get("error") or ""
            detail = scrub(str(message), self._token)
        else:
            detail = "" if str(body).lstrip().startswith("<") else scrub(str(body), self._token)
        if status == 401:
            return AuthenticationError(status, method, path, detail)
        if status == 403:
            return PermissionDeniedError(
                status, method, path, detail, organization_id=self._organization_id
            )
        if status == 404 and path == self._keys_path:
            # The collection itself is missing: the organization, not a key.
            return OrganizationNotFoundError(
                status, method, path, detail, organization_id=self._organization_id
            )
        if status == 404:
            return NotFoundError(status, method, path, detail)
        if status in (400, 422):
            fields = _field_errors(body) if isinstance(body, dict) else {}
            return InvalidRequestError(
                status,
                method,
                path,
                detail,
                field_errors={
                    scrub(name, self._token): scrub(reason, self._token)
                    for name, reason in fields.items()
                },
            )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return RateLimitedError(status, method, path, detail, retry_after=retry_after)
        if status in (405, 501):
            return UnsupportedOperationError(status, method, path, detail)
        if status >= 500:
            return ServerError(status, method, path, detail, retry_after=retry_after)
        return ApiError(status, method, path, detail)
