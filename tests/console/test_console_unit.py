"""Client behaviour that needs shapes the emulator never produces, via httpx.MockTransport."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from pulumi_edgee.console import (
    ApiError,
    ApiKeyCreate,
    ApiKeyObject,
    ApiKeyUpdate,
    AuthenticationError,
    CommunicationError,
    ConfigurationError,
    ConsoleClient,
    ConsoleError,
    InvalidKeyIdError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
    UnsupportedOperationError,
)
from pulumi_edgee.console.errors import scrub
from pulumi_edgee.console.retry import parse_retry_after

TOKEN = "edgee_console_Tok3nValue"
SECRET = "ek_live_S3cretGatewayKeyValue"
BASE = "https://console.test"
KEYS = "/v1/organizations/org_1/api_keys"

Handler = Callable[[httpx.Request], httpx.Response]


def key(n: int = 1, **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "object": "ai_gateway_api_key",
        "id": f"key_{n:024d}",
        "organization_id": "org_1",
        "name": f"key {n}",
        "type": "api",
        "coding_assistant": None,
        "models": [],
        "max_usage": None,
        "active": True,
        "debug_mode": False,
        "created_at": "2026-04-08T10:00:00Z",
        "expires_at": None,
        "last_used_at": None,
    }
    obj.update(fields)
    return obj


class Recorder:
    """A MockTransport that answers from a list of canned responses and logs requests."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(
    recorder: Recorder, *, policy: RetryPolicy | None = None, **kwargs: Any
) -> ConsoleClient:
    policy = policy or RetryPolicy(base_delay=0.001, max_delay=0.002, sleep=Sleeps())
    return ConsoleClient(
        BASE, "org_1", TOKEN, retry=policy, transport=httpx.MockTransport(recorder), **kwargs
    )


def error(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.edgee.app",
        "http://10.0.0.1:8080",
        "http://localhost.example.com",
        "ftp://localhost",
        "not a url",
        "https://",
        "https://user:pa55word@api.edgee.app",
    ],
)
def test_refuses_insecure_or_invalid_urls(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ConsoleClient(url, "org_1", TOKEN)
    assert "pa55word" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://localhost:8080", "http://127.0.0.1:1", "http://127.9.9.9", "http://[::1]:9"]
)
def test_allows_http_on_loopback(url: str) -> None:
    ConsoleClient(url, "org_1", TOKEN).close()


@pytest.mark.parametrize("token", ["", "   ", "tok en", "tök", "tok\nen"])
def test_refuses_unusable_tokens_without_echoing_them(token: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ConsoleClient(BASE, "org_1", token)
    assert token.strip() == "" or token not in str(info.value)


def test_headers_quoting_and_trailing_slash() -> None:
    rec = Recorder(httpx.Response(200, json=[]))
    with ConsoleClient(
        "https://proxy.test/edgee/", "org/1 x", f" {TOKEN}\n", transport=httpx.MockTransport(rec)
    ) as c:
        assert c.list_api_keys() == []
        assert (
            repr(c)
            == "ConsoleClient(base_url='https://proxy.test/edgee', organization_id='org/1 x')"
        )
    request = rec.requests[0]
    assert request.url.raw_path.startswith(b"/edgee/v1/organizations/org%2F1%20x/api_keys?")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"].startswith("pulumi-edgee/")


def test_key_ids_are_quoted_and_dot_segments_refused() -> None:
    rec = Recorder(httpx.Response(200, json={"deleted": True}))
    with client(rec) as c:
        c.delete_api_key("a/b?c")
        for bad in ("", ".", ".."):
            # the caller's mistake, reported as a Console client error before any request
            with pytest.raises(InvalidKeyIdError, match="is not an API key id") as refused:
                c.delete_api_key(bad)
            assert isinstance(refused.value, ConsoleError)
    assert rec.requests[0].url.raw_path == f"{KEYS}/a%2Fb%3Fc".encode()


# -- models ----------------------------------------------------------------------------


def test_key_object_tolerates_unknown_fields_nulls_and_new_types() -> None:
    obj = ApiKeyObject.model_validate(key(models=None, type="robot", shiny=True, key=SECRET))
    assert obj.models == []
    assert obj.type == "robot"
    assert obj.key is not None
    assert obj.key.get_secret_value() == SECRET
    assert SECRET not in repr(obj)
    assert SECRET not in str(obj)
    assert SECRET not in obj.model_dump_json()
    required = ("id", "organization_id", "name", "active", "created_at")
    minimal = ApiKeyObject.model_validate({k: v for k, v in key().items() if k in required})
    assert (minimal.debug_mode, minimal.expires_at, minimal.key) == (False, None, None)


def test_create_body_leaves_out_none_and_update_body_keeps_explicit_none() -> None:
    assert ApiKeyCreate(name="n", max_usage=10).payload() == {
        "name": "n",
        "type": "api",
        "max_usage": 10,
    }
    assert ApiKeyUpdate(max_usage=None, models=[]).payload() == {"max_usage": None, "models": []}
    assert ApiKeyUpdate(active=False).payload() == {"active": False}
    with pytest.raises(ValidationError):
        ApiKeyCreate(name="n", max_usage=True)
    with pytest.raises(ValidationError):
        ApiKeyUpdate.model_validate({"type": "coding_agent"})


# -- retry policy ----------------------------------------------------------------------


def test_backoff_is_exponential_full_jitter_capped_and_bounded() -> None:
    top = RetryPolicy(base_delay=1.0, max_delay=5.0, total_timeout=100.0, random=lambda: 1.0)
    assert [top.delay(n, 0.0) for n in range(1, 5)] == [1.0, 2.0, 4.0, 5.0]
    assert top.delay(5, 0.0) is None  # max_attempts reached
    assert top.delay(1, 99.5) is None  # would end past total_timeout
    low = RetryPolicy(base_delay=1.0, random=lambda: 0.0)
    assert low.delay(3, 0.0) == 0.0
    assert low.delay(1, 0.0, retry_after=2.5) == 2.5
    assert low.delay(1, 58.0, retry_after=2.5) is None  # Retry-After beyond the budget
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(future) or 0) <= 30
    assert parse_retry_after(email.utils.formatdate(time.time() - 30, usegmt=True)) == 0.0


