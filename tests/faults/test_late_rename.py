"""A rename held past its step's deadline and applied afterwards, while every delete is
refused: the step must not put the marker name back until that rename can no longer
land, or the late rename would give the key its declared name in no stack. Budgets
chosen so that it lands after the step gave up and within its request deadline."""

from __future__ import annotations

import time

import pytest

from pulumi_edgee import markers
from pulumi_edgee.testing import (
    LifeCycle,
    Props,
    configured_server,
    provider_payload,
    resource_urn,
    run_emulator,
)
from pulumi_edgee.testing.provider_server import ProviderCallError

KEYS = r"/v1/organizations/[^/]+/api_keys"
TOKEN = "tok_late_rename_5e1a9c"


@pytest.mark.slow
def test_the_marker_goes_back_only_once_a_lost_rename_can_no_longer_land() -> None:
    budgets = {
        "EDGEE_REQUEST_DEADLINE_SECONDS": "2",
        "EDGEE_STEP_DEADLINE_SECONDS": "1.5",
        "EDGEE_LEFTOVER_GRACE_SECONDS": "0",
    }
    with (
        run_emulator(token=TOKEN, organization_id="org_1") as emulator,
        configured_server(
            emulator.url, token=TOKEN, organization="org_1", project="late", env=budgets
        ) as server,
    ):
        emulator.add_fault("late_apply", method="POST", path=KEYS + "/[^/]+", delay_ms=1800)
        emulator.add_fault(
            "server_error", method="DELETE", path=KEYS + "/[^/]+", status=400, count=None
        )
        news = Props({"name": "backend", "__provider": provider_payload()})
        with pytest.raises(ProviderCallError) as failed:
            LifeCycle(server).register(resource_urn("k", project="late"), news, None)
        said = failed.value.details.strip().splitlines()[-1]
        time.sleep(0.5)  # past the held rename's landing
        [key] = emulator.keys()
        assert markers.parse(key["name"]) is not None, f"named {key['name']!r}: {said}"
        assert f"so it is named {key['name']!r} again" in said
