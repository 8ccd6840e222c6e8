"""`python scripts/demo.py --cli`: the README's main job, through the real `pulumi`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pulumi_edgee.testing import EmulatorHandle, run_emulator
from scripts import demo


def test_the_demo_through_the_cli_has_every_effect(
    cli_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checked: list[int] = []

    @contextmanager
    def serve(**kwargs: Any) -> Iterator[EmulatorHandle]:
        with run_emulator(**kwargs) as emulator:
            yield emulator
            # What the CLI left in the Console, seen before the emulator stops.
            assert emulator.keys() == [], "the demo's destroy left a key behind"
            checked.append(sum(r["method"] == "DELETE" for r in emulator.requests()))

    assert demo.main(["--cli"], serve=serve) == 0
    assert checked == [2], "the CLI's destroy deleted both keys"
    assert "provider calls not shown by the CLI" in capsys.readouterr().out  # ran under it
