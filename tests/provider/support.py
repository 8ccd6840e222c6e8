"""Shared helpers of the provider tests: the stack's settings, and single provider steps
through the engine model (`pulumi_edgee.testing.engine`) over a real server of either
front door (the dynamic provider's server or the plugin)."""

from __future__ import annotations

from typing import Any

from pulumi_edgee.properties import python_name
from pulumi_edgee.testing import LifeCycle, Props, provider_payload, resource_urn
from pulumi_edgee.testing.engine import DYNAMIC_DOOR, PROVIDER_KEY, FrontDoor
from pulumi_edgee.testing.provider_server import CheckResponse, ProviderServer
from pulumi_edgee.testing.secrets import LeakDetector

TOKEN = "tok_provider_tests_5f0c2d9e"
ORGANIZATION = "org_1"
PROVIDER = provider_payload()


def urn(name: str, door: FrontDoor = DYNAMIC_DOOR) -> str:
    return resource_urn(name, project="quickstart", type_=door.type_token)


class ProviderSteps:
    """One resource step at a time, as the engine takes it, through one front door, with
    every output searched for leaks; the lifecycle tests then make the single calls they
    examine (`bag` makes a property bag as that door is sent it)."""

    def __init__(
        self, server: ProviderServer, leaks: LeakDetector, door: FrontDoor = DYNAMIC_DOOR
    ) -> None:
        self.server = server
        self.leaks = leaks
        self.door = door
        provider = PROVIDER if door.provider_in_bags else None
        self.lifecycle = LifeCycle(server, door=door, provider=provider, on_outputs=self._record)

    def _record(self, label: str, outputs: Props) -> None:
        self.record_outputs(label, outputs.values)

    def urn(self, name: str) -> str:
        return urn(name, self.door)

    def bag(self, props: dict[str, Any]) -> dict[str, Any]:
        """Properties as this door is sent them (the dynamic provider's carry `__provider`)."""
        return {**props, PROVIDER_KEY: PROVIDER} if self.door.provider_in_bags else dict(props)

    def prop(self, wire: str) -> str:
        """A property as this door's failures name it: Python programs use the dynamic
        provider, so it speaks Python names; the plugin speaks the schema's."""
        return python_name(wire) if self.door.provider_in_bags else wire

    def check(self, name: str, news: dict[str, Any], olds: dict[str, Any] | None = None) -> Any:
        """A bare Check (its failures are what some tests examine)."""
        result: CheckResponse = self.server.check(
            self.urn(name), self.bag(olds) if olds else {}, self.bag(news)
        )
        self.leaks.record(f"check {name}", result)
        return result

    def create(self, resource: str, /, **news: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Check then Create; returns the id, the outputs and the checked inputs."""
        done = self.lifecycle.register(self.urn(resource), Props(self.bag(news)), None)
        assert "key" in done.outputs.secrets, "the gateway key must cross the wire as a secret"
        return done.id, done.outputs.values, done.inputs.values

    def record_outputs(self, label: str, outputs: dict[str, Any]) -> None:
        self.leaks.add_secrets(outputs.get("key"))
        self.leaks.record(label, {k: v for k, v in outputs.items() if k != "key"})
