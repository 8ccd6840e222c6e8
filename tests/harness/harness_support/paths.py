"""Where the harness tests' programs live, and the shape of the runner factory fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pulumi_edgee.testing.program import ProgramRunner

HARNESS_DIR = Path(__file__).resolve().parents[1]
PROGRAMS = HARNESS_DIR / "programs"

RunnerFactory = Callable[..., ProgramRunner]
