"""The kinds the seeded fault runner mixes in: a second stack of the same organization
creating identical keys at the same time as a create whose outcome is unknown, and a
command pointed at another organization the token reaches. Their checks must catch what
they are there to catch, the generator must produce them, and a scenario with both runs
clean through the real provider server.
"""

from __future__ import annotations

import copy

import pytest

from pulumi_edgee.testing import faults as fs
from pulumi_edgee.testing.engine import ModelStack, Props, ResourceState
from pulumi_edgee.testing.faults import generate_scenario, generator

UNKNOWN_OUTCOME = {
    "late_apply",
    "latency",
    "drop_connection",
    "apply_then_fail",
    "apply_then_garble",
}


def holding(stack: ModelStack, name: str, key_id: str) -> ModelStack:
    """`stack` with a resource `name` holding `key_id`."""
    inputs = Props({"name": "backend"})
    stack.resources[name] = stack.state(name, key_id, inputs, Props({"key": f"ek_test_{key_id}"}))
    return stack


def live_key(key_id: str) -> dict[str, object]:
    return {"id": key_id, "name": "backend", "key": f"ek_test_{key_id}"}


def test_a_key_in_both_stacks_states_is_owned_by_two_stacks() -> None:
    a = holding(fs.new_stack(), "api", "key_shared")
    b = holding(fs.new_stack("twin"), "api", "key_shared")
    live = {"key_shared": live_key("key_shared")}

    found = fs.inconsistencies(a, live, None, others=[b])

    assert [(f.category, f.key_id) for f in found] == [("owned_by_two_stacks", "key_shared")]
    alone = holding(fs.new_stack("twin"), "api", "key_b")
    live["key_b"] = live_key("key_b")
    assert fs.inconsistencies(a, live, None, others=[alone]) == []


def test_a_key_another_stack_held_first_is_owned_by_two_stacks() -> None:
    """Even once the first stack let it go: ids are never reused, the first holder made it."""
    first_held: dict[str, str] = {}
    a = holding(fs.new_stack(), "api", "key_a")
    b = holding(fs.new_stack("twin"), "api", "key_b")
    assert fs.taken_from_another_stack({"faults": a, "twin": b}, first_held) == []
    assert first_held == {"key_a": "faults", "key_b": "twin"}

    del b.resources["api"]  # B deletes or forgets its key; A then holds it
    holding(a, "other", "key_b")
    found = fs.taken_from_another_stack({"faults": a, "twin": b}, first_held)

    assert [(f.category, f.key_id) for f in found] == [("owned_by_two_stacks", "key_b")]
    assert "'twin' held first" in found[0].detail


def test_a_misdirected_command_must_fail_naming_both_organizations_and_change_nothing() -> None:
    stack = holding(fs.new_stack(), "api", "key_a")
    state = copy.deepcopy((stack.resources, stack.pending_deletes))
    keys = {"key_a": fs.ORGANIZATION, "key_o": fs.OTHER_ORGANIZATION}
    refused = f"... organization {fs.ORGANIZATION!r} ... configured for {fs.OTHER_ORGANIZATION!r}"
    assert fs.misdirection_problems(refused, state, state, keys, keys) == []

    emptied: dict[str, ResourceState] = {}
    dropped = (emptied, stack.pending_deletes)
    found = fs.misdirection_problems(None, state, dropped, keys, {"key_a": fs.ORGANIZATION})
    assert found == [
        "the command succeeded",
        "the stack's state changed",
        f"keys deleted: key_o ({fs.OTHER_ORGANIZATION})",
    ]
    vague = fs.misdirection_problems("HTTP 404", state, state, keys, keys)
    assert [f.split(":")[0] for f in vague] == ["the error does not name both organizations"]


