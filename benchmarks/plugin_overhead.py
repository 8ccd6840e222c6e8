"""Per-call cost of the provider plugin beside the dynamic provider's.

    python benchmarks/plugin_overhead.py [--calls 40]

Starts the Console API emulator as a child process, then, for each front door (the SDK's
`python -m pulumi.dynamic` server and `pulumi-resource-edgee`), measures the cold start
(spawn to the first answered Check) and the median wall time of the engine's calls over gRPC: Check,
Diff, Read (a refresh of one key), and Create + Delete of a key. A bare `httpx` list
request to the emulator is the floor every Console-bound call pays. A benchmark, not a
test: numbers depend on the machine and its load. pytest does not collect it.
"""

from __future__ import annotations

import abc
import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from pulumi_edgee.testing import configured_server, provider_payload, resource_urn, spawn_emulator
from pulumi_edgee.testing.plugin import API_KEY_TYPE, EngineLogServer, PluginProcess
from pulumi_edgee.testing.provider_server import ProviderServer

TOKEN = "tok_plugin_overhead_5e2a9c71"  # noqa: S105 - the emulator's made-up token
ORGANIZATION = "org_bench"
INPUTS = {"name": "bench", "models": ["openai/gpt-5.2"], "maxUsage": 10}
CHANGED = {**INPUTS, "name": "bench v2"}
# No settings from this shell's environment, and no list view reused between calls.
ENV = {
    "EDGEE_CONSOLE_API_TOKEN": "",
    "EDGEE_ORGANIZATION_ID": "",
    "EDGEE_CONSOLE_URL": "",
    "EDGEE_READ_REUSE_SECONDS": "0",
}


def _median_ms(call: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


class Door(abc.ABC):
    """One front door: how to start it and what its requests look like."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.extra: dict[str, Any] = {}

    @abc.abstractmethod
    def start(self) -> ProviderServer: ...

    @abc.abstractmethod
    def urn(self) -> str: ...


class Dynamic(Door):
    def __init__(self, url: str) -> None:
        super().__init__("dynamic provider", url)
        self.extra = {"__provider": provider_payload()}

    def start(self) -> ProviderServer:
        return configured_server(self.url, token=TOKEN, organization=ORGANIZATION, env=ENV)

    def urn(self) -> str:
        return resource_urn("k")


class Plugin(Door):
    def __init__(self, url: str, engine: EngineLogServer) -> None:
        super().__init__("provider plugin", url)
        self.engine = engine

    def start(self) -> ProviderServer:
        plugin = PluginProcess(self.engine.address, env=ENV)
        plugin.configure(
            {"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": self.url},
            secret_keys=["apiToken"],
        )
        return plugin

    def urn(self) -> str:
        return resource_urn("k", type_=API_KEY_TYPE)


def measure(door: Door, calls: int) -> dict[str, float]:
    urn = door.urn()
    news: Mapping[str, Any] = {**INPUTS, **door.extra}
    started = time.perf_counter()
    server = door.start()
    try:
        checked = server.check(urn, {}, news).inputs
        # The dynamic server loads the lifecycle on its first call, the plugin at start:
        # the first answer is where both have paid for it.
        cold = (time.perf_counter() - started) * 1000
        created = server.create(urn, checked)
        changed = server.check(urn, checked, {**CHANGED, **door.extra}).inputs

        def create_delete() -> None:
            made = server.create(urn, checked)
            server.delete(made.id, urn, made.outputs, checked)

        result = {
            "cold start (spawn to first Check)": cold,
            "Check": _median_ms(lambda: server.check(urn, {}, news), calls),
            "Diff": _median_ms(
                lambda: server.diff(created.id, urn, created.outputs, changed, checked), calls
            ),
            "Read (refresh of one key)": _median_ms(
                lambda: server.read(created.id, urn, created.outputs, checked), calls
            ),
            "Create + Delete": _median_ms(create_delete, max(calls // 4, 3)),
        }
        server.delete(created.id, urn, created.outputs, checked)
        return result
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=40, help="calls per measurement")
    args = parser.parse_args(argv)
    calls: int = args.calls
    with spawn_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator:
        with httpx.Client(
            base_url=emulator.organization_url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            floor = _median_ms(lambda: client.get("/api_keys", params={"limit": 1}), calls)
        with EngineLogServer() as engine:
            results = {
                door.name: measure(door, calls)
                for door in (Dynamic(emulator.url), Plugin(emulator.url, engine))
            }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"median ms per call, {calls} calls each, load average {load:.2f}")
    print(f"bare httpx list request (floor of a Console-bound call): {floor:.2f} ms")
    names = list(results)
    print(f"{'call':36} {names[0]:>18} {names[1]:>18} {'plugin - dynamic':>18}")
    for call in results[names[0]]:
        dynamic, plugin = results[names[0]][call], results[names[1]][call]
        print(f"{call:36} {dynamic:18.2f} {plugin:18.2f} {plugin - dynamic:+18.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
