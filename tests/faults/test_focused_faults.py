"""Readable fault scenarios: one fault, the step it breaks, the user's re-run, the check.

Each command (`up`, `refresh`, `destroy`) runs through the real provider server in a
provider process of its own, as under the engine; a failed command leaves the state as
the engine would. After the re-run the emulator's keys must match the stack exactly: no
orphaned key, no duplicate, no lost secret.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime

import pytest

from pulumi_edgee import markers
from pulumi_edgee.testing import faults as fs
from pulumi_edgee.testing.engine import ModelStack, Props, ResourceState

KEYS = r"/v1/organizations/[^/]+/api_keys"
ONE_KEY = KEYS + r"/[^/]+"
REVEAL = KEYS + r"/[^/]+/reveal"


def is_create(request: dict[str, object]) -> bool:
    return request["method"] == "POST" and str(request["path"]).endswith("/api_keys")


def last_line(failure: pytest.ExceptionInfo[fs.StepFailed]) -> str:
    """What the CLI shows last: the provider's exception line."""
    return failure.value.details.strip().splitlines()[-1]


def assert_consistent(
    harness: fs.Harness, stack: ModelStack, program: dict[str, dict[str, object]] | None
) -> None:
    found = fs.inconsistencies(stack, harness.live_keys(), program)
    assert found == [], "\n".join(f"{f.category}: {f.detail}" for f in found)


@pytest.mark.slow
def test_update_applied_then_failed_keeps_the_old_state_until_a_rerun(
    harness: fs.Harness,
) -> None:
    stack = fs.new_stack()
    harness.up(stack, {"api": {"name": "backend", "maxUsage": 10}})
    key_id = stack.resources["api"].id
    harness.emulator.add_fault("apply_then_fail", method="POST", path=ONE_KEY, count=None)

    program = {"api": {"name": "backend", "maxUsage": 20}}
    with pytest.raises(fs.StepFailed) as failed:
        harness.up(stack, program)

    assert f"updating API key {key_id} failed" in last_line(failed)
    assert stack.resources["api"].outputs["maxUsage"] == 10, "a failed update keeps old state"
    assert harness.live_keys()[key_id]["max_usage"] == 20, "the change was applied"
    harness.emulator.clear_faults()
    harness.up(stack, program)
    assert stack.resources["api"].id == key_id
    assert stack.resources["api"].outputs["maxUsage"] == 20
    assert_consistent(harness, stack, program)


@pytest.mark.slow
def test_destroy_with_dropped_connections_keeps_the_keys_until_a_rerun(
    harness: fs.Harness,
) -> None:
    stack = fs.new_stack()
    harness.up(stack, {"a": {"name": "alpha"}, "b": {"name": "beta"}})
    harness.emulator.add_fault("drop_connection", method="DELETE", path=ONE_KEY, count=None)

    with pytest.raises(fs.StepFailed) as failed:
        harness.destroy(stack)

    assert "deleting API key" in last_line(failed)
    assert sorted(stack.resources) == ["a", "b"], "a failed delete keeps the resource"
    assert len(harness.live_keys()) == 2
    assert_consistent(harness, stack, None)
    harness.emulator.clear_faults()
    harness.destroy(stack)
    assert stack.resources == {}
    assert harness.live_keys() == {}


@pytest.mark.slow
def test_refresh_during_a_5xx_storm_fails_clearly_and_keeps_the_resource(
    harness: fs.Harness,
) -> None:
    stack = fs.new_stack()
    harness.up(stack, {"api": {"name": "backend"}})
    before = stack.resources["api"]
    harness.take_requests()
    harness.emulator.add_fault("server_error", status=503, count=None)

    with pytest.raises(fs.StepFailed) as failed:
        harness.refresh(stack)

    line = last_line(failed)
    assert f"reading API key {before.id} failed" in line
    assert "HTTP 503" in line
    assert stack.resources["api"] == before, "a failed read leaves the resource as it was"
    assert all(r["method"] == "GET" for r in harness.take_requests()), "a refresh only reads"
    harness.emulator.clear_faults()
    harness.refresh(stack)
    assert stack.resources["api"].id == before.id
    assert stack.resources["api"].outputs["key"] == before.outputs["key"]
    assert_consistent(harness, stack, None)


