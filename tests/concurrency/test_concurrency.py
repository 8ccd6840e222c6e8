"""Hundreds of concurrent operations on one provider process, then an exact comparison of
the emulator's keys with what the operations should have left.

The dynamic provider server runs at most 4 calls at once (a 4-thread pool), with one
provider instance shared by every thread; the engine keeps it busy with `--parallel`.
Here a pool of 12 threads plays several engines' worth of resources at once: creates
(some of keys with identical settings), in-place updates, refreshes and deletes, while
the emulator adds latency, 429 bursts and updates or deletes that are applied but
answered with an error. Operations on one resource run in order, as the engine runs
them; different resources interleave freely.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from pulumi_edgee.testing import (
    EmulatorHandle,
    LifeCycle,
    ModelStack,
    Props,
    ResourceState,
    configured_server,
    provider_payload,
    run_emulator,
)
from pulumi_edgee.testing.provider_server import ProviderCallError, ProviderServer
from pulumi_edgee.testing.secrets import LeakDetector

TOKEN = "tok_concurrency_0d9b7e21f4"
ORGANIZATION = "org_1"
PROVIDER = provider_payload()
KEYS = r"/v1/organizations/[^/]+/api_keys"
ONE_KEY = KEYS + r"/[^/]+"
RESOURCES = 64
TWINS = 8  # resources whose settings are all identical
THREADS = 12
MODELS = ("anthropic/claude-opus-4-6", "openai/gpt-5.2", "mistral/large-2")

pytestmark = pytest.mark.slow


@dataclass
class Resource:
    """One resource's declared settings, its planned operations, and its state."""

    name: str
    declared: dict[str, Any]
    plan: list[str]
    state: ResourceState | None = None
    secret: str = ""
    deleted: bool = False

    @property
    def id(self) -> str:
        return self.state.id if self.state is not None else ""

    @property
    def outputs(self) -> dict[str, Any]:
        return self.state.outputs if self.state is not None else {}


@pytest.fixture(scope="module")
def leaks() -> Iterator[LeakDetector]:
    detector = LeakDetector()
    detector.add_secrets(TOKEN)
    yield detector
    detector.record("__provider", PROVIDER)
    detector.assert_clean()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


@pytest.fixture(scope="module")
def server(emulator: EmulatorHandle, leaks: LeakDetector) -> Iterator[ProviderServer]:
    with configured_server(
        emulator.url, token=TOKEN, organization=ORGANIZATION, project="concurrency"
    ) as srv:
        yield srv
        leaks.record("server stdout", srv.stdout_text())
        leaks.record("server stderr", srv.stderr_text())


class Workload:
    """Each resource's operations through the engine model, from any thread."""

    def __init__(self, server: ProviderServer, leaks: LeakDetector) -> None:
        self.stack = ModelStack(project="concurrency")
        self.engine = LifeCycle(server, on_outputs=self._done)
        self.leaks = leaks
        self.lock = threading.Lock()
        self.operations = 0
        self.failures: list[str] = []

    def run(self, operation: Callable[[], None]) -> None:
        """Run an operation; when it fails, run it again, as a user re-runs `pulumi up`
        (a failed operation leaves the resource's state as it was)."""
        for attempt in range(1, 4):
            try:
                operation()
                return
            except ProviderCallError as error:
                with self.lock:
                    self.leaks.record("error", error.details)
                    self.failures.append(error.details.strip().splitlines()[-1])
                if attempt == 3:
                    raise

    def _done(self, label: str, outputs: Props) -> None:
        assert "key" in outputs.secrets, f"{label}: the key crosses the wire as a secret"
        with self.lock:
            self.operations += 1
            self.leaks.add_secrets(outputs.values.get("key"))
            self.leaks.record(label, {k: v for k, v in outputs.values.items() if k != "key"})

    def _register(self, res: Resource, declared: dict[str, Any]) -> str:
        news = Props({**declared, "__provider": PROVIDER})
        done = self.engine.register(self.stack.urn(res.name), news, res.state)
        res.state = self.stack.state(res.name, done.id, done.inputs, done.outputs)
        res.declared = declared
        return done.op

    def create(self, res: Resource) -> None:
        assert self._register(res, res.declared) == "create"
        res.secret = res.outputs["key"]

    def update(self, res: Resource, rng: random.Random) -> None:
        declared = dict(res.declared)
        change = rng.choice(("name", "maxUsage", "models", "active"))
        if change == "name":
            declared["name"] = f"{res.name}-v{rng.randint(1, 10**6)}"
        elif change == "maxUsage":
            declared["maxUsage"] = rng.randint(1, 10_000)
        elif change == "models":
            declared["models"] = rng.sample(MODELS, rng.randint(0, len(MODELS)))
        else:
            declared["active"] = not declared.get("active", True)
        assert self._register(res, declared) in ("update", "same")
        assert res.outputs["key"] == res.secret, "an update keeps the secret"

    def refresh(self, res: Resource) -> None:
        assert res.state is not None
        read = self.engine.refresh(res.state)
        assert read is not None
        assert read.id == res.id
        assert read.outputs["key"] == res.secret, "a refresh keeps the secret"
        for prop in ("name", "maxUsage", "active"):
            assert read.outputs.get(prop) == res.outputs.get(prop), f"{res.name}: {prop} drifted"
        res.state = read

    def delete(self, res: Resource) -> None:
        assert res.state is not None
        self.engine.delete(res.state)
        res.deleted = True
        with self.lock:
            self.operations += 1


