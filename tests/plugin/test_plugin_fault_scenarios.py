"""The seeded fault scenarios, run against the provider plugin: the same stacks, faults,
re-runs and invariants as `tests/faults/test_fault_scenarios.py` checks through the
dynamic provider, with `pulumi-resource-edgee` answering the engine. Fewer scenarios
(EDGEE_PLUGIN_FAULT_SCENARIOS, 40 by default): the lifecycle under test is the same one.
"""

from __future__ import annotations

import os

import pytest

from pulumi_edgee.testing.faults import Report, generate_scenario, render
from pulumi_edgee.testing.plugin import PluginProcess
from pulumi_edgee.testing.plugin_faults import PluginHarness, run_plugin_scenarios

SEED = 7
SCENARIOS = int(os.environ.get("EDGEE_PLUGIN_FAULT_SCENARIOS", "40"))

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module")
def report() -> Report:
    result = run_plugin_scenarios([generate_scenario(SEED, i) for i in range(SCENARIOS)])
    print("\n" + render(result))
    return result


def problems(report: Report) -> str:
    return "\n".join(str(p) for p in report.problems)


def test_faults_fired_and_steps_failed_and_were_rerun(report: Report) -> None:
    assert report.scenarios == SCENARIOS
    assert report.count("harness_errors") == 0, problems(report)
    assert sum(report.faults_fired.values()) >= SCENARIOS
    assert sum(report.failed_steps.values()) >= SCENARIOS // 5
    assert report.mixed_in["rotating keys, previous key held"] > 0, "rotations through the plugin"
    assert report.elapsed > 1, "the run's time, as the report prints it"


def test_every_invariant_holds_through_the_plugin(report: Report) -> None:
    """No orphan, duplicate, ghost, lost secret, mismatch, unrepaired step or leak."""
    assert report.ok, problems(report)


def test_the_commands_are_answered_by_the_plugin() -> None:
    with PluginHarness() as harness, harness.process() as process:
        assert isinstance(process.server, PluginProcess)
        assert process.server.get_schema()["name"] == "edgee"
