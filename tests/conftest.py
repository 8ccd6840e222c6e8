"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pulumi_edgee.testing import EmulatorHandle, run_emulator

EMULATOR_TOKEN = "tok_test_secret_0123456789"
EMULATOR_ORGANIZATION = "org_1"


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """A fresh Console API emulator on a loopback port, served by this process."""
    with run_emulator(token=EMULATOR_TOKEN, organization_id=EMULATOR_ORGANIZATION) as handle:
        yield handle


@pytest.fixture
def emulator_api(emulator: EmulatorHandle) -> Iterator[httpx.Client]:
    """A plain httpx client on the emulator's organization, with the valid token."""
    with httpx.Client(
        base_url=emulator.organization_url,
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=10.0,
        verify=False,  # noqa: S501 - plain HTTP to loopback; skips building a TLS context
    ) as client:
        yield client
