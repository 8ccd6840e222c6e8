"""The outcomes an adversarial review reproduced, each through the real provider server
against the emulator: a key owned by two stacks, a create applied after the client gave
up, a Console clock far behind, an identical key made while a create is in flight.

Provider processes here run with short budgets (a 1 s request deadline, a 4 s step)
so that "after the client gave up" takes seconds, not the default 30 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from pulumi_edgee import markers
from pulumi_edgee.emulator.backend import utc_now
from pulumi_edgee.testing import (
    EmulatorHandle,
    LifeCycle,
    Props,
    configured_server,
    provider_payload,
    resource_urn,
    run_emulator,
)
from pulumi_edgee.testing import faults as fs
from pulumi_edgee.testing.provider_server import (
    CreateResponse,
    ProviderCallError,
    ProviderServer,
)

KEYS = r"/v1/organizations/[^/]+/api_keys"
TOKEN = "tok_hostile_scenarios_42"
ORGANIZATION = "org_1"
PROVIDER = provider_payload()
# Each scenario waits out deadlines and marker expiry: part of the slow suites.
pytestmark = pytest.mark.slow

SHORT_BUDGETS = {
    "EDGEE_REQUEST_DEADLINE_SECONDS": "1",
    "EDGEE_STEP_DEADLINE_SECONDS": "4",
    "EDGEE_LEFTOVER_GRACE_SECONDS": "0",
    "EDGEE_READ_REUSE_SECONDS": "0",
}


def urn(name: str) -> str:
    return resource_urn(name, project="hostile")


class StackProcess:
    """One stack's provider process (its own server), as `pulumi up` would start it."""

    def __init__(
        self, emulator: EmulatorHandle, organization: str = ORGANIZATION, **budgets: str
    ) -> None:
        self.server: ProviderServer = configured_server(
            emulator.url,
            token=TOKEN,
            organization=organization,
            project="hostile",
            env=SHORT_BUDGETS | budgets,
        )

    def create(self, resource: str, /, **inputs: Any) -> CreateResponse:
        """The engine's create (Check, then Create) through the engine model."""
        news = Props({**inputs, "__provider": PROVIDER})
        done = LifeCycle(self.server).register(urn(resource), news, None)
        return CreateResponse(done.id, done.outputs.values, done.outputs.secrets)

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


@pytest.fixture
def stacks(emulator: EmulatorHandle) -> Iterator[tuple[StackProcess, StackProcess]]:
    a, b = StackProcess(emulator), StackProcess(emulator)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def live(emulator: EmulatorHandle) -> dict[str, dict[str, Any]]:
    return {k["id"]: k for k in emulator.keys()}


def test_two_stacks_creating_identical_keys_at_once_never_own_the_same_key(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess]
) -> None:
    """A's create is held 1.5 s then dropped unapplied; B's identical create succeeds in
    the meantime. A must not take B's key for the one its create made."""
    _, b = stacks
    a = StackProcess(emulator, EDGEE_REQUEST_DEADLINE_SECONDS="10")
    b.server.check(urn("warm-up"), {}, {"name": "warm-up", "__provider": PROVIDER})
    emulator.add_fault("latency", method="POST", path=KEYS, delay_ms=1500)
    emulator.add_fault("drop_connection", method="POST", path=KEYS)
    made: dict[str, CreateResponse] = {}
    thread = threading.Thread(target=lambda: made.update(a=a.create("k", name="backend")))
    thread.start()
    waited = time.monotonic() + 10
    while any(f["kind"] == "latency" for f in emulator.faults()):
        assert time.monotonic() < waited
        time.sleep(0.02)  # until A's create reached the server (and is held there)
    made["b"] = b.create("k", name="backend")
    assert thread.is_alive(), "B's create finished while A's was held"
    thread.join()
    a.close()

    assert made["a"].id != made["b"].id, "one key in two stacks"
    keys = live(emulator)
    assert sorted(keys) == sorted([made["a"].id, made["b"].id]), "no orphan, no duplicate"
    assert made["a"].outputs["key"] == keys[made["a"].id]["key"]
    assert made["b"].outputs["key"] == keys[made["b"].id]["key"]
    assert all(k["name"] == "backend" for k in keys.values())


