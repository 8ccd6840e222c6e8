"""The testing guide's `ProgramRunner` example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_guides_program_runner_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    guide = (ROOT / "docs" / "guides" / "testing.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)
    [example] = [b for b in blocks if "ProgramRunner(" in b]
    monkeypatch.chdir(ROOT)
    exec(compile(example, "testing.md", "exec"), {})  # noqa: S102 - our own guide's code
    assert capsys.readouterr().out.splitlines() == ["[unknown]", "()"]
