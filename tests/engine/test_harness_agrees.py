"""`pulumi_edgee.testing.ProgramRunner` against the real CLI: the same program and commands
give the same steps, stack outputs (names, secretness) and Console effects, so users who
test without a CLI can trust the harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_edgee.testing import EmulatorHandle, ProgramRunner, edgee_config, run_emulator
from pulumi_edgee.testing.cli import CliProgramRunner, CliStack
from pulumi_edgee.testing.gateway import ask_gateway
from pulumi_edgee.testing.program import RunResult

from .support import disable_in_console

TOKEN = "tok_harness_vs_cli_0123456789"
ORGANIZATION = "org_1"

Runner = ProgramRunner | CliProgramRunner


def changes(result: RunResult) -> dict[str, str]:
    """The steps as the CLI reports them (see `ProgramStep.as_reported`), unchanged left out."""
    assert result.error is None, result.error
    ops = {s.name: s.as_reported for s in result.steps if "::pulumi:pulumi:Stack::" not in s.urn}
    return {name: op for name, op in ops.items() if op != "same"}


def console_effects(emulator: EmulatorHandle) -> list[tuple[Any, ...]]:
    """What the Console holds, without what differs between any two runs (ids, times, secrets)."""
    return sorted(
        (k["name"], k["type"], tuple(k["models"]), k["max_usage"], k["active"])
        for k in emulator.keys()
    )


@pytest.fixture
def harness(quickstart: CliStack, tmp_path: Path) -> Iterator[tuple[ProgramRunner, EmulatorHandle]]:
    """The same program, run by the harness against an emulator of its own."""
    program = tmp_path / "harness-quickstart"
    program.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (program / name).write_text((quickstart.project_dir / name).read_text())
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator:
        config = edgee_config(emulator.url, token=TOKEN, organization=ORGANIZATION)
        runner = ProgramRunner(program, config=config, secret_config_keys=["edgee:apiToken"])
        yield runner, emulator
        runner.destroy()


def test_the_harness_and_the_cli_agree_on_the_quickstart(
    harness: tuple[ProgramRunner, EmulatorHandle], quickstart: CliStack, emulator: EmulatorHandle
) -> None:
    sides: tuple[tuple[Runner, EmulatorHandle], ...] = (
        harness,
        (CliProgramRunner(quickstart), emulator),
    )

    def both(command: str) -> None:
        results = [getattr(runner, command)() for runner, _ in sides]
        found = [changes(result) for result in results]
        assert found[0] == found[1], f"{command}: harness {found[0]}, CLI {found[1]}"
        effects = [console_effects(console) for _, console in sides]
        assert effects[0] == effects[1], f"{command}: Console after the harness / the CLI"
        if command != "preview":  # a preview's --json carries no stack outputs
            outputs = [{k: (v.secret, v.known) for k, v in r.outputs.items()} for r in results]
            assert outputs[0] == outputs[1], f"{command}: outputs (secret, known)"

    both("preview")
    both("up")
    for runner, _ in sides:
        runner.set_config("backendMaxUsage", 500)
    both("preview")
    both("up")
    for _, console in sides:
        keys = {k["name"]: k for k in console.keys()}
        # Used at the Gateway: its last-used time moves, which is not drift.
        assistant = keys["Claude Code - platform team"]
        assert ask_gateway(console.url, assistant["key"], "openai/gpt-5.2").answered
        disable_in_console(console, keys["Production Backend"]["id"])
    both("refresh")
    both("preview")
    both("up")
    both("destroy")