def test_an_identical_key_made_while_a_create_is_in_flight_is_never_a_candidate(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess]
) -> None:
    """A's create is applied but its answer lost (502) after B made an identical key: A
    adopts its own key (formerly: "several keys match", a failed step and a key left
    behind, with B's key named as a candidate for deletion)."""
    _, b = stacks
    a = StackProcess(emulator, EDGEE_REQUEST_DEADLINE_SECONDS="10")
    b.server.check(urn("warm-up"), {}, {"name": "warm-up", "__provider": PROVIDER})
    emulator.add_fault("latency", method="POST", path=KEYS, delay_ms=1500)
    emulator.add_fault("apply_then_fail", method="POST", path=KEYS, status=502)
    made: dict[str, CreateResponse] = {}
    thread = threading.Thread(target=lambda: made.update(a=a.create("mine", name="backend")))
    thread.start()
    waited = time.monotonic() + 10
    while any(f["kind"] == "latency" for f in emulator.faults()):
        assert time.monotonic() < waited
        time.sleep(0.02)
    made["b"] = b.create("other", name="backend")
    assert thread.is_alive(), "B's create finished while A's was held"
    thread.join()
    a.close()

    keys = live(emulator)
    assert sorted(keys) == sorted([made["a"].id, made["b"].id])
    assert made["a"].outputs["key"] == keys[made["a"].id]["key"]


def test_a_create_applied_after_the_client_gave_up_is_never_left_behind(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess]
) -> None:
    """The server applies the first create 2.5 s after receiving it, after the 1 s
    request deadline. The retry makes the stack's key; the late key carries the first
    attempt's marker, is in no state, and the next command that lists the keys after
    the marker expired removes it."""
    a, b = stacks
    emulator.add_fault("latency", method="POST", path=KEYS, delay_ms=2500)
    mine = a.create("late", name="backend")
    waited = time.monotonic() + 10
    while len(live(emulator)) < 2 and time.monotonic() < waited:
        time.sleep(0.1)
    leftovers = [k for k in live(emulator).values() if k["id"] != mine.id]
    assert len(leftovers) == 1, "the late create was applied"
    marker = markers.parse(leftovers[0]["name"])
    assert marker is not None, "a leftover is recognisable by its name"
    assert live(emulator)[mine.id]["name"] == "backend"

    # Another stack's refresh before the marker expired leaves it alone...
    b.server.read(mine.id, urn("late"), mine.outputs, {"name": "backend"})
    assert leftovers[0]["id"] in live(emulator)
    while time.time() <= marker.expires + 0.5:
        time.sleep(0.1)
    # ...and the first listing after it expired removes it.
    b.server.read(mine.id, urn("late"), mine.outputs, {"name": "backend"})
    assert sorted(live(emulator)) == [mine.id]


def test_a_console_clock_minutes_behind_does_not_hide_the_key_a_create_made() -> None:
    behind = timedelta(minutes=5)
    with run_emulator(
        token=TOKEN, organization_id=ORGANIZATION, now=lambda: utc_now() - behind
    ) as emulator:
        stack = StackProcess(emulator)
        try:
            emulator.add_fault("apply_then_fail", method="POST", path=KEYS, status=500)
            made = stack.create("skewed", name="backend")
        finally:
            stack.close()
        keys = live(emulator)
        assert list(keys) == [made.id], "the key the create made is adopted, not repeated"
        assert made.outputs["key"] == keys[made.id]["key"]
        created = datetime.fromisoformat(str(keys[made.id]["created_at"]).replace("Z", "+00:00"))
        assert utc_now() - created > behind - timedelta(seconds=30)


