"""The shared list view's concurrency rules, with a scripted client (no HTTP needed to
make two threads interleave exactly)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, cast

import pytest

from pulumi_edgee.console import (
    ApiKeyObject,
    ConsoleClient,
    KeyList,
    ServerError,
    UnexpectedResponseError,
)
from pulumi_edgee.directory import KeyDirectory


def key(key_id: str, name: str) -> ApiKeyObject:
    return ApiKeyObject(
        id=key_id,
        organization_id="org_1",
        name=name,
        active=True,
        created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )


class ScriptedClient:
    """`list_api_keys` blocks until released, then answers or fails as scripted."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.walks = 0
        self.started = threading.Event()
        self.release = threading.Event()

    def list_api_keys(self) -> KeyList:
        self.walks += 1
        self.started.set()
        assert self.release.wait(5)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, KeyList):
            return answer
        return KeyList(cast(list[ApiKeyObject], answer), {})


def directory(client: ScriptedClient) -> KeyDirectory:
    return KeyDirectory(cast(ConsoleClient, client), max_age=60)


def in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn(*args))
        except BaseException as error:
            out.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_write_during_a_walk_survives_the_walk() -> None:
    client = ScriptedClient([[key("k1", "stale"), key("k2", "deleted meanwhile")]])
    view = directory(client)
    walker, out = in_thread(view.get, "k1")
    assert client.started.wait(5)
    view.put(key("k1", "written during the walk"))
    view.discard("k2")
    client.release.set()
    walker.join(5)
    assert out[0].name == "written during the walk"
    assert view.get("k2") is None
    assert client.walks == 1


def test_readers_waiting_on_a_failed_walk_get_its_error_without_walking_again() -> None:
    failure = ServerError(503, "GET", "/api_keys")
    client = ScriptedClient([failure])
    view = directory(client)
    walker, walker_out = in_thread(view.get, "k1")
    assert client.started.wait(5)
    waiters = [in_thread(view.get, "k1") for _ in range(3)]
    client.release.set()
    walker.join(5)
    for thread, out in waiters:
        thread.join(5)
        assert out == [failure]
    assert walker_out == [failure]
    assert client.walks == 1


def test_concurrent_readers_share_one_walk() -> None:
    client = ScriptedClient([[key("k1", "one"), key("k2", "two")]])
    view = directory(client)
    readers = [in_thread(view.get, k) for k in ("k1", "k2", "k1", "k3")]
    assert client.started.wait(5)
    client.release.set()
    names = []
    for thread, out in readers:
        thread.join(5)
        names.append(out[0].name if out[0] is not None else None)
    assert names == ["one", "two", "one", None]
    assert client.walks == 1


@pytest.mark.parametrize(("setting", "expected"), [("0", 0.0), ("2.5", 2.5), ("x", 5.0)])
def test_reuse_window_from_the_environment(setting: str, expected: float) -> None:
    from pulumi_edgee.directory import max_age_from

    assert max_age_from({"EDGEE_READ_REUSE_SECONDS": setting}) == expected


class SlowClock:
    """A clock the scripted walk moves forward, so a walk can outlast the window."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_readers_that_waited_for_a_walk_longer_than_the_window_use_it() -> None:
    clock = SlowClock()
    client = ScriptedClient([[key("k1", "one")], [key("k1", "again")]])
    view = KeyDirectory(cast(ConsoleClient, client), max_age=5, clock=clock)
    readers = [in_thread(view.get, "k1") for _ in range(8)]
    assert client.started.wait(5)
    clock.now += 30  # the walk takes six reuse windows
    client.release.set()
    for thread, out in readers:
        thread.join(5)
        assert out[0].name == "one"
    for _ in range(12):  # reads keep coming: the window counts from the last one
        clock.now += 4.9
        assert view.get("k1").name == "one"  # type: ignore[union-attr]
    assert client.walks == 1
    clock.now += 5.1  # no read for a whole window
    assert view.get("k1").name == "again"  # type: ignore[union-attr]
    assert client.walks == 2


def test_a_walk_serves_a_steady_stream_of_reads_for_at_most_a_minute() -> None:
    clock = SlowClock()
    client = ScriptedClient([[key("k1", "one")], [key("k1", "again")]])
    client.release.set()
    view = KeyDirectory(cast(ConsoleClient, client), max_age=5, clock=clock)
    assert view.get("k1").name == "one"  # type: ignore[union-attr]
    for _ in range(14):
        clock.now += 4
        view.get("k1")
    assert client.walks == 1
    clock.now += 4.1  # 60.1 s after the walk ended
    assert view.get("k1").name == "again"  # type: ignore[union-attr]
    assert client.walks == 2


def test_a_key_missed_by_two_consecutive_walks_is_gone_and_one_walk_confirms_all() -> None:
    client = ScriptedClient([[key("k1", "one")], [key("k1", "one")]])
    client.release.set()
    view = directory(client)
    missing = [in_thread(view.find, f"gone{i}") for i in range(6)]
    for thread, out in missing:
        thread.join(5)
        assert out == [None]
    assert client.walks == 2, "one walk, then one shared confirming walk"
    assert view.find("gone-later") is None, "missed by both walks: no third walk"
    assert view.find("k1").name == "one"  # type: ignore[union-attr]
    assert client.walks == 2


def test_a_key_missed_by_one_walk_is_found_by_the_confirming_walk() -> None:
    client = ScriptedClient([[key("k1", "one")], [key("k1", "one"), key("k2", "new")]])
    client.release.set()
    view = directory(client)
    assert view.find("k2").name == "new"  # type: ignore[union-attr]
    assert client.walks == 2


def test_a_key_known_only_by_id_needs_a_walk_begun_after_it_was_asked_for() -> None:
    clock = SlowClock()
    client = ScriptedClient([[key("k1", "one")], [key("k1", "one")], [key("k2", "made")]])
    client.release.set()
    view = KeyDirectory(cast(ConsoleClient, client), max_age=60, clock=clock)
    assert view.find("x") is None  # walks 1 and 2 both miss it
    clock.now += 1
    assert view.find("k2", asked_at=clock.now).name == "made"  # type: ignore[union-attr]
    assert client.walks == 3


def test_a_key_listed_but_unreadable_is_never_taken_for_deleted() -> None:
    odd = KeyList([key("k1", "one")], {"k2": "created_at: invalid"})
    client = ScriptedClient([odd, odd])
    client.release.set()
    view = directory(client)
    with pytest.raises(UnexpectedResponseError, match="k2 is listed but unreadable"):
        view.find("k2")
    with pytest.raises(UnexpectedResponseError, match="k2 is listed but unreadable"):
        view.find("k2")
