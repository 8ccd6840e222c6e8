"""Leftovers of interrupted creates are removed by the next command that changes a key,
not only by one that lists: the first create, update or delete of a provider process
sweeps them with one walk of the shared list view. And an update answered 2xx with a
body that cannot be read is confirmed by reading the key back.

Each command runs in a provider process of its own (`python -m pulumi.dynamic`, as the
engine starts one per command) against the emulator over HTTP.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pulumi_edgee import markers
from pulumi_edgee.testing import (
    EmulatorHandle,
    LifeCycle,
    ModelStack,
    configured_server,
    is_access_probe,
    provider_payload,
    resource_urn,
    run_emulator,
)
from pulumi_edgee.testing import faults as fs
from pulumi_edgee.testing.provider_server import ProviderCallError, ProviderServer

KEYS = r"/v1/organizations/[^/]+/api_keys"
ONE_KEY = KEYS + r"/[^/]+"
TOKEN = "tok_leftover_sweep_9f3a"
ORGANIZATION = "org_sweep"
PROVIDER = provider_payload()
BUDGETS = {
    "EDGEE_REQUEST_DEADLINE_SECONDS": "1",
    "EDGEE_STEP_DEADLINE_SECONDS": "4",
    "EDGEE_LEFTOVER_GRACE_SECONDS": "0",
}
Program = dict[str, dict[str, Any]]
# Several scenarios wait out a marker's expiry or a sweep's budget: part of the slow suites.
pytestmark = pytest.mark.slow


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


class Command:
    """One CLI command: a provider process of its own, and the engine's calls on a stack."""

    def __init__(self, emulator: EmulatorHandle, **budgets: str) -> None:
        self.emulator = emulator
        self.server: ProviderServer = configured_server(
            emulator.url, token=TOKEN, organization=ORGANIZATION, env=BUDGETS | budgets
        )
        self.engine = LifeCycle(self.server)

    def __enter__(self) -> Command:
        self.emulator.clear_requests()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()

    def up(self, stack: ModelStack, program: Program) -> None:
        stack.up(self.engine, program, PROVIDER)

    def destroy(self, stack: ModelStack) -> None:
        stack.destroy(self.engine)

    def list_requests(self) -> int:
        return sum(
            1
            for r in self.emulator.requests()
            if r["method"] == "GET" and r["path"].endswith("/api_keys") and not is_access_probe(r)
        )


def leftover(emulator: EmulatorHandle, expires_in: float) -> str:
    """A key named by a create marker, as an interrupted create leaves it."""
    marker = markers.Marker(secrets.token_hex(16), int(time.time() + expires_in))
    return str(emulator.insert_key(name=marker.name)["id"])


def live(emulator: EmulatorHandle) -> dict[str, dict[str, Any]]:
    return {str(k["id"]): k for k in emulator.keys()}


def deploy(emulator: EmulatorHandle, program: Program) -> ModelStack:
    stack = ModelStack(project="sweep")
    with Command(emulator) as command:
        command.up(stack, program)
    return stack


def test_an_up_whose_creates_all_succeed_removes_expired_leftovers_with_one_walk(
    emulator: EmulatorHandle,
) -> None:
    expired = [leftover(emulator, -5) for _ in range(2)]
    in_flight = leftover(emulator, 600)  # another stack's create, still running
    stack = ModelStack(project="sweep")
    program = {f"k{i}": {"name": "backend", "maxUsage": 10} for i in range(5)}
    with Command(emulator) as command:
        command.up(stack, program)
        assert command.list_requests() == 1, "one walk for the whole command"
    keys = live(emulator)
    assert not set(expired) & set(keys), "expired leftovers removed"
    assert in_flight in keys, "a marker not yet expired is left alone"
    assert sorted(keys) == sorted([in_flight, *(r.id for r in stack.resources.values())])


@pytest.mark.parametrize("command", ["update", "destroy"])
def test_an_update_or_a_destroy_removes_expired_leftovers(
    emulator: EmulatorHandle, command: str
) -> None:
    stack = deploy(emulator, {"api": {"name": "backend"}})
    expired = leftover(emulator, -5)
    with Command(emulator) as later:
        if command == "update":
            later.up(stack, {"api": {"name": "renamed"}})
        else:
            later.destroy(stack)
        assert later.list_requests() == 1
    keys = live(emulator)
    assert expired not in keys
    assert sorted(keys) == sorted(r.id for r in stack.resources.values())


def test_a_process_that_has_listed_already_does_not_walk_again(
    emulator: EmulatorHandle,
) -> None:
    """`pulumi up --refresh`: the refresh's walk swept; the creates add no walk."""
    stack = deploy(emulator, {"a": {"name": "backend"}})
    expired = leftover(emulator, -5)
    with Command(emulator) as command:
        stack.refresh(command.engine)
        command.up(stack, {"a": {"name": "backend"}, "b": {"name": "other"}})
        assert command.list_requests() == 1
    assert expired not in live(emulator)


