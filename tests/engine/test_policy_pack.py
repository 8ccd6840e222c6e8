"""The guardrails policy pack (policy/) as users run it: `pulumi preview|up --policy-pack`.

Each violating program's keys break exactly one rule each; the compliant programs are the
same keys with each fix. YAML goes through the plugin (`edgee:index:ApiKey`), Python through
the dynamic resource.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliRun, CliStack, PulumiCli

from .conftest import ROOT

PACK = ROOT / "policy"
PROGRAMS = Path(__file__).parent / "programs"
CONFIG = PROGRAMS / "policy_config.json"
# A preview's `--json` is one document without policy events; streamed, it has them.
STREAM = {"PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true"}

# (rule, resource) for each key of the violating programs, under CONFIG.
EXPECTED = {
    ("edgee-key-expires", "noExpiry"),
    ("edgee-key-expires", "longExpiry"),
    ("edgee-key-usage-limit", "noLimit"),
    ("edgee-key-usage-limit", "bigLimit"),
    ("edgee-key-models", "anyModel"),
    ("edgee-key-models", "offListModel"),
    ("edgee-agent-key-owner", "agentNoOwner"),
    ("edgee-key-name", "badName"),
}
# Each message names the value found and the fix.
MESSAGES = {
    "noExpiry": "expiresInDays is not set, so the key never expires; set it to at most 90.",
    "longExpiry": "expiresInDays is 365, more than 90; set it to at most 90.",
    "noLimit": "maxUsage is not set, so the key's monthly usage is unlimited; set maxUsage "
    "(at most 1000).",
    "bigLimit": "maxUsage is 5000, more than 1000; set it to at most 1000.",
    "anyModel": "models is empty, so the key may call every model",
    "offListModel": "models has mistral/large, which no allowed pattern matches",
    "agentNoOwner": "names no owner; set email",
    "badName": "name 'Bad Name' does not match '(svc|agent)-[a-z0-9-]+'",
}


def checked(stack: CliStack, command: str, *flags: str, config: bool = True) -> CliRun:
    """``pulumi COMMAND`` with the pack (and, with ``config``, the tests' pack config)."""
    pack = ["--policy-pack", str(PACK)]
    if config:
        pack += ["--policy-pack-config", str(CONFIG)]
    return stack.run(command, *flags, "--json", *pack, check=False, env=STREAM)


def found(run: CliRun) -> set[tuple[str, str]]:
    return {(v["policyName"], v["resourceUrn"].split("::")[-1]) for v in run.violations()}


def messages(run: CliRun) -> dict[str, str]:
    return {v["resourceUrn"].split("::")[-1]: v["message"] for v in run.violations()}


@pytest.fixture
def yaml_stack(
    cli: PulumiCli, emulator: EmulatorHandle, tmp_path: Path
) -> Iterator[Callable[[str], CliStack]]:
    stacks: list[CliStack] = []

    def make(program: str) -> CliStack:
        project = tmp_path / program
        shutil.copytree(PROGRAMS / program, project)
        stack = CliStack(cli, project).init()
        stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.destroy(check=False)


@pytest.fixture
def python_stack(
    cli: PulumiCli, project_venv: Path, emulator: EmulatorHandle, tmp_path: Path
) -> Iterator[Callable[[str], CliStack]]:
    """tests/engine/programs/policy_python with its `variant` set."""
    project = tmp_path / "policy_python"
    shutil.copytree(PROGRAMS / "policy_python", project)
    (project / "venv").symlink_to(project_venv)
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)

    def variant(name: str) -> CliStack:
        stack.set_config("variant", name)
        return stack

    yield variant
    stack.destroy(check=False)