# -- list envelopes --------------------------------------------------------------------


def paged(pages: dict[str | None, Any]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    return handle


@pytest.mark.parametrize(
    ("items", "cursor"),
    [("data", "next_cursor"), ("items", "cursor"), ("api_keys", "next")],
)
def test_list_follows_every_envelope_variant(items: str, cursor: str) -> None:
    rec = Recorder(
        paged(
            {
                None: {items: [key(1), key(2)], cursor: "c1"},
                "c1": {items: [key(3)], cursor: "c2", "has_more": True},
                "c2": {items: [key(4)], cursor: None, "has_more": False},
            }
        )
    )
    with client(rec) as c:
        assert [k.name for k in c.list_api_keys(page_size=2)] == [f"key {n}" for n in (1, 2, 3, 4)]
    assert [r.url.params.get("limit") for r in rec.requests] == ["2", "2", "2"]


def test_list_accepts_a_bare_array_and_stops_on_has_more_false() -> None:
    with client(Recorder(httpx.Response(200, json=[key(1)]))) as c:
        assert len(c.list_api_keys()) == 1
    rec = Recorder(
        httpx.Response(200, json={"data": [key(1)], "next_cursor": "x", "has_more": False})
    )
    with client(rec) as c:
        assert len(c.list_api_keys()) == 1
    assert len(rec.requests) == 1


def test_list_drops_a_key_repeated_across_pages() -> None:
    rec = Recorder(
        paged({None: {"data": [key(1), key(2)], "next_cursor": "a"}, "a": {"data": [key(2)]}})
    )
    with client(rec) as c:
        assert [k.id for k in c.list_api_keys()] == [key(1)["id"], key(2)["id"]]


@pytest.mark.parametrize(
    ("pages", "reason"),
    [
        ({None: {"data": [], "next_cursor": "a"}, "a": {"data": [], "next_cursor": "a"}}, "twice"),
        ({None: {"data": [key(1)], "has_more": True}}, "no cursor"),
        ({None: {"keys": []}}, "no list"),
        ({None: "nope"}, "no list"),
        (
            {None: {"data": [], "has_more": True, "next_cursor": "a"}}
            | {
                "a" * n: {"data": [], "has_more": True, "next_cursor": "a" * (n + 1)}
                for n in range(1, 9)
            },
            "empty pages in a row",
        ),
    ],
)
def test_list_refuses_loops_truncation_and_garbage(
    pages: dict[str | None, Any], reason: str
) -> None:
    with (
        client(Recorder(paged(pages))) as c,
        pytest.raises(UnexpectedResponseError, match=reason) as info,
    ):
        c.list_api_keys()
    assert SECRET not in str(info.value)


# -- error mapping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "cls"),
    [
        (
            error(401, {"error": "Unauthorized", "message": "Invalid or expired API token"}),
            AuthenticationError,
        ),
        (error(403, {"error": "Forbidden"}), PermissionDeniedError),
        (error(404, "<html>gone</html>"), NotFoundError),
        (error(405), UnsupportedOperationError),
        (error(501, "not here"), UnsupportedOperationError),
        (error(409, {"message": "conflict"}), ApiError),
        (error(302, None, location="https://elsewhere.test"), ApiError),
    ],
)
def test_status_maps_to_error_class(response: httpx.Response, cls: type[ApiError]) -> None:
    rec = Recorder(response)
    with client(rec) as c, pytest.raises(cls) as info:
        c.reveal_api_key("key_1")
    assert type(info.value) is cls
    assert info.value.status == response.status_code
    assert info.value.method == "GET"
    assert info.value.path == f"{KEYS}/key_1/reveal"
    assert len(rec.requests) == 1  # none of these is retried
    assert "<html>" not in str(info.value)