def test_a_sweep_that_fails_neither_fails_nor_holds_the_step(emulator: EmulatorHandle) -> None:
    """Every list request dripped past the request deadline: the sweep fails and says so
    on stderr; the create succeeds; the leftover waits for a later command."""
    expired = leftover(emulator, -5)
    emulator.add_fault("slow_drip", method="GET", path=KEYS, interval_ms=300, count=None)
    stack = ModelStack(project="sweep")
    with Command(emulator) as command:
        command.up(stack, {"api": {"name": "backend"}})
        assert stack.resources["api"].id in live(emulator)
        waited = time.monotonic() + 30  # the sweep retries within its step's budget
        while "left behind" not in command.server.stderr_text() and time.monotonic() < waited:
            time.sleep(0.1)
        stderr = command.server.stderr_text()
    assert "could not list the keys to remove those left behind" in stderr
    assert "deadline" in stderr
    assert TOKEN not in stderr
    assert expired in live(emulator)
    emulator.clear_faults()
    with Command(emulator) as command:
        command.destroy(stack)
    assert live(emulator) == {}


def test_a_slow_sweep_does_not_hold_the_step(emulator: EmulatorHandle) -> None:
    """A list answered after 20 s: the create returns long before, the sweep goes on."""
    expired = leftover(emulator, -5)
    stack = ModelStack(project="sweep")
    with Command(
        emulator, EDGEE_REQUEST_DEADLINE_SECONDS="60", EDGEE_STEP_DEADLINE_SECONDS="60"
    ) as command:
        # The process's access check (its first Check) is answered before lists slow down.
        command.server.check(
            resource_urn("probe", project="sweep"), {}, {"name": "p", "__provider": PROVIDER}
        )
        emulator.add_fault("latency", method="GET", path=KEYS, delay_ms=20_000)
        started = time.monotonic()
        command.up(stack, {"api": {"name": "backend"}})
        took = time.monotonic() - started
        assert expired in live(emulator), "the sweep is still waiting for its list"
    assert took < 12, f"the create waited {took:.1f} s for the sweep"
    assert [k["name"] for k in live(emulator).values()].count("backend") == 1


def test_a_late_leftover_is_removed_by_the_next_plain_up() -> None:
    """A create applied after the client gave up leaves a marked key; the next `up`,
    which only adds a resource (no refresh, every create succeeds), removes it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in BUDGETS.items():
            patch.setenv(name, value)
        with fs.Harness() as harness:
            stack = fs.new_stack()
            program: Program = {"api": {"name": "backend", "maxUsage": 10}}
            harness.emulator.add_fault("latency", method="POST", path=KEYS, delay_ms=2000)
            harness.up(stack, program)
            waited = time.monotonic() + 10
            while len(harness.live_keys()) < 2 and time.monotonic() < waited:
                time.sleep(0.1)
            late = next(k for k in harness.live_keys().values() if k["name"] != "backend")
            marker = markers.parse(str(late["name"]))
            assert marker is not None
            while time.time() <= marker.expires + 0.5:
                time.sleep(0.1)
            program["web"] = {"name": "frontend"}

            harness.up(stack, program)

            assert fs.inconsistencies(stack, harness.live_keys(), program) == []
        harness.leaks.assert_clean()


def test_an_update_answered_2xx_with_an_unreadable_body_is_confirmed_by_reading_back(
    emulator: EmulatorHandle,
) -> None:
    stack = deploy(emulator, {"api": {"name": "backend", "maxUsage": 10}})
    emulator.add_fault("apply_then_garble", method="POST", path=ONE_KEY)
    declared = {"api": {"name": "renamed", "maxUsage": 20, "models": ["openai/gpt-5.2"]}}
    with Command(emulator) as command:
        command.up(stack, declared)
    key_id = stack.resources["api"].id
    key = live(emulator)[key_id]
    assert (key["name"], key["max_usage"], key["models"]) == ("renamed", 20, ["openai/gpt-5.2"])
    outputs = stack.resources["api"].outputs
    assert (outputs["name"], outputs["maxUsage"]) == ("renamed", 20)
    assert outputs["key"] == key["key"]
    assert not emulator.faults(), "the fault fired"


def test_a_create_whose_rename_is_answered_unreadably_keeps_its_key(
    emulator: EmulatorHandle,
) -> None:
    emulator.add_fault("apply_then_garble", method="POST", path=ONE_KEY)
    stack = deploy(emulator, {"api": {"name": "backend", "active": False}})
    keys = live(emulator)
    assert list(keys) == [stack.resources["api"].id], "kept, neither removed nor repeated"
    assert (keys[stack.resources["api"].id]["name"], keys[stack.resources["api"].id]["active"]) == (
        "backend",
        False,
    )


def test_an_unreadable_update_that_cannot_be_read_back_fails_clearly(
    emulator: EmulatorHandle,
) -> None:
    stack = deploy(emulator, {"api": {"name": "backend"}})
    emulator.add_fault("apply_then_garble", method="POST", path=ONE_KEY)
    emulator.add_fault("server_error", method="GET", path=ONE_KEY, status=503, count=None)
    with Command(emulator) as command, pytest.raises(ProviderCallError) as failed:
        command.up(stack, {"api": {"name": "renamed"}})
    message = failed.value.details.strip().splitlines()[-1]
    assert "cannot be read" in message
    assert "reading the key back to confirm it failed" in message
    assert stack.resources["api"].outputs["name"] == "backend", "state keeps the old outputs"
    emulator.clear_faults()
    with Command(emulator) as command:
        command.up(stack, {"api": {"name": "renamed"}})
    assert live(emulator)[stack.resources["api"].id]["name"] == "renamed"
