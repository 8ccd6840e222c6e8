"""A fresh emulator, with a clock the test can move, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_edgee.testing import LeakDetector, run_emulator

from .support import ORGANIZATION, TOKEN, Clock, Stack


@pytest.fixture
def env() -> Iterator[Stack]:
    leaks = LeakDetector()
    leaks.add_secrets(TOKEN)
    clock = Clock()
    with run_emulator(
        token=TOKEN, organization_id=ORGANIZATION, extra_organization_ids=("org_2",), now=clock
    ) as emulator:
        env = Stack(emulator, leaks, clock)
        try:
            yield env
            leaks.add_secrets(*(k["key"] for k in emulator.keys()))
        finally:
            env.stop()
    leaks.assert_clean()
