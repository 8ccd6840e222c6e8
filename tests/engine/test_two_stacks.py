"""Two `pulumi up` processes, two stacks declaring identical keys, at the same moment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliRun, CliStack

from .support import live_keys


def test_two_stacks_with_identical_keys_at_once_own_their_own(
    quickstart: CliStack, emulator: EmulatorHandle
) -> None:
    other = CliStack(quickstart.cli, quickstart.project_dir, "other").init()
    other.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    stacks = (quickstart, other)

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs: list[CliRun] = list(pool.map(lambda stack: stack.up(), stacks))
    for run in runs:
        assert run.changes() == {"backend": "create", "claude-code": "create"}

    held = [{r["id"] for r in stack.resources().values()} for stack in stacks]
    assert len(held[0]) == len(held[1]) == 2
    assert not held[0] & held[1], "a key is owned by both stacks"
    assert {k["id"] for k in emulator.keys()} == held[0] | held[1], "a key is in no stack"
    assert all(not k["name"].startswith("pulumi-edgee-create:") for k in emulator.keys())

    # The next command of each finds nothing to repair; destroying both leaves nothing.
    for stack in stacks:
        stack.refresh("--expect-no-changes")
        stack.destroy()
    assert live_keys(emulator) == {}
