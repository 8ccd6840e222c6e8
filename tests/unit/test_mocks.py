"""A stack unit-tested with Pulumi's own mocks (`pulumi.runtime.set_mocks`), as users of
every official provider do: the resource's outputs come from `new_resource`, and the
lookups are answered by `call` with the plugin's tokens and shapes, never the Console."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from pulumi_edgee import ApiKey, get_api_key, get_api_keys

LOOKED_UP = {
    "id": "key_mocked",
    "name": "shared",
    "type": "api",
    "models": [],
    "active": True,
    "organizationId": "org_1",
    "debugMode": False,
    "createdAt": "2026-01-01T00:00:00Z",
    "key": "ek_test_mocked_secret",
}


class EdgeeMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}_id", {**args.inputs, "key": "ek_test_new_secret"}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "edgee:index:getApiKeys":
            return {"keys": [{k: v for k, v in LOOKED_UP.items() if k != "key"}]}, []
        return LOOKED_UP, []


MOCKS = EdgeeMocks()


@pytest.fixture(autouse=True)
def mocked() -> Iterator[None]:
    """Pulumi's mocks for these tests, set when they run (not when the suite is collected),
    on an event loop of their own (the SDK registers the root stack on it)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(MOCKS, preview=False)
    yield
    asyncio.set_event_loop(None)
    loop.close()


@pulumi.runtime.test
def test_lookups_and_resources_are_answered_by_the_mocks() -> pulumi.Output[None]:
    key = ApiKey("backend", name="backend", max_usage=100)
    shared = get_api_key(name="shared", reveal=True)
    listed = get_api_keys(name_prefix="sh")

    def check(values: list[Any]) -> None:
        key_name, secret, shared_id, shared_key, infos = values
        assert key_name == "backend"
        assert secret == "ek_test_new_secret"
        assert (shared_id, shared_key) == ("key_mocked", "ek_test_mocked_secret")
        assert [(i.id, i.name, i.created_at) for i in infos] == [
            ("key_mocked", "shared", "2026-01-01T00:00:00Z")
        ]
        assert ("edgee:index:getApiKey", {"name": "shared", "reveal": True}) in MOCKS.calls
        assert ("edgee:index:getApiKeys", {"namePrefix": "sh"}) in MOCKS.calls

    return pulumi.Output.all(key.name, key.key, shared.id, shared.key, listed).apply(check)


@pulumi.runtime.test
def test_the_looked_up_secret_stays_a_secret() -> pulumi.Output[None]:
    shared = get_api_key(id="key_mocked", reveal=True)

    async def is_secret() -> None:
        assert await shared.key.is_secret()

    return pulumi.Output.from_input(is_secret())
