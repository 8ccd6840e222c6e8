"""A fault harness (`pulumi_edgee.testing.faults`) shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_edgee.testing.faults import Harness


@pytest.fixture(scope="module")
def module_harness() -> Iterator[Harness]:
    """One emulator and provider server for a module; every command still runs in a
    provider process of its own. Secrets are searched for when the module is done."""
    with Harness() as harness:
        yield harness
    harness.leaks.assert_clean()
    assert not harness.log_leaks, harness.log_leaks


@pytest.fixture
def harness(module_harness: Harness) -> Harness:
    """The module's harness with an empty emulator (no keys, faults or logged requests)."""
    module_harness.emulator.reset()
    return module_harness
