"""A real provider server of each front door, configured against a loopback emulator: the
dynamic provider's (`python -m pulumi.dynamic`) and the plugin (`pulumi-resource-edgee`).
Tests taking `engine` run once per front door."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_edgee.testing import EmulatorHandle, configured_server, run_emulator
from pulumi_edgee.testing.engine import DYNAMIC_DOOR, PLUGIN_DOOR, FrontDoor
from pulumi_edgee.testing.plugin import EngineLogServer, PluginProcess
from pulumi_edgee.testing.provider_server import ProviderServer
from pulumi_edgee.testing.secrets import LeakDetector

from .support import ORGANIZATION, PROVIDER, TOKEN, ProviderSteps

# Every read walks the list here, so out-of-band changes show at once; the shared list
# view has its own tests.
ENV = {"EDGEE_READ_REUSE_SECONDS": "0"}
DOORS = {"dynamic": DYNAMIC_DOOR, "plugin": PLUGIN_DOOR}


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


@pytest.fixture(scope="module")
def leaks() -> LeakDetector:
    detector = LeakDetector()
    detector.add_secrets(TOKEN)
    return detector


@pytest.fixture(scope="module", params=sorted(DOORS))
def door(request: pytest.FixtureRequest) -> FrontDoor:
    return DOORS[request.param]


@pytest.fixture(scope="module")
def server(
    emulator_module: EmulatorHandle, leaks: LeakDetector, door: FrontDoor
) -> Iterator[ProviderServer]:
    if door is DYNAMIC_DOOR:
        with configured_server(
            emulator_module.url,
            token=TOKEN,
            organization=ORGANIZATION,
            project="quickstart",
            env=ENV,
        ) as srv:
            yield srv
            leaks.record("server stdout", srv.stdout_text())
            leaks.record("server stderr", srv.stderr_text())
        leaks.record("__provider", PROVIDER)
    else:
        no_settings = {"EDGEE_CONSOLE_API_TOKEN": "", "EDGEE_ORGANIZATION_ID": ""}
        with (
            EngineLogServer() as log,
            PluginProcess(log.address, env={**ENV, **no_settings}) as plugin,
        ):
            plugin.configure(
                {
                    "apiToken": TOKEN,
                    "organizationId": ORGANIZATION,
                    "consoleUrl": emulator_module.url,
                },
                secret_keys=["apiToken"],
            )
            yield plugin
            leaks.record("plugin stderr", plugin.stderr_text() + plugin.stdout_text())
            leaks.record_all("engine log", log.records)
    leaks.assert_clean()


@pytest.fixture
def engine(server: ProviderServer, leaks: LeakDetector, door: FrontDoor) -> ProviderSteps:
    return ProviderSteps(server, leaks, door)
