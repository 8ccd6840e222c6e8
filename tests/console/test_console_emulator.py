"""The client against the Console API emulator: over loopback HTTP, or in-process."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from typing import Any

import httpx
import pytest

from pulumi_edgee.console import (
    ApiKeyCreate,
    ApiKeyUpdate,
    AuthenticationError,
    CommunicationError,
    ConsoleClient,
    ConsoleError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
)
from pulumi_edgee.emulator import ConsoleApp, EmulatorBackend
from pulumi_edgee.emulator.transport import EmulatorTransport
from pulumi_edgee.testing import EmulatorHandle, run_emulator

READ_ONLY_TOKEN = "tok_test_read_only_987654321"
CREATE_PATH = "/v1/organizations/[^/]+/api_keys"
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, total_timeout=5.0)


def connect(handle: EmulatorHandle, token: str | None = None, **kwargs: Any) -> ConsoleClient:
    kwargs.setdefault("retry", FAST)
    return ConsoleClient(handle.url, handle.organization_id, token or handle.token, **kwargs)


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[ConsoleClient]:
    with connect(emulator) as console:
        yield console


@pytest.fixture
def strict_emulator() -> Iterator[EmulatorHandle]:
    """Serves GET /api_keys/{id} and knows a read-only token."""
    with run_emulator(
        token="tok_test_full_0123456789",
        organization_id="org_1",
        read_only_token=READ_ONLY_TOKEN,
        serve_key_get=True,
    ) as handle:
        yield handle


def in_process() -> tuple[ConsoleClient, EmulatorBackend]:
    backend = EmulatorBackend()
    app = ConsoleApp(backend, token="tok_in_process_0123", organization_id="org_1")
    console = ConsoleClient(
        "http://localhost",
        "org_1",
        "tok_in_process_0123",
        retry=FAST,
        transport=EmulatorTransport(app),
    )
    return console, backend


def requests(handle: EmulatorHandle, method: str | None = None) -> list[dict[str, Any]]:
    return [r for r in handle.requests() if method is None or r["method"] == method]


def stored(handle: EmulatorHandle) -> list[dict[str, Any]]:
    return handle.keys()


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- endpoints -------------------------------------------------------------------------


def test_every_endpoint_round_trip(emulator: EmulatorHandle, client: ConsoleClient) -> None:
    created = client.create_api_key(
        ApiKeyCreate(
            name="Production Backend",
            models=["openai/gpt-5.2"],
            max_usage=1000,
            expires_in_days=90,
            email="ops@example.com",
        )
    )
    assert created.key is not None
    assert created.key.get_secret_value().startswith("ek_test_")
    assert (created.models, created.max_usage, created.active) == (["openai/gpt-5.2"], 1000, True)
    assert created.expires_at is not None
    assert (created.expires_at - created.created_at).days == 90

    agent = client.create_api_key(
        ApiKeyCreate(name="agent", type="coding_agent", coding_assistant="claude_code")
    )
    assert (agent.type, agent.coding_assistant, agent.models) == ("coding_agent", "claude_code", [])

    assert [k.id for k in client.list_api_keys()] == [created.id, agent.id]
    read = client.get_api_key(created.id)
    assert read.key is None
    assert read.name == "Production Backend"

    updated = client.update_api_key(
        created.id, ApiKeyUpdate(name="Renamed", active=False, models=[], max_usage=None)
    )
    assert (updated.name, updated.active, updated.models, updated.max_usage) == (
        "Renamed",
        False,
        [],
        None,
    )
    assert updated.key is None
    assert client.update_api_key(created.id, ApiKeyUpdate(email=None)).name == "Renamed"

    revealed = client.reveal_api_key(created.id)
    assert revealed.key is not None
    assert revealed.key.get_secret_value() == created.key.get_secret_value()

    client.delete_api_key(created.id)
    assert [k["id"] for k in stored(emulator)] == [agent.id]
    with pytest.raises(NotFoundError):
        client.delete_api_key(created.id)
    with pytest.raises(NotFoundError):
        client.get_api_key(created.id)
    with pytest.raises(NotFoundError):
        client.update_api_key(created.id, ApiKeyUpdate(name="x"))
    with pytest.raises(NotFoundError):
        client.reveal_api_key(created.id)


def test_list_follows_cursors_across_pages() -> None:
    console, _ = in_process()
    with console:
        ids = [console.create_api_key(ApiKeyCreate(name=f"k{n}")).id for n in range(45)]
        assert [k.id for k in console.list_api_keys(page_size=20)] == ids
        assert [k.id for k in console.list_api_keys(page_size=500)] == ids  # server clamps
        assert len(console.list_api_keys(page_size=1)) == 45


def test_list_pages_over_http(emulator: EmulatorHandle, client: ConsoleClient) -> None:
    for n in range(45):
        client.create_api_key(ApiKeyCreate(name=f"k{n}"))
    emulator.clear_requests()
    assert [k.name for k in client.list_api_keys(page_size=20)] == [f"k{n}" for n in range(45)]
    pages = requests(emulator, "GET")
    assert [p["query"].get("limit") for p in pages] == ["20", "20", "20"]
    assert "cursor" not in pages[0]["query"]
    assert pages[1]["query"]["cursor"] != pages[2]["query"]["cursor"]


# -- reading one key -------------------------------------------------------------------


def test_get_uses_the_route_when_served(strict_emulator: EmulatorHandle) -> None:
    with connect(strict_emulator) as console:
        key_id = console.create_api_key(ApiKeyCreate(name="one")).id
        strict_emulator.clear_requests()
        for _ in range(3):
            assert console.get_api_key(key_id).name == "one"
        with pytest.raises(NotFoundError):
            console.get_api_key("key_missing")  # the route is proven: no list check
    paths = [r["path"] for r in strict_emulator.requests()]
    assert paths == [f"/v1/organizations/org_1/api_keys/{key_id}"] * 3 + [
        "/v1/organizations/org_1/api_keys/key_missing"
    ]


def test_get_falls_back_to_the_list_and_remembers(emulator: EmulatorHandle) -> None:
    with connect(emulator) as console:
        key_ids = [console.create_api_key(ApiKeyCreate(name=f"k{n}")).id for n in range(3)]
        emulator.clear_requests()
        assert [console.get_api_key(key_id).name for key_id in key_ids] == ["k0", "k1", "k2"]
        with pytest.raises(NotFoundError):
            console.get_api_key("key_missing")
    log = [(r["method"], r["path"], r["status"]) for r in emulator.requests()]
    keys = "/v1/organizations/org_1/api_keys"
    assert log == [("GET", f"{keys}/{key_ids[0]}", 405)] + [("GET", keys, 200)] * 4


def test_get_fallback_is_shared_by_threads() -> None:
    console, backend = in_process()
    with console:
        key_ids = [console.create_api_key(ApiKeyCreate(name=f"k{n}")).id for n in range(8)]
        backend.clear_requests()
        with ThreadPoolExecutor(4) as pool:
            names = list(pool.map(lambda key_id: console.get_api_key(key_id).name, key_ids * 3))
        assert names == [f"k{n}" for n in range(8)] * 3
        refused = [r for r in backend.requests() if r.status == 405]
        assert 1 <= len(refused) <= 4  # only the threads that raced the first answer


def test_concurrent_creates_from_four_threads(emulator: EmulatorHandle) -> None:
    with connect(emulator) as console, ThreadPoolExecutor(4) as pool:
        created = list(
            pool.map(lambda n: console.create_api_key(ApiKeyCreate(name=f"c{n}")), range(20))
        )
        assert len({k.id for k in created}) == 20
        assert sorted(k.name for k in console.list_api_keys()) == sorted(f"c{n}" for n in range(20))


# -- errors ----------------------------------------------------------------------------


def test_wrong_token_is_an_authentication_error(emulator: EmulatorHandle) -> None:
    with (
        connect(emulator, token="tok_wrong_0000000000") as console,
        pytest.raises(AuthenticationError) as info,
    ):
        console.list_api_keys()
    assert info.value.status == 401
    assert "edgee:apiToken" in str(info.value)
    assert len(emulator.requests()) == 1


def test_read_only_token_is_denied_writes_and_reveals(strict_emulator: EmulatorHandle) -> None:
    with connect(strict_emulator) as writer:
        key_id = writer.create_api_key(ApiKeyCreate(name="ro")).id
    with connect(strict_emulator, token=READ_ONLY_TOKEN) as reader:
        assert [k.id for k in reader.list_api_keys()] == [key_id]
        assert reader.get_api_key(key_id).id == key_id
        attempts: list[Callable[[], object]] = [
            lambda: reader.create_api_key(ApiKeyCreate(name="x")),
            lambda: reader.update_api_key(key_id, ApiKeyUpdate(active=False)),
            lambda: reader.delete_api_key(key_id),
            lambda: reader.reveal_api_key(key_id),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDeniedError) as info:
                attempt()
            assert info.value.status == 403
            assert "'org_1'" in str(info.value)


def test_validation_errors_name_the_fields(client: ConsoleClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.create_api_key(
            ApiKeyCreate(name=" ", type="coding_agent", max_usage=0, models=["nope"])
        )
    assert info.value.status == 422
    assert set(info.value.field_errors) == {"name", "coding_assistant", "max_usage", "models"}
    assert "max_usage: max_usage must be between 1 and 1000000000" in str(info.value)
    key_id = client.create_api_key(ApiKeyCreate(name="ok")).id
    with pytest.raises(InvalidRequestError) as update:
        client.update_api_key(key_id, ApiKeyUpdate(email="not-an-email"))
    assert set(update.value.field_errors) == {"email"}


def test_closed_port_is_a_transport_error_for_reads_and_creates() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01)
    with ConsoleClient(closed_port_url(), "org_1", "tok_x_0123456789", retry=policy) as console:
        for call in (console.list_api_keys, lambda: console.create_api_key(ApiKeyCreate(name="n"))):
            started = time.monotonic()
            with pytest.raises(CommunicationError) as info:
                call()
            assert info.value.may_have_been_sent is False
            assert "ConnectError" in str(info.value)
            assert time.monotonic() - started < 2


def test_https_is_required_off_loopback() -> None:
    with pytest.raises(ConsoleError, match="https"):
        ConsoleClient("http://api.edgee.app", "org_1", "tok_x_0123456789")


# -- retries ---------------------------------------------------------------------------


@pytest.mark.slow
def test_read_retries_429_after_retry_after(
    emulator: EmulatorHandle, client: ConsoleClient
) -> None:
    emulator.add_fault("rate_limit", method="GET", retry_after=1)
    started = time.monotonic()
    assert client.list_api_keys() == []
    assert time.monotonic() - started >= 1.0
    assert [r["status"] for r in emulator.requests()] == [429, 200]


def test_read_retries_5xx_and_dropped_connections(
    emulator: EmulatorHandle, client: ConsoleClient
) -> None:
    key_id = client.create_api_key(ApiKeyCreate(name="r")).id
    emulator.clear_requests()
    emulator.add_fault("server_error", method="GET", count=2)
    emulator.add_fault("drop_connection", method="GET")
    assert client.reveal_api_key(key_id).key is not None
    assert [r["status"] for r in emulator.requests()] == [503, 503, None, 200]


def test_read_timeout_is_retried(emulator: EmulatorHandle) -> None:
    emulator.add_fault("latency", method="GET", delay_ms=400)
    with connect(emulator, timeout=httpx.Timeout(0.15)) as console:
        assert console.list_api_keys() == []
    wait_for(lambda: len(emulator.requests()) == 2)


def test_give_up_after_max_attempts(emulator: EmulatorHandle) -> None:
    emulator.add_fault("server_error", method="GET", count=None, status=502)
    with (
        connect(emulator, retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as console,
        pytest.raises(ServerError) as info,
    ):
        console.list_api_keys()
    assert info.value.status == 502
    assert len(emulator.requests()) == 3


def test_give_up_when_the_time_budget_is_spent(emulator: EmulatorHandle) -> None:
    emulator.add_fault("server_error", method="GET", count=None)
    policy = RetryPolicy(max_attempts=1000, base_delay=0.05, max_delay=0.05, total_timeout=0.5)
    with connect(emulator, retry=policy) as console:
        started = time.monotonic()
        with pytest.raises(ServerError):
            console.list_api_keys()
        assert time.monotonic() - started < 1.0
    assert 2 <= len(emulator.requests()) < 1000


def test_retry_after_beyond_the_budget_gives_up_at_once(emulator: EmulatorHandle) -> None:
    emulator.add_fault("rate_limit", method="GET", retry_after=30)
    with connect(emulator, retry=RetryPolicy(total_timeout=5.0)) as console:
        started = time.monotonic()
        with pytest.raises(RateLimitedError) as info:
            console.list_api_keys()
        assert time.monotonic() - started < 1.0
    assert info.value.retry_after == 30
    assert len(emulator.requests()) == 1


@pytest.mark.parametrize(
    ("kind", "fields", "applied"),
    [
        ("server_error", {}, False),
        ("drop_connection", {}, False),
        ("apply_then_fail", {}, True),
        ("apply_then_fail", {"drop": True}, True),
    ],
)
def test_ambiguous_create_is_not_retried(
    emulator: EmulatorHandle,
    client: ConsoleClient,
    kind: str,
    fields: dict[str, Any],
    applied: bool,
) -> None:
    emulator.add_fault(kind, method="POST", path=CREATE_PATH, **fields)
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_api_key(ApiKeyCreate(name="maybe"))
    assert (info.value.method, info.value.path) == ("POST", "/v1/organizations/org_1/api_keys")
    assert len(emulator.requests()) == 1
    assert [k["name"] for k in stored(emulator)] == (["maybe"] if applied else [])


def test_create_timing_out_after_sending_is_an_unknown_outcome(emulator: EmulatorHandle) -> None:
    emulator.add_fault("latency", method="POST", path=CREATE_PATH, delay_ms=400)
    with (
        connect(emulator, timeout=httpx.Timeout(0.15)) as console,
        pytest.raises(OutcomeUnknownError) as info,
    ):
        console.create_api_key(ApiKeyCreate(name="slow"))
    assert isinstance(info.value.cause, CommunicationError)
    wait_for(lambda: len(stored(emulator)) == 1)
    assert len(emulator.requests()) == 1


def test_create_is_retried_after_429(emulator: EmulatorHandle, client: ConsoleClient) -> None:
    emulator.add_fault("rate_limit", method="POST", path=CREATE_PATH, count=2, retry_after=0)
    created = client.create_api_key(ApiKeyCreate(name="eventually"))
    assert created.key is not None
    assert [r["status"] for r in emulator.requests()] == [429, 429, 201]
    assert [k["id"] for k in stored(emulator)] == [created.id]


def test_delete_whose_answer_was_lost_reports_not_found_on_retry(
    emulator: EmulatorHandle, client: ConsoleClient
) -> None:
    key_id = client.create_api_key(ApiKeyCreate(name="gone")).id
    emulator.add_fault("apply_then_fail", method="DELETE", status=502)
    with pytest.raises(NotFoundError):
        client.delete_api_key(key_id)
    assert emulator.keys() == []


# -- secrets ---------------------------------------------------------------------------


def test_no_message_or_repr_contains_the_token_or_a_key(strict_emulator: EmulatorHandle) -> None:
    token = strict_emulator.token
    texts: list[str] = []
    with connect(strict_emulator, retry=RetryPolicy(max_attempts=1)) as console:
        created = console.create_api_key(ApiKeyCreate(name="secret"))
        texts += [repr(console), str(console), repr(created), str(created)]
        texts += [repr(console.reveal_api_key(created.id)), repr(FAST)]
        strict_emulator.add_fault("rate_limit", method="GET")
        strict_emulator.add_fault("server_error", method="DELETE")
        strict_emulator.add_fault("apply_then_fail", method="POST", path=CREATE_PATH)
        failures: list[Callable[[], object]] = [
            console.list_api_keys,
            lambda: console.delete_api_key(created.id),
            lambda: console.create_api_key(ApiKeyCreate(name="x")),
            lambda: console.get_api_key("key_missing"),
            lambda: console.create_api_key(ApiKeyCreate(name="")),
        ]
        with ExitStack() as stack:
            for wrong in (token[:-1], READ_ONLY_TOKEN):
                other = stack.enter_context(connect(strict_emulator, token=wrong))
                failures.append(partial(other.reveal_api_key, created.id))
                texts.append(repr(other))
            dead = stack.enter_context(ConsoleClient(closed_port_url(), "org_1", token, retry=FAST))
            failures.append(dead.list_api_keys)
            for failure in failures:
                with pytest.raises(ConsoleError) as info:
                    failure()
                texts += [str(info.value), repr(info.value)]
                if isinstance(info.value, OutcomeUnknownError):
                    texts += [str(info.value.cause), repr(info.value.cause)]
    secrets = [token, READ_ONLY_TOKEN, token[:-1]]
    secrets += [k["key"] for k in stored(strict_emulator)]
    assert len(secrets) == 5
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert "ek_test_" not in text