@pytest.fixture
def quick_harness() -> Iterator[fs.Harness]:
    """The fault harness with every provider process on short budgets."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SHORT_BUDGETS.items():
            patch.setenv(name, value)
        with fs.Harness() as harness:
            yield harness
    harness.leaks.assert_clean()


def test_a_late_create_leftover_is_removed_by_the_stacks_next_refresh(
    quick_harness: fs.Harness,
) -> None:
    harness = quick_harness
    stack = fs.new_stack()
    program = {"api": {"name": "backend", "maxUsage": 10}}
    harness.emulator.add_fault("latency", method="POST", path=KEYS, delay_ms=2000)
    harness.up(stack, program)
    waited = time.monotonic() + 10
    while len(harness.live_keys()) < 2 and time.monotonic() < waited:
        time.sleep(0.1)
    found = fs.inconsistencies(stack, harness.live_keys(), program)
    assert [f.category for f in found] == ["orphans"], "the late key, until removed"
    marker = markers.parse(
        next(k for k in harness.live_keys().values() if k["name"] != "backend")["name"]
    )
    assert marker is not None
    while time.time() <= marker.expires + 0.5:
        time.sleep(0.1)

    harness.refresh(stack)

    assert fs.inconsistencies(stack, harness.live_keys(), program) == []


def test_a_create_answered_2xx_with_an_unreadable_body_adopts_its_key(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess]
) -> None:
    """201 with 50,000 nested brackets: the key exists, its id is unknown to the client."""
    a, _ = stacks
    emulator.add_fault("apply_then_garble", method="POST", path=KEYS)
    made = a.create("garbled", name="backend", maxUsage=3)
    keys = live(emulator)
    assert list(keys) == [made.id], "no orphan, no duplicate"
    assert made.outputs["key"] == keys[made.id]["key"]
    assert keys[made.id]["name"] == "backend"


def test_a_new_key_neither_finished_nor_removed_is_left_for_the_next_walk_to_remove(
    emulator: EmulatorHandle,
) -> None:
    """The rename is applied each time but its answer is lost (502), then every delete
    fails: the key already bears its declared name, which no sweep touches. The step
    names it by its create marker again before failing, so the next command's listing
    after the marker expired removes it, and that `up` makes the stack's key cleanly."""
    one_key = KEYS + r"/[^/]+"
    emulator.add_fault("apply_then_fail", method="POST", path=one_key, status=502, count=5)
    emulator.add_fault("server_error", method="DELETE", path=one_key, count=20)
    first = StackProcess(emulator, EDGEE_STEP_DEADLINE_SECONDS="8")
    try:
        with pytest.raises(ProviderCallError) as failed:
            first.create("unfinished", name="backend")
    finally:
        first.close()
    emulator.clear_faults()
    message = failed.value.details.strip().splitlines()[-1]
    [left] = live(emulator).values()
    marker = markers.parse(left["name"])
    assert marker is not None, "the key is a recognisable leftover again"
    assert f"named {left['name']!r} again" in message
    assert "delete it in the Edgee Console" not in message
    to_key = [r for r in emulator.requests() if r["path"].endswith(f"/{left['id']}")]
    assert [r["method"] for r in to_key if r["method"] == "POST"] == ["POST"] * 6, (
        "five renames, each applied, then the marker given back"
    )

    while time.time() <= marker.expires + 0.5:
        time.sleep(0.1)
    later = StackProcess(emulator)  # the next `pulumi up`: a provider process of its own
    try:
        made = later.create("unfinished", name="backend")
    finally:
        later.close()
    assert sorted(live(emulator)) == [made.id], "the leftover is gone, the new key kept"


def test_a_stack_pointed_at_another_reachable_organization_neither_drops_nor_deletes(
    emulator: EmulatorHandle,
) -> None:
    emulator.add_organization("org_2")
    first = StackProcess(emulator)
    try:
        made = first.create("kept", name="backend")
    finally:
        first.close()
    other = StackProcess(emulator, organization="org_2")
    try:
        inputs = {"name": "backend", "__provider": PROVIDER}
        failures = []
        for call in (
            lambda: other.server.read(made.id, urn("kept"), made.outputs, inputs),
            lambda: other.server.update(
                made.id, urn("kept"), made.outputs, {**inputs, "name": "renamed"}, inputs
            ),
            lambda: other.server.delete(made.id, urn("kept"), made.outputs),
        ):
            with pytest.raises(ProviderCallError) as failed:
                call()
            failures.append(failed.value.details.strip().splitlines()[-1])
    finally:
        other.close()
    for line in failures:
        assert "organization 'org_1'" in line
        assert "organization 'org_2'" in line
        assert "edgee:organizationId" in line
    assert live(emulator)[made.id]["name"] == "backend", "the key is untouched"