def test_the_generator_mixes_in_both_kinds_and_leaves_the_other_steps_as_they_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenarios = [generate_scenario(1, i) for i in range(200)]
    twins = [s for sc in scenarios for s in sc.steps if s.second_stack]
    misdirected = [s for sc in scenarios for s in sc.steps if s.other_organization_first]

    assert 5 <= len(twins) <= 40, "a modest share of scenarios"
    assert 5 <= len(misdirected) <= 40
    assert all(sum(s.second_stack for s in sc.steps) <= 1 for sc in scenarios)
    for step in twins:
        assert step.kind in ("create", "add", "replace")
        assert {f.kind for f in step.faults} <= UNKNOWN_OUTCOME
        assert {f.target for f in step.faults} == {"create"}
    assert {s.kind for s in misdirected} == {"refresh", "destroy"}

    monkeypatch.setattr(generator, "SECOND_STACK_SHARE", 0.0)
    monkeypatch.setattr(generator, "OTHER_ORGANIZATION_SHARE", 0.0)
    for scenario in scenarios:
        plain = generate_scenario(1, scenario.index)
        for mixed, step in zip(scenario.steps, plain.steps, strict=True):
            assert (mixed.kind, mixed.program) == (step.kind, step.program)
            assert mixed.second_stack or mixed.faults == step.faults


@pytest.mark.slow
def test_a_scenario_with_a_second_stack_and_another_organization_runs_clean(
    harness: fs.Harness,
) -> None:
    """Through the real provider server: B's identical keys are created while A's first
    create is held then dropped, B is checked at every step and destroyed at the end; a
    refresh and a destroy configured for the other organization are refused."""
    program = {"a": {"name": "backend", "maxUsage": 10}, "b": {"name": "backend", "maxUsage": 10}}
    held = (
        fs.Fault("latency", "create", 1, (("delay_ms", 700),)),
        fs.Fault("drop_connection", "create", 1),
    )
    steps = (
        fs.ScenarioStep("create", program, held, second_stack=True),
        fs.ScenarioStep("refresh", program, (), other_organization_first=True),
        fs.ScenarioStep("destroy", {}, (), other_organization_first=True),
    )
    report = fs.Report()
    log: list[str] = []

    fs.run_scenario(harness, fs.Scenario(1, 0, steps), report, log)

    assert report.ok, "\n".join(map(str, report.problems))
    assert report.mixed_in == {
        "second stack": 1,
        "second stack, creates at once": 1,
        "other organization": 1,
    }
    assert report.faults_fired["drop_connection"] == 1, "a create's outcome was unknown"
    assert sum("configured for org_faults_other: refused" in line for line in log) == 2
    assert any("destroy of the second stack" in line for line in log)


def test_the_run_reports_a_command_the_other_organization_accepted(
    harness: fs.Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is not vacuous: "misdirect" a refresh to the stack's own organization,
    which the provider rightly serves, and the run reports it as accepted."""
    for module in (fs.runner, fs.invariants):  # where the runner and the check read it
        monkeypatch.setattr(module, "OTHER_ORGANIZATION", fs.ORGANIZATION)
    program = {"a": {"name": "backend"}}
    steps = (
        fs.ScenarioStep("create", program, ()),
        fs.ScenarioStep("refresh", program, (), other_organization_first=True),
    )
    report = fs.Report()

    fs.run_scenario(harness, fs.Scenario(1, 0, steps), report)

    accepted = [p for p in report.problems if p.category == "wrong_organization_accepted"]
    assert {p.step for p in accepted} == {1}
    assert any(p.detail.endswith("the command succeeded") for p in accepted)


def test_updates_are_held_only_within_their_deadline() -> None:
    """An update applied past its deadline is outside the contract (reliability.md): the
    generator holds creates and deletes past it, updates only as `held_rename`."""
    faults = [
        fault
        for seed in (1, 2)
        for index in range(400)
        for step in generate_scenario(seed, index).steps
        for fault in step.faults
    ]
    late = {fault.target for fault in faults if fault.kind == "late_apply"}
    assert "create" in late
    assert "update" not in late
    held = [dict(fault.options) for fault in faults if fault.kind == "held_rename"]
    assert held
    assert all(options["delay_ms"] <= 1000 for options in held)
