"""`pulumi_edgee.testing.ProgramRunner` against the real CLI: the same program and commands
give the same steps, stack outputs (names, secretness) and Console effects, so users who
test without a CLI can trust the harness."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pulumi_edgee.testing import EmulatorHandle, ProgramRunner, edgee_config, run_emulator
from pulumi_edgee.testing.cli import CliRun, CliStack
from pulumi_edgee.testing.gateway import ask_gateway
from pulumi_edgee.testing.program import RunResult

from .support import disable_in_console

TOKEN = "tok_harness_vs_cli_0123456789"
ORGANIZATION = "org_1"


def harness_changes(result: RunResult) -> dict[str, str]:
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


@dataclass
class Side:
    """One way of running the program, its emulator, and how to read its outputs."""

    emulator: EmulatorHandle
    command: Callable[[str], dict[str, str]]
    outputs: Callable[[], dict[str, tuple[bool, bool]]]  # name -> (secret, known)
    set_config: Callable[[str, str], None]


@pytest.fixture
def harness_side(quickstart: CliStack, tmp_path: Path) -> Iterator[Side]:
    program = tmp_path / "harness-quickstart"
    program.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (program / name).write_text((quickstart.project_dir / name).read_text())
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator:
        runner = ProgramRunner(
            program,
            config=edgee_config(emulator.url, token=TOKEN, organization=ORGANIZATION),
            secret_config_keys=["edgee:apiToken"],
        )
        last: list[RunResult] = []

        def command(name: str) -> dict[str, str]:
            result: RunResult = getattr(runner, name)()
            last[:] = [result]
            return harness_changes(result)

        def outputs() -> dict[str, tuple[bool, bool]]:
            return {k: (v.secret, v.known) for k, v in last[0].outputs.items()}

        yield Side(emulator, command, outputs, lambda k, v: runner.set_config(k, int(v)))
        runner.destroy()


@pytest.fixture
def cli_side(quickstart: CliStack, emulator: EmulatorHandle) -> Side:
    last: list[CliRun] = []

    def command(name: str) -> dict[str, str]:
        run: CliRun = getattr(quickstart, name)()
        last[:] = [run]
        return run.changes()

    def outputs() -> dict[str, tuple[bool, bool]]:
        found = quickstart.outputs()  # after a command that saved the state
        return {k: (v == "[secret]", True) for k, v in found.items()}

    return Side(emulator, command, outputs, quickstart.set_config)


def test_the_harness_and_the_cli_agree_on_the_quickstart(
    harness_side: Side, cli_side: Side
) -> None:
    sides = (harness_side, cli_side)

    def both(command: str) -> None:
        changes = [side.command(command) for side in sides]
        assert changes[0] == changes[1], f"{command}: harness {changes[0]}, CLI {changes[1]}"
        effects = [console_effects(side.emulator) for side in sides]
        assert effects[0] == effects[1], f"{command}: Console after the harness / the CLI"
        if command != "preview":
            outputs = [side.outputs() for side in sides]
            assert outputs[0] == outputs[1], f"{command}: outputs (secret, known)"

    both("preview")
    both("up")
    for side in sides:
        side.set_config("backendMaxUsage", "500")
    both("preview")
    both("up")
    for side in sides:
        keys = {k["name"]: k for k in side.emulator.keys()}
        # Used at the Gateway: its last-used time moves, which is not drift.
        assistant = keys["Claude Code - platform team"]
        assert ask_gateway(side.emulator.url, assistant["key"], "openai/gpt-5.2").answered
        disable_in_console(side.emulator, keys["Production Backend"]["id"])
    both("refresh")
    both("preview")
    both("up")
    both("destroy")