@pytest.mark.parametrize("route", ["list", "create"])
def test_a_server_dripping_its_answer_cannot_hold_a_step(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess], route: str
) -> None:
    """One byte every 300 ms: each read gets a byte long before any socket timeout, but
    the request deadline (1 s) and the step deadline (4 s) still end the step."""
    a, _ = stacks
    started = time.monotonic()
    if route == "list":
        made = a.create("drip", name="backend")
        emulator.add_fault("slow_drip", method="GET", path=KEYS, interval_ms=300, count=None)
        with pytest.raises(ProviderCallError) as failed:
            a.server.read(made.id, urn("drip"), made.outputs, {"name": "backend"})
        assert "deadline" in failed.value.details.strip().splitlines()[-1]
        assert made.id in live(emulator)
    else:
        # The create is applied, its answer drips: an unknown outcome, reconciled.
        emulator.add_fault("slow_drip", method="POST", path=KEYS, interval_ms=300)
        made = a.create("drip", name="backend")
        assert list(live(emulator)) == [made.id]
    assert time.monotonic() - started < 20


def test_a_list_whose_pages_never_end_fails_a_refresh_clearly(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess]
) -> None:
    a, _ = stacks
    made = a.create("endless", name="backend")
    emulator.add_fault("endless_pages", method="GET", path=KEYS, count=None)
    with pytest.raises(ProviderCallError) as failed:
        a.server.read(made.id, urn("endless"), made.outputs, {"name": "backend"})
    assert "empty pages in a row" in failed.value.details.strip().splitlines()[-1]
    assert made.id in live(emulator), "nothing is read as deleted"


def test_another_key_with_odd_fields_blocks_no_one(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess]
) -> None:
    """Keys made by other tools: a fractional limit, a string for models, no created_at
    worth the name. This stack's refresh and creates go on."""
    a, _ = stacks
    emulator.insert_key(name="other tool", max_usage=12.5, models="x", surprise=[1])
    emulator.insert_key(name="older api", created_at="last tuesday")
    made = a.create("mine", name="backend")
    refreshed = a.server.read(made.id, urn("mine"), made.outputs, {"name": "backend"})
    assert refreshed.id == made.id
    assert refreshed.outputs["key"] == made.outputs["key"]
    emulator.add_fault("apply_then_fail", method="POST", path=KEYS, status=500)
    second = a.create("second", name="backend")
    assert second.id in live(emulator)
    assert len(live(emulator)) == 4


def test_a_name_that_looks_like_a_create_marker_is_refused_at_preview(
    stacks: tuple[StackProcess, StackProcess],
) -> None:
    a, _ = stacks
    name = f"{markers.PREFIX}{'0' * 32}:1700000000"
    checked = a.server.check(urn("reserved"), {}, {"name": name, "__provider": PROVIDER})
    assert [p for p, _ in checked.failures] == ["name"]
    assert "reserved" in checked.failures[0][1]


def test_a_rename_applied_after_the_step_gave_up_never_orphans_the_key(
    emulator: EmulatorHandle, stacks: tuple[StackProcess, StackProcess]
) -> None:
    """The create lands late (two 429s), the rename is held past the step's deadline and
    applied afterwards (within its request deadline), every delete fails: the key must
    end named by its marker, as the error says, and a later walk removes it (formerly
    the held rename landed after the marker name was put back: a key named as declared,
    in no stack, never swept)."""
    _, b = stacks
    a = StackProcess(emulator, EDGEE_REQUEST_DEADLINE_SECONDS="5", EDGEE_STEP_DEADLINE_SECONDS="4")
    emulator.add_fault("rate_limit", method="POST", path=KEYS, retry_after=1, count=2)
    emulator.add_fault("late_apply", method="POST", path=KEYS + "/[^/]+", delay_ms=4500)
    emulator.add_fault(
        "server_error", method="DELETE", path=KEYS + "/[^/]+", status=500, count=None
    )
    with pytest.raises(ProviderCallError) as failed:
        a.create("late", name="backend")
    said = failed.value.details.strip().splitlines()[-1]
    [key] = emulator.keys()
    marker = markers.parse(key["name"])
    assert marker is not None, f"the key is named {key['name']!r}: {said}"
    assert f"so it is named {key['name']!r} again" in said
    time.sleep(max(0.0, marker.expires + 0.5 - time.time()))
    emulator.clear_faults()
    b.create("other", name="other")  # a write of another process: its walk sweeps
    deadline = time.monotonic() + 10
    while key["id"] in live(emulator):
        assert time.monotonic() < deadline, "the leftover was never removed"
        time.sleep(0.1)