@pytest.mark.slow
def test_429_burst_with_retry_after_on_create_waits_and_creates_once(
    harness: fs.Harness,
) -> None:
    harness.emulator.add_fault("rate_limit", method="POST", path=KEYS, count=2, retry_after=1)
    stack = fs.new_stack()
    program = {"api": {"name": "backend"}}

    harness.up(stack, program)

    creates = [r for r in harness.take_requests() if is_create(r)]
    assert [r["status"] for r in creates] == [429, 429, 201]
    starts = [datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")) for r in creates]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.95, f"Retry-After: 1 must be honoured, waited {gaps}"
    assert len(harness.live_keys()) == 1
    assert_consistent(harness, stack, program)


@pytest.mark.parametrize(
    "failure",
    [{"drop": True}, {"status": 502}],
    ids=["connection-dropped", "502"],
)
def test_create_whose_answer_is_lost_adopts_the_key_it_made(
    harness: fs.Harness, failure: dict[str, object]
) -> None:
    harness.emulator.add_fault("apply_then_fail", method="POST", path=KEYS, **failure)
    stack = fs.new_stack()
    program = {"api": {"name": "backend", "models": ["openai/gpt-5.2"]}}

    harness.up(stack, program)

    requests = harness.take_requests()
    assert sum(map(is_create, requests)) == 1, "no second create"
    assert any(r["path"].endswith("/reveal") for r in requests), "the secret is recovered"
    assert len(harness.live_keys()) == 1
    assert_consistent(harness, stack, program)


@pytest.mark.slow
def test_replacement_whose_old_key_cannot_be_deleted_is_finished_by_a_rerun(
    harness: fs.Harness,
) -> None:
    stack = fs.new_stack()
    harness.up(stack, {"api": {"name": "backend", "expiresInDays": 30}})
    old_id = stack.resources["api"].id
    harness.emulator.add_fault("server_error", method="DELETE", path=ONE_KEY, count=None)

    program = {"api": {"name": "backend", "expiresInDays": 90}}
    with pytest.raises(fs.StepFailed):
        harness.up(stack, program)

    assert stack.resources["api"].id != old_id, "the replacement is in state"
    assert [r.id for r in stack.pending_deletes] == [old_id], "the old key awaits deletion"
    assert_consistent(harness, stack, None)
    harness.emulator.clear_faults()
    harness.up(stack, program)
    assert old_id not in harness.live_keys()
    assert_consistent(harness, stack, program)


@pytest.mark.slow
def test_inactive_key_whose_disabling_fails_is_removed_not_left_working(
    harness: fs.Harness,
) -> None:
    harness.emulator.add_fault("server_error", method="POST", path=ONE_KEY, count=None)
    stack = fs.new_stack()
    program = {"off": {"name": "paused", "active": False}}

    with pytest.raises(fs.StepFailed) as failed:
        harness.up(stack, program)

    assert "was removed, run `pulumi up` again" in last_line(failed)
    assert stack.resources == {}
    assert harness.live_keys() == {}, "no active key may be left outside the stack"
    harness.emulator.clear_faults()
    harness.up(stack, program)
    assert harness.live_keys()[stack.resources["off"].id]["active"] is False
    assert_consistent(harness, stack, program)


def test_unknown_create_outcome_never_adopts_a_sibling_made_by_an_earlier_run(
    harness: fs.Harness,
) -> None:
    stack = fs.new_stack()
    harness.up(stack, {"old": {"name": "backend"}})
    # A second key with the same settings, declared first: the engine creates it before
    # it diffs `old`, so this provider process has not seen `old`'s key yet.
    program = {"new": {"name": "backend"}, "old": {"name": "backend"}}
    harness.emulator.add_fault("server_error", method="POST", path=KEYS, status=503)

    harness.up(stack, program)

    assert stack.resources["new"].id != stack.resources["old"].id
    assert_consistent(harness, stack, program)


def test_unknown_create_outcome_never_adopts_another_stacks_key(harness: fs.Harness) -> None:
    production, staging = fs.new_stack(), fs.new_stack()
    harness.up(production, {"backend": {"name": "backend", "maxUsage": 100}})
    harness.emulator.add_fault("drop_connection", method="POST", path=KEYS)

    harness.up(staging, {"backend": {"name": "backend", "maxUsage": 100}})

    found = fs.inconsistencies(staging, harness.live_keys(), None, others=[production])
    assert found == [], [f.detail for f in found]


def test_unknown_create_outcome_never_adopts_a_key_another_stack_just_made(
    harness: fs.Harness,
) -> None:
    staging, production = fs.new_stack(), fs.new_stack()
    backend = {"name": "backend", "maxUsage": 100}
    with harness.process() as staging_up:  # one `pulumi up` of staging...
        staging_up.up(staging, {"other": {"name": "other"}})
        with harness.process() as production_up:  # ...while production is deployed
            production_up.up(production, {"backend": backend})
        harness.emulator.add_fault("drop_connection", method="POST", path=KEYS)
        staging_up.up(staging, {"other": {"name": "other"}, "backend": backend})

    found = fs.inconsistencies(staging, harness.live_keys(), None, others=[production])
    assert found == [], [f.detail for f in found]


def test_two_stacks_adopting_one_key_behave_as_under_the_cli(harness: fs.Harness) -> None:
    """The documented limitation, as the CLI shows it: each command's process knows only
    its own adoptions, so a second stack adopting a key the first holds goes through.
    The harness must not hide that by remembering one stack's adoption for another."""
    made = harness.emulator.insert_key(name="shared")
    harness.leaks.add_secrets(made["key"])
    first, second = fs.new_stack(), fs.new_stack()
    program = {"k": {"adoptId": made["id"], "name": "shared"}}
    harness.up(first, program)
    harness.up(second, program)
    assert first.resources["k"].id == second.resources["k"].id == made["id"]
    found = fs.inconsistencies(second, harness.live_keys(), program, others=[first])
    assert [f.category for f in found] == ["owned_by_two_stacks"]


def test_an_unknown_create_outcome_never_takes_another_create_in_flight(
    harness: fs.Harness,
) -> None:
    """Another create's key, still bearing its (unexpired) marker, is in the organization
    when this create's outcome is unknown: the creator takes only a key bearing its own
    token, so it makes its key again and leaves the other's name alone."""
    in_flight = f"{markers.PREFIX}{'ef' * 16}:{int(time.time()) + 3600}"
    other = harness.emulator.insert_key(name=in_flight)
    harness.leaks.add_secrets(other["key"])
    harness.emulator.add_fault("drop_connection", method="POST", path=KEYS)
    stack = fs.new_stack()
    harness.up(stack, {"api": {"name": "backend"}})
    assert stack.resources["api"].id != other["id"]
    assert harness.live_keys()[other["id"]]["name"] == in_flight


def test_a_rename_acknowledged_but_not_applied_never_reaches_the_state(
    harness: fs.Harness,
) -> None:
    """The rename of a new key answered 200 with the key unchanged: a key still named by
    its marker must not be handed to the stack. It is removed and the step fails; the
    re-run makes the key."""
    harness.emulator.add_fault("answer_unapplied", method="POST", path=ONE_KEY)
    stack = fs.new_stack()
    program = {"api": {"name": "backend"}}
    with pytest.raises(fs.StepFailed) as failed:
        harness.up(stack, program)
    assert "does not show it (name differ): not applied" in last_line(failed)
    assert "was removed" in last_line(failed)
    assert harness.live_keys() == {}
    harness.up(stack, program)
    assert_consistent(harness, stack, program)


@pytest.mark.slow
def test_a_new_key_that_can_be_neither_finished_nor_deleted_is_named_for_removal(
    harness: fs.Harness,
) -> None:
    """The rename is not applied and every delete fails: the key gets its create marker
    back, as the error says, so that the next walk past its expiry removes it."""
    harness.emulator.add_fault("answer_unapplied", method="POST", path=ONE_KEY)
    harness.emulator.add_fault("server_error", method="DELETE", path=ONE_KEY, count=None)
    stack = fs.new_stack()
    with pytest.raises(fs.StepFailed) as failed:
        harness.up(stack, {"api": {"name": "backend"}})
    [key] = harness.live_keys().values()
    assert markers.parse(str(key["name"])) is not None
    assert f"so it is named {key['name']!r} again" in last_line(failed)
    assert stack.resources == {}


def test_an_update_acknowledged_but_not_applied_fails_and_a_rerun_applies_it(
    harness: fs.Harness,
) -> None:
    stack = fs.new_stack()
    harness.up(stack, {"api": {"name": "backend", "maxUsage": 10}})
    harness.emulator.add_fault("answer_unapplied", method="POST", path=ONE_KEY)
    program = {"api": {"name": "backend", "maxUsage": 20}}
    with pytest.raises(fs.StepFailed) as failed:
        harness.up(stack, program)
    assert "(maxUsage differ): not applied" in last_line(
        failed
    ) or "(max_usage differ)" in last_line(failed)
    assert stack.resources["api"].outputs["maxUsage"] == 10, "the state keeps what is live"
    harness.up(stack, program)
    assert_consistent(harness, stack, program)


@pytest.mark.slow
def test_a_key_whose_secret_cannot_be_recovered_is_removed_and_a_rerun_repairs(
    harness: fs.Harness,
) -> None:
    harness.emulator.add_fault("apply_then_fail", method="POST", path=KEYS, status=500)
    harness.emulator.add_fault("server_error", method="GET", path=REVEAL, count=None)
    stack = fs.new_stack()
    program = {"api": {"name": "backend"}}
    with pytest.raises(fs.StepFailed) as failed:
        harness.up(stack, program)
    assert "revealing its secret failed" in last_line(failed)
    assert harness.live_keys() == {}, "a key without its secret is of no use: removed"
    harness.emulator.clear_faults()

    harness.up(stack, program)

    assert_consistent(harness, stack, program)


def test_the_checker_sees_every_kind_of_inconsistency() -> None:
    """`inconsistencies` is what every fault test trusts: it must not be vacuous."""

    def resource(key_id: str, secret: str) -> ResourceState:
        return fs.new_stack().state("r", key_id, Props({"name": "n"}), Props({"key": secret}))

    live = {
        "key_a": {"id": "key_a", "name": "n", "key": "ek_test_a"},
        "key_b": {"id": "key_b", "name": "n", "key": "ek_test_b"},
        "key_o": {"id": "key_o", "name": "n", "key": "ek_test_o"},
    }
    stack = fs.new_stack()
    stack.resources.update(
        {
            "one": resource("key_a", "ek_test_a"),
            "two": resource("key_a", "ek_test_a"),
            "three": resource("key_b", "ek_test_other"),
            "four": resource("key_gone", "ek_test_g"),
        }
    )
    found = {(f.category, f.key_id) for f in fs.inconsistencies(stack, live, {"one": {}})}
    assert found == {
        ("duplicates", "key_a"),
        ("orphans", "key_o"),
        ("lost_secrets", "key_b"),
        ("ghosts", "key_gone"),
        ("mismatches", None),
    }