def test_auth_and_permission_messages_tell_what_to_configure() -> None:
    with (
        client(Recorder(error(401, {"message": "Invalid or expired API token"}))) as c,
        pytest.raises(AuthenticationError) as auth,
    ):
        c.list_api_keys()
    assert "pulumi config set --secret edgee:apiToken" in str(auth.value)
    assert "EDGEE_CONSOLE_API_TOKEN" in str(auth.value)
    assert "Invalid or expired API token" in str(auth.value)
    with (
        client(Recorder(error(403, {"message": "no"}))) as c,
        pytest.raises(PermissionDeniedError) as denied,
    ):
        c.delete_api_key("key_1")
    assert denied.value.organization_id == "org_1"
    for needle in ("'org_1'", "edgee:organizationId", "EDGEE_ORGANIZATION_ID"):
        assert needle in str(denied.value)


@pytest.mark.parametrize(
    "body",
    [
        {
            "message": "Validation failed",
            "errors": [
                {"field": "name", "message": "too long"},
                {"field": "max_usage", "message": "too big"},
            ],
        },
        {"error": "Bad Request", "details": {"name": "too long", "max_usage": ["too big"]}},
    ],
)
@pytest.mark.parametrize("status", [400, 422])
def test_validation_errors_collect_field_errors(status: int, body: dict[str, Any]) -> None:
    with client(Recorder(error(status, body))) as c, pytest.raises(InvalidRequestError) as info:
        c.create_api_key(ApiKeyCreate(name="x" * 300, max_usage=10**10))
    assert info.value.field_errors == {"name": "too long", "max_usage": "too big"}
    assert "name: too long; max_usage: too big" in str(info.value)


def test_scrub_masks_whole_secrets_only() -> None:
    text = scrub("tok token Bearer abc.def ek_live_x1 'tok' a.tok", "tok")
    assert text == "*** token Bearer *** ek_*** '***' a.***"
    assert len(scrub("x" * 1000)) == 300


def test_server_text_is_scrubbed_of_tokens_and_keys() -> None:
    echo = f"token Bearer {TOKEN} and key {SECRET} and raw {TOKEN}"
    rec = Recorder(error(422, {"message": echo, "errors": [{"field": "email", "message": echo}]}))
    with client(rec) as c, pytest.raises(InvalidRequestError) as info:
        c.update_api_key("key_1", ApiKeyUpdate(email="a@b.co"))
    text = str(info.value) + repr(info.value) + repr(info.value.field_errors)
    assert TOKEN not in text
    assert SECRET not in text
    assert "ek_***" in text
    for status in (401, 403, 404, 429, 500):
        with client(Recorder(error(status, echo))) as c, pytest.raises(ApiError) as err:
            c.reveal_api_key("key_1")
        assert TOKEN not in str(err.value)
        assert SECRET not in str(err.value)


