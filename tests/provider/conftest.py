"""A real `python -m pulumi.dynamic` server configured against a loopback emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_edgee.provider import ApiKeyProvider
from pulumi_edgee.testing import EmulatorHandle, run_emulator
from pulumi_edgee.testing.provider_server import ProviderServer
from pulumi_edgee.testing.secrets import LeakDetector

TOKEN = "tok_provider_tests_5f0c2d9e"
ORGANIZATION = "org_1"
TYPE = "pulumi-python:dynamic/edgee:ApiKey"
PROVIDER = serialize_provider(ApiKeyProvider())


def urn(name: str) -> str:
    return f"urn:pulumi:test::quickstart::{TYPE}::{name}"


class Engine:
    """The engine's call sequences for one resource, over the real provider server."""

    def __init__(self, server: ProviderServer, leaks: LeakDetector) -> None:
        self.server = server
        self.leaks = leaks

    def check(self, name: str, news: dict[str, Any], olds: dict[str, Any] | None = None) -> Any:
        result = self.server.check(urn(name), olds or {}, {**news, "__provider": PROVIDER})
        self.leaks.record(f"check {name}", result)
        return result

    def create(self, resource: str, /, **news: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Check then Create; returns the id, the outputs and the checked inputs."""
        checked = self.check(resource, news)
        assert checked.failures == []
        created = self.server.create(urn(resource), checked.inputs)
        assert created.secret_keys == {"key"}, "the gateway key must cross the wire as a secret"
        self.record_outputs(f"create {resource}", created.outputs)
        return created.id, created.outputs, checked.inputs

    def record_outputs(self, label: str, outputs: dict[str, Any]) -> None:
        self.leaks.add_secrets(outputs.get("key"))
        self.leaks.record(label, {k: v for k, v in outputs.items() if k != "key"})


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


@pytest.fixture(scope="module")
def leaks() -> Iterator[LeakDetector]:
    detector = LeakDetector()
    detector.add_secrets(TOKEN)
    return detector


@pytest.fixture(scope="module")
def server(emulator_module: EmulatorHandle, leaks: LeakDetector) -> Iterator[ProviderServer]:
    # Every read walks the list here, so out-of-band changes show at once; the shared
    # list view has its own tests.
    with ProviderServer(project="quickstart", env={"EDGEE_READ_REUSE_SECONDS": "0"}) as srv:
        srv.get_plugin_info()
        srv.configure(
            {
                "edgee:apiToken": TOKEN,
                "edgee:organizationId": ORGANIZATION,
                "edgee:consoleUrl": emulator_module.url,
            },
            secret_keys=["edgee:apiToken"],
        )
        yield srv
        leaks.record("server stdout", srv.stdout_text())
        leaks.record("server stderr", srv.stderr_text())
    leaks.record("__provider", PROVIDER)
    leaks.assert_clean()


@pytest.fixture
def engine(server: ProviderServer, leaks: LeakDetector) -> Engine:
    return Engine(server, leaks)