def declared_settings(index: int, rng: random.Random) -> dict[str, Any]:
    if index < TWINS:
        return {"name": "twin", "maxUsage": 50, "models": list(MODELS[:2])}
    declared: dict[str, Any] = {"name": f"key-{index:02d}"}
    if rng.random() < 0.5:
        declared["maxUsage"] = rng.randint(1, 1000)
    if rng.random() < 0.5:
        declared["models"] = rng.sample(MODELS, rng.randint(1, len(MODELS)))
    if rng.random() < 0.2:
        declared["active"] = False
    if rng.random() < 0.2:
        declared["expiresInDays"] = 30
    return declared


def max_overlap(requests: list[dict[str, Any]]) -> int:
    """The most Console API requests the emulator was serving at one moment. Start times
    are logged to the millisecond, so each request counts from 1 ms after its start: a
    request that follows another on the same thread then never seems to overlap it."""
    events: list[tuple[datetime, int]] = []
    for request in requests:
        start = datetime.fromisoformat(request["started_at"].replace("Z", "+00:00"))
        events.append((start + timedelta(milliseconds=1), 1))
        events.append((start + timedelta(milliseconds=request["duration_ms"]), -1))
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def test_hundreds_of_concurrent_operations_leave_exactly_the_expected_keys(
    server: ProviderServer, emulator: EmulatorHandle, leaks: LeakDetector
) -> None:
    rng = random.Random(20260401)
    resources = [
        Resource(
            name=f"r{i:02d}",
            declared=declared_settings(i, rng),
            plan=rng.choices(("update", "update", "refresh"), k=rng.randint(3, 6))
            + (["delete"] if rng.random() < 0.3 else []),
        )
        for i in range(RESOURCES)
    ]
    engine = Workload(server, leaks)
    # Faults whose failed operations are safe to run again: creates are only refused
    # (429, never applied); updates and deletes are applied, then answered with an error.
    emulator.add_fault("latency", delay_ms=15, count=200)
    emulator.add_fault("rate_limit", method="POST", path=KEYS, count=12, retry_after=0)
    emulator.add_fault("apply_then_fail", method="POST", path=ONE_KEY, count=16, status=502)
    emulator.add_fault("apply_then_fail", method="DELETE", path=ONE_KEY, count=6, drop=True)
    emulator.add_fault("server_error", method="GET", path=KEYS, count=6, status=503)

    def lifetime(res: Resource, seed: int) -> None:
        own = random.Random(seed)
        engine.run(lambda: engine.create(res))
        for operation in res.plan:
            if operation == "update":
                engine.run(lambda: engine.update(res, own))
            elif operation == "refresh":
                engine.run(lambda: engine.refresh(res))
            else:
                engine.run(lambda: engine.delete(res))

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(lifetime, res, rng.random()) for res in resources]
        for future in futures:
            future.result()

    assert engine.operations >= 300, f"only {engine.operations} operations"
    print(f"\n{engine.operations} operations, {len(engine.failures)} failed and re-run")
    requests = emulator.requests()
    fired = {r["fault"] for r in requests if r["fault"]}
    assert fired == {"latency", "rate_limit", "apply_then_fail", "server_error"}, fired
    # Up to 4 calls at once, plus the process's one leftover sweep beside its first write.
    assert 2 <= max_overlap(requests) <= 5, "the server runs up to 4 calls at once"
    live = {k["id"]: k for k in emulator.keys() if k["organization_id"] == ORGANIZATION}
    leaks.add_secrets(*(k["key"] for k in live.values()))
    expected = {res.id: res for res in resources if not res.deleted}
    assert len({res.id for res in resources}) == RESOURCES, "every resource has its own key"
    assert set(live) == set(expected), "exactly the surviving keys, no orphan, none lost"
    for key_id, res in expected.items():
        key = live[key_id]
        actual = (
            key["name"],
            key["max_usage"],
            key["active"],
            sorted(key["models"]),
            key["key"],
        )
        wanted = (
            res.declared["name"],
            res.declared.get("maxUsage"),
            res.declared.get("active", True),
            sorted(res.declared.get("models", [])),
            res.secret,
        )
        assert actual == wanted, f"{res.name} ({key_id})"
        assert res.outputs["name"] == key["name"]
        assert res.outputs.get("maxUsage") == key["max_usage"]
        assert res.outputs["active"] == key["active"]
