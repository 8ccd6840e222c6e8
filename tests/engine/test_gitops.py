"""The GitOps guide's commands (docs/guides/gitops.md) with the real CLI: the review
preview writes nothing, the drift check (`preview --refresh --expect-no-changes`) passes
on an untouched stack and on keys in use, fails on a key changed in the Console, writing
nothing to the state, and passes again after `up --refresh`."""

from __future__ import annotations

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack

from .support import console_writes, disable_in_console, live_keys

DRIFT_CHECK = ("preview", "--refresh", "--expect-no-changes", "--diff")


def test_drift_check_of_the_gitops_guide(quickstart: CliStack, emulator: EmulatorHandle) -> None:
    quickstart.run("preview", "--diff")
    assert console_writes(emulator) == []
    quickstart.run("up", "--yes", "--diff")
    quickstart.run(*DRIFT_CHECK)
    backend = live_keys(emulator)["Production Backend"]
    emulator.mark_used(str(backend["id"]))
    quickstart.run(*DRIFT_CHECK)  # use alone is no drift

    disable_in_console(emulator, str(backend["id"]))
    emulator.clear_requests()
    drift = quickstart.run(*DRIFT_CHECK, check=False)
    assert drift.returncode != 0
    assert "backend" in drift.output
    assert "active" in drift.output
    assert console_writes(emulator) == []
    assert quickstart.resources()["backend"]["outputs"]["active"] is True  # state untouched

    # The state still holds what the last `up` made, so a plain `up` sees nothing to do;
    # `up --refresh` reads the keys first and puts the disabled one back.
    quickstart.run("up", "--yes", "--diff")
    assert live_keys(emulator)["Production Backend"]["active"] is False
    quickstart.run("up", "--refresh", "--yes", "--diff")
    assert live_keys(emulator)["Production Backend"]["active"] is True
    quickstart.run(*DRIFT_CHECK)
