"""Shared helpers of the provider tests: the stack's settings, and single provider steps
through the engine model (`pulumi_edgee.testing.engine`) over a real server."""

from __future__ import annotations

from typing import Any

from pulumi_edgee.testing import LifeCycle, Props, provider_payload, resource_urn
from pulumi_edgee.testing.provider_server import CheckResponse, ProviderServer
from pulumi_edgee.testing.secrets import LeakDetector

TOKEN = "tok_provider_tests_5f0c2d9e"
ORGANIZATION = "org_1"
PROVIDER = provider_payload()


def urn(name: str) -> str:
    return resource_urn(name, project="quickstart")


class ProviderSteps:
    """One resource step at a time, as the engine takes it, with every output searched
    for leaks; the lifecycle tests then make the single calls they examine."""

    def __init__(self, server: ProviderServer, leaks: LeakDetector) -> None:
        self.server = server
        self.leaks = leaks
        self.lifecycle = LifeCycle(server, on_outputs=self._record)

    def _record(self, label: str, outputs: Props) -> None:
        self.record_outputs(label, outputs.values)

    def check(self, name: str, news: dict[str, Any], olds: dict[str, Any] | None = None) -> Any:
        """A bare Check (its failures are what some tests examine)."""
        result: CheckResponse = self.server.check(
            urn(name), olds or {}, {**news, "__provider": PROVIDER}
        )
        self.leaks.record(f"check {name}", result)
        return result

    def create(self, resource: str, /, **news: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Check then Create; returns the id, the outputs and the checked inputs."""
        done = self.lifecycle.register(urn(resource), Props({**news, "__provider": PROVIDER}), None)
        assert "key" in done.outputs.secrets, "the gateway key must cross the wire as a secret"
        return done.id, done.outputs.values, done.inputs.values

    def record_outputs(self, label: str, outputs: dict[str, Any]) -> None:
        self.leaks.add_secrets(outputs.get("key"))
        self.leaks.record(label, {k: v for k, v in outputs.items() if k != "key"})
