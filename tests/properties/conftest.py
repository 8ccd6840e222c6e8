"""Hypothesis profiles for the property tests, and a count of the inputs they tried.

`ci` (the default) runs 300 derandomized examples per test, the same ones on
every run; `long` explores thousands per test with fresh randomness:

    HYPOTHESIS_PROFILE=long python -m pytest tests/properties

The number of inputs tried is printed in the terminal summary.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from .support import EXAMPLES

settings.register_profile(
    "ci",
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not EXAMPLES:
        return
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    terminalreporter.section(f"hypothesis inputs tried (profile {profile})")
    for name, count in sorted(EXAMPLES.items()):
        terminalreporter.write_line(f"{count:8d}  {name}")
    terminalreporter.write_line(f"{sum(EXAMPLES.values()):8d}  in total")
