"""A Console whose every list page holds a new key and says more follow, met by a real
`pulumi refresh` through both front doors: the refresh ends by the step deadline with the
walk's line (pages and keys read), and keeps every resource; once the Console behaves,
refresh is clean."""

from __future__ import annotations

import re
import time

import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack

DEADLINE = {"EDGEE_STEP_DEADLINE_SECONDS": "2"}
SAYS = re.compile(r"the key list did not end within the 2 s (walk|step) deadline")
# A few walks of 2 s each, plus the CLI's and the provider's start.
BOUND = 60.0


@pytest.mark.parametrize("door", ["quickstart", "yaml_example"])
def test_a_refresh_over_endless_growing_pages_ends_by_the_deadline(
    door: str, request: pytest.FixtureRequest, emulator: EmulatorHandle
) -> None:
    stack: CliStack = request.getfixturevalue(door)
    stack.up()
    held = stack.resources()
    assert held

    emulator.add_fault("growing_pages", count=None)
    started = time.monotonic()
    refreshed = stack.run("refresh", "--yes", check=False, env=DEADLINE)
    took = time.monotonic() - started
    assert refreshed.returncode != 0
    assert SAYS.search(refreshed.output), refreshed.output
    if door == "yaml_example":
        # The dynamic provider's server (the SDK's) prints a traceback; the plugin, one line.
        assert "Traceback" not in refreshed.output
    assert took < BOUND, f"the refresh took {took:.0f} s"
    assert stack.resources().keys() == held.keys()

    emulator.clear_faults()
    stack.refresh("--expect-no-changes")
