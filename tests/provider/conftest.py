"""A real `python -m pulumi.dynamic` server configured against a loopback emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_edgee.testing import EmulatorHandle, configured_server, run_emulator
from pulumi_edgee.testing.provider_server import ProviderServer
from pulumi_edgee.testing.secrets import LeakDetector

from .support import ORGANIZATION, PROVIDER, TOKEN, ProviderSteps


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


@pytest.fixture(scope="module")
def leaks() -> LeakDetector:
    detector = LeakDetector()
    detector.add_secrets(TOKEN)
    return detector


@pytest.fixture(scope="module")
def server(emulator_module: EmulatorHandle, leaks: LeakDetector) -> Iterator[ProviderServer]:
    # Every read walks the list here, so out-of-band changes show at once; the shared
    # list view has its own tests.
    with configured_server(
        emulator_module.url,
        token=TOKEN,
        organization=ORGANIZATION,
        project="quickstart",
        env={"EDGEE_READ_REUSE_SECONDS": "0"},
    ) as srv:
        yield srv
        leaks.record("server stdout", srv.stdout_text())
        leaks.record("server stderr", srv.stderr_text())
    leaks.record("__provider", PROVIDER)
    leaks.assert_clean()


@pytest.fixture
def engine(server: ProviderServer, leaks: LeakDetector) -> ProviderSteps:
    return ProviderSteps(server, leaks)
