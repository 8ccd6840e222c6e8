"""The fault-scenario library (`scripts/fault_scenarios.py`) and a harness on it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_fault_scenarios() -> ModuleType:
    """Import `scripts/fault_scenarios.py` (a script, not a package module) once."""
    loaded = sys.modules.get("fault_scenarios")
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(
        "fault_scenarios", ROOT / "scripts" / "fault_scenarios.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fs = load_fault_scenarios()


@pytest.fixture(scope="module")
def module_harness() -> Iterator[fs.Harness]:
    """One emulator and provider server for a module; every command still runs in a
    provider process of its own. Secrets are searched for when the module is done."""
    with fs.Harness() as harness:
        yield harness
    harness.leaks.assert_clean()
    assert not harness.log_leaks, harness.log_leaks


@pytest.fixture
def harness(module_harness: fs.Harness) -> fs.Harness:
    """The module's harness with an empty emulator (no keys, faults or logged requests)."""
    module_harness.emulator.reset()
    return module_harness