def test_yaml_preview_reports_each_rule_once_per_violating_key(
    yaml_stack: Callable[[str], CliStack], emulator: EmulatorHandle
) -> None:
    run = checked(yaml_stack("policy_yaml_violating"), "preview")
    assert run.returncode != 0, run.output
    assert found(run) == EXPECTED, run.output
    for resource, text in MESSAGES.items():
        assert text in messages(run)[resource], run.output
    levels = {v["policyName"]: v["enforcementLevel"] for v in run.violations()}
    assert levels.pop("edgee-agent-key-owner") == "advisory"
    assert set(levels.values()) == {"mandatory"}
    assert emulator.token not in run.output  # the pack sees the provider's settings


def test_yaml_compliant_program_passes(yaml_stack: Callable[[str], CliStack]) -> None:
    run = checked(yaml_stack("policy_yaml_compliant"), "preview")
    assert run.returncode == 0, run.output
    assert found(run) == set()


def test_defaults_leave_models_and_names_to_the_platform_team(
    yaml_stack: Callable[[str], CliStack],
) -> None:
    """Without a pack config: expiry within 90 days and some usage limit are mandatory, an
    agent's owner advisory; the model allow-list and the name pattern are off."""
    run = checked(yaml_stack("policy_yaml_violating"), "preview", config=False)
    assert run.returncode != 0, run.output
    assert found(run) == {
        ("edgee-key-expires", "noExpiry"),
        ("edgee-key-expires", "longExpiry"),
        ("edgee-key-usage-limit", "noLimit"),
        ("edgee-agent-key-owner", "agentNoOwner"),
    }


def test_mandatory_violation_creates_nothing(
    yaml_stack: Callable[[str], CliStack], emulator: EmulatorHandle
) -> None:
    stack = yaml_stack("policy_yaml_violating")
    run = checked(stack, "up", "--yes")
    assert run.returncode != 0, run.output
    assert emulator.keys() == []
    assert stack.resources() == {}
    # Without a preview, each key is checked as it is about to be made: the keys a
    # mandatory rule refuses are never made.
    run = checked(stack, "up", "--yes", "--skip-preview")
    assert run.returncode != 0, run.output
    assert {k["name"] for k in emulator.keys()} <= {"agent-no-owner"}


def test_python_preview_reports_the_dynamic_resource(
    python_stack: Callable[[str], CliStack],
) -> None:
    run = checked(python_stack("violating"), "preview")
    assert run.returncode != 0, run.output
    assert found(run) == EXPECTED, run.output
    types = {v["resourceUrn"].split("::")[-2] for v in run.violations()}
    assert types == {"pulumi-python:dynamic/edgee:ApiKey"}


def test_python_compliant_program_goes_up_and_stays_compliant(
    python_stack: Callable[[str], CliStack], emulator: EmulatorHandle
) -> None:
    stack = python_stack("compliant")
    run = checked(stack, "up", "--yes")
    assert run.returncode == 0, run.output
    assert found(run) == set()
    assert len(emulator.keys()) == len(MESSAGES) + 1
    # The next preview sees every key's secret in the state: still nothing to report.
    run = checked(stack, "preview")
    assert run.returncode == 0, run.output
    assert found(run) == set()


def test_advisory_violation_prints_and_lets_up_proceed(
    python_stack: Callable[[str], CliStack], emulator: EmulatorHandle
) -> None:
    run = checked(python_stack("advisory"), "up", "--yes")
    assert run.returncode == 0, run.output
    assert found(run) == {("edgee-agent-key-owner", "agentNoOwner")}
    assert {v["enforcementLevel"] for v in run.violations()} == {"advisory"}  # preview and up
    assert [k["name"] for k in emulator.keys()] == ["agent-no-owner"]


def test_a_secret_given_to_a_plain_text_store_is_refused_before_it_is_stored(
    python_stack: Callable[[str], CliStack], emulator: EmulatorHandle
) -> None:
    stack = python_stack("leak")
    run = checked(stack, "up", "--yes")
    assert run.returncode != 0, run.output
    assert found(run) == {("edgee-key-kept-secret", "sharedConfig")}, run.output
    assert "sharedConfig" not in stack.resources()
    (secret,) = [k["key"] for k in emulator.keys()]
    assert secret not in run.output