def test_unreadable_success_bodies() -> None:
    with (
        client(Recorder(httpx.Response(200, text="not json"))) as c,
        pytest.raises(UnexpectedResponseError, match="not readable JSON"),
    ):
        c.reveal_api_key("key_1")
    bad = {"id": "key_1", "key": SECRET, "created_at": "yesterday"}
    with (
        client(Recorder(httpx.Response(200, json=bad))) as c,
        pytest.raises(UnexpectedResponseError) as info,
    ):
        c.reveal_api_key("key_1")
    assert SECRET not in str(info.value)
    assert "created_at" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "key_1", "key": "' + SECRET + '"}',
        "[" * 50_000 + "]" * 50_000,
        "{" * 50_000,
        '{"id": ' * 20_000,
        "",
        "\x00\xff",
    ],
    ids=["no-fields", "deep-array", "deep-open", "deep-object", "empty", "binary"],
)
def test_create_with_unreadable_success_body_is_an_unknown_outcome(body: str) -> None:
    rec = Recorder(httpx.Response(201, text=body, headers={"Content-Type": "application/json"}))
    with client(rec) as c, pytest.raises(OutcomeUnknownError) as info:
        c.create_api_key(ApiKeyCreate(name="n"))
    assert isinstance(info.value.cause, UnexpectedResponseError)
    assert SECRET not in str(info.value)
    assert len(rec.requests) == 1


def test_list_sets_odd_keys_aside_and_reads_odd_fields_as_unset() -> None:
    odd_fields = key(1, max_usage=12.5, models="x", surprise={"a": 1})
    unreadable = key(2, created_at="yesterday", key=SECRET)
    rec = Recorder(
        httpx.Response(200, json={"data": [odd_fields, unreadable, key(3), "junk", {"id": 4}]})
    )
    with client(rec) as c:
        keys = c.list_api_keys()
    assert [k.id for k in keys] == [key(1)["id"], key(3)["id"]]
    assert keys[0].odd_fields == ("max_usage", "models")
    assert (keys[0].max_usage, keys[0].models) == (None, [])
    assert keys[1].odd_fields == ()
    assert list(keys.unreadable) == [key(2)["id"]]
    assert "created_at" in keys.unreadable[key(2)["id"]]
    assert SECRET not in str(keys.unreadable)


def test_get_of_a_listed_but_unreadable_key_fails_instead_of_reading_as_deleted() -> None:
    rec = Recorder(
        lambda r: (
            error(405)
            if r.url.path != KEYS
            else httpx.Response(200, json={"data": [key(1, active="maybe")]})
        )
    )
    with client(rec) as c, pytest.raises(UnexpectedResponseError, match="unreadable"):
        c.get_api_key(key(1)["id"])


def test_list_gives_up_after_the_page_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pulumi_edgee.console.client.MAX_PAGES", 7)
    rec = Recorder(
        lambda r: httpx.Response(
            200,
            json={
                "data": [key(len(r.url.params.get("cursor", "")))],
                "has_more": True,
                "next_cursor": r.url.params.get("cursor", "") + "c",
            },
        )
    )
    with client(rec) as c, pytest.raises(UnexpectedResponseError, match="after 7 pages"):
        c.list_api_keys()
    assert len(rec.requests) == 7


def test_delete_accepts_204_and_create_accepts_200() -> None:
    with client(Recorder(httpx.Response(204))) as c:
        c.delete_api_key("key_1")
    with client(Recorder(httpx.Response(200, json=key(key=SECRET)))) as c:
        created = c.create_api_key(ApiKeyCreate(name="n"))
    assert created.key is not None


# -- retries ---------------------------------------------------------------------------


def test_reads_retry_429_5xx_and_transport_errors_then_succeed() -> None:
    sleeps = Sleeps()
    rec = Recorder(
        error(429, None, **{"Retry-After": "0.25"}),
        error(503, None, **{"Retry-After": "0.5"}),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=key(key=SECRET)),
    )
    with client(rec, policy=RetryPolicy(base_delay=0.01, sleep=sleeps, random=lambda: 0.0)) as c:
        assert c.reveal_api_key("key_1").id == key()["id"]
    assert sleeps.calls == [0.25, 0.5, 0.0, 0.0]


def test_reads_give_up_after_max_attempts() -> None:
    rec = Recorder(error(502, {"message": "bad gateway"}))
    with (
        client(rec, policy=RetryPolicy(max_attempts=3, base_delay=0, sleep=Sleeps())) as c,
        pytest.raises(ServerError, match="bad gateway"),
    ):
        c.get_api_key("key_1")
    assert len(rec.requests) == 3


