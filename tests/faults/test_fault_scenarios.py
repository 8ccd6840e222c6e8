"""The seeded fault-scenario suite, at CI size.

`scripts/fault_scenarios.py` takes small stacks through create, update, replace, refresh
and destroy while the emulator injects faults, re-runs each step as a user would and
checks the emulator's keys against the stack. This runs a fixed seed's first scenarios
(200, or EDGEE_FAULT_SCENARIOS) once for the module and asserts each invariant
separately; the report is printed with `-s`. Thousands of scenarios:

    python scripts/fault_scenarios.py --scenarios 5000 --seed 1

A problem names its replay command (`--seed S --only N --verbose`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_edgee.testing.faults import CONDITION_KINDS, FAULT_KINDS, Report

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fault_scenarios.py"

SEED = 1
SCENARIOS = int(os.environ.get("EDGEE_FAULT_SCENARIOS", "200"))

# Why a key may be left for a person to delete, by design: the Console stayed
# unreachable right after a create whose outcome was unknown, or a key the stack could
# not use (created to start disabled, or whose secret could not be recovered) could not
# be removed either, nor given its create marker back. The error names the key and asks
# for it.
BY_DESIGN = re.compile(r"checking for the key failed|failed too .*: delete it in the Edgee Console")

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The script's run, as a user starts it, read back from its JSON report."""
    path = tmp_path_factory.mktemp("fault-scenarios") / "report.json"
    command = [sys.executable, str(SCRIPT), "--scenarios", str(SCENARIOS), "--seed", str(SEED)]
    done = subprocess.run(
        [*command, "--workers", "8", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    print("\n" + done.stdout + done.stderr)
    assert done.returncode in (0, 1), done.stderr
    result = Report.from_json(json.loads(path.read_text()))
    assert (done.returncode == 0) == result.ok
    return result


def problems(report: Report, *categories: str) -> str:
    return "\n".join(str(p) for p in report.problems if p.category in categories)


def test_the_faults_really_fired_and_failed_steps(report: Report) -> None:
    assert report.scenarios == SCENARIOS
    assert report.count("harness_errors") == 0, problems(report, "harness_errors")
    fired = report.faults_fired
    assert set(fired) == set(FAULT_KINDS) - CONDITION_KINDS, f"every kind must fire: {dict(fired)}"
    assert set(report.faults_armed) == set(FAULT_KINDS), dict(report.faults_armed)
    assert min(fired.values()) >= SCENARIOS // 10, dict(fired)
    kinds = {"create", "update", "replace", "add", "remove", "refresh", "destroy"}
    assert set(report.steps) == kinds
    assert sum(report.failed_steps.values()) >= SCENARIOS // 5, "re-runs must be exercised"
    assert set(report.failed_steps) >= {"create", "update", "replace", "refresh", "destroy"}
    rotating = report.mixed_in
    assert rotating["rotating keys"] >= SCENARIOS // 5, "stacks of RotatingApiKey resources"
    assert rotating["rotating keys, previous key held"] >= SCENARIOS // 20, "rotations happened"


def test_every_failed_step_is_repaired_by_a_rerun_and_none_hangs(report: Report) -> None:
    assert report.unrepaired == 0, problems(report, "unrepaired")
    assert report.count("hangs") == 0, problems(report, "hangs")


def test_no_silent_orphan(report: Report) -> None:
    """Every live key belongs to a resource, unless an error named it for clean-up; the
    leftovers of interrupted creates (creates applied after the client gave up) are
    removed by the next listing once their markers expire."""
    assert report.orphans == 0, problems(report, "orphans")
    assert report.leftovers_removed > 0, "late creates must be exercised"


def test_keys_are_left_for_manual_cleanup_only_when_the_console_stayed_unreachable(
    report: Report,
) -> None:
    unexpected = {r: n for r, n in report.manual_cleanups.items() if not BY_DESIGN.search(r)}
    assert unexpected == {}


def test_no_duplicate_and_no_ghost(report: Report) -> None:
    """No two resources hold one key, and none holds a key that is gone (what becomes of
    a duplicate once one of its holders replaces or deletes the key)."""
    assert report.duplicates == 0, problems(report, "duplicates")
    assert report.count("ghosts") == 0, problems(report, "ghosts")


def test_no_key_owned_by_two_stacks(report: Report) -> None:
    """Scenarios with a second stack creating identical keys at the same moment as a
    create whose outcome is unknown: neither stack ever holds the other's key."""
    assert report.mixed_in["second stack"] >= SCENARIOS // 20, dict(report.mixed_in)
    assert report.mixed_in["second stack, creates at once"] > 0, dict(report.mixed_in)
    assert report.count("owned_by_two_stacks") == 0, problems(report, "owned_by_two_stacks")


def test_a_command_pointed_at_another_organization_is_refused_and_changes_nothing(
    report: Report,
) -> None:
    assert report.mixed_in["other organization"] >= SCENARIOS // 20, dict(report.mixed_in)
    found = problems(report, "wrong_organization_accepted")
    assert report.count("wrong_organization_accepted") == 0, found


def test_no_lost_secret(report: Report) -> None:
    assert report.lost_secrets == 0, problems(report, "lost_secrets")


def test_state_matches_the_program_and_a_rerun_changes_nothing(report: Report) -> None:
    assert report.count("mismatches") == 0, problems(report, "mismatches")
    assert report.count("not_idempotent") == 0, problems(report, "not_idempotent")


def test_no_secret_in_any_artefact(report: Report) -> None:
    assert report.count("leaks") == 0, problems(report, "leaks")
