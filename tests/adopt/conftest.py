"""A fresh emulator (with a movable clock) and provider server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_edgee.testing import LeakDetector, run_emulator

from .support import ORGANIZATION, TOKEN, Clock, Stack, start_server


@pytest.fixture
def env() -> Iterator[Stack]:
    leaks = LeakDetector()
    leaks.add_secrets(TOKEN)
    clock = Clock()
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION, now=clock) as emulator:
        server = start_server()
        env = Stack(emulator, server, leaks, clock, [server])
        try:
            yield env
            leaks.add_secrets(*(k["key"] for k in emulator.keys()))
        finally:
            for each in env.servers:
                each.stop()
                leaks.record("server stdout", each.stdout_text())
                leaks.record("server stderr", each.stderr_text())
    leaks.assert_clean()