def test_reads_give_up_when_retry_after_exceeds_budget() -> None:
    rec = Recorder(error(429, None, **{"Retry-After": "120"}))
    sleeps = Sleeps()
    with (
        client(rec, policy=RetryPolicy(sleep=sleeps)) as c,
        pytest.raises(RateLimitedError) as info,
    ):
        c.list_api_keys()
    assert info.value.retry_after == 120
    assert len(rec.requests) == 1
    assert sleeps.calls == []


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        error(500, {"message": "boom"}),
        error(503),
    ],
)
def test_ambiguous_create_is_not_retried(failure: httpx.Response | Exception) -> None:
    rec = Recorder(failure, httpx.Response(201, json=key(key=SECRET)))
    with client(rec) as c, pytest.raises(OutcomeUnknownError) as info:
        c.create_api_key(ApiKeyCreate(name="n"))
    assert len(rec.requests) == 1
    assert (info.value.method, info.value.path) == ("POST", KEYS)
    assert isinstance(info.value.cause, (CommunicationError, ServerError))
    assert info.value.__cause__ is info.value.cause


def test_create_is_retried_when_surely_not_applied() -> None:
    rec = Recorder(
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("pool"),
        error(429, None, **{"Retry-After": "0"}),
        httpx.Response(201, json=key(key=SECRET)),
    )
    with client(rec) as c:
        created = c.create_api_key(ApiKeyCreate(name="n"))
    assert created.key is not None
    assert len(rec.requests) == 5


def test_create_that_cannot_connect_is_a_transport_error_not_an_unknown_outcome() -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    with (
        client(rec, policy=RetryPolicy(max_attempts=2, base_delay=0, sleep=Sleeps())) as c,
        pytest.raises(CommunicationError) as info,
    ):
        c.create_api_key(ApiKeyCreate(name="n"))
    assert info.value.may_have_been_sent is False
    assert info.value.__cause__ is None  # the httpx exception holds the Authorization header
    assert len(rec.requests) == 2


# -- get one ---------------------------------------------------------------------------


def routed(get_one: httpx.Response, keys: list[dict[str, Any]]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == KEYS:
            return httpx.Response(200, json={"data": keys, "next_cursor": None})
        return get_one

    return handle


@pytest.mark.parametrize("status", [405, 501])
def test_get_falls_back_to_the_list_and_remembers(status: int) -> None:
    rec = Recorder(routed(error(status), [key(1), key(2)]))
    with client(rec) as c:
        assert c.get_api_key(key(2)["id"]).name == "key 2"
        assert c.get_api_key(key(1)["id"]).name == "key 1"
        with pytest.raises(NotFoundError):
            c.get_api_key("key_missing")
    assert [r.url.path for r in rec.requests] == [f"{KEYS}/{key(2)['id']}", KEYS, KEYS, KEYS]


def test_get_404_is_checked_against_the_list() -> None:
    rec = Recorder(routed(error(404, {"error": "Not Found"}), [key(1)]))
    with client(rec) as c:
        with pytest.raises(NotFoundError):
            c.get_api_key("key_missing")  # route state still unknown
        assert c.get_api_key(key(1)["id"]).name == "key 1"  # listed: the route is unserved
        with pytest.raises(NotFoundError):
            c.get_api_key("key_missing")
    paths = [r.url.path for r in rec.requests]
    assert paths == [f"{KEYS}/key_missing", KEYS, f"{KEYS}/{key(1)['id']}", KEYS, KEYS]


def test_get_404_is_authoritative_once_the_route_is_proven() -> None:
    answers = iter([httpx.Response(200, json=key(1)), error(404)])
    rec = Recorder(lambda request: next(answers))
    with client(rec) as c:
        assert c.get_api_key(key(1)["id"]).name == "key 1"
        with pytest.raises(NotFoundError):
            c.get_api_key(key(1)["id"])
    assert len(rec.requests) == 2


# -- secrets ---------------------------------------------------------------------------


def test_repr_of_client_policy_and_errors_hide_the_token() -> None:
    rec = Recorder(httpx.ConnectError(f"refused for Bearer {TOKEN} {SECRET}"))
    with client(rec, policy=RetryPolicy(max_attempts=1)) as c:
        with pytest.raises(CommunicationError) as info:
            c.list_api_keys()
        texts = [repr(c), str(c), str(info.value), repr(info.value), repr(c._retry)]
    for text in texts:
        assert TOKEN not in text
        assert SECRET not in text
