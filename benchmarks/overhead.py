"""What the provider adds to one create, and what it costs a program to load it.

    python benchmarks/overhead.py [--latency-ms 20] [--samples 30] [--import-runs 15]

Three measures `floor.py` (the benchmark of record) does not take, each with its target:

1. a Create through the real `python -m pulumi.dynamic` server against the two requests
   it makes, sent bare with a keep-alive `httpx` client (the create under a marker name,
   then the rename to the declared name) to the same emulator (a child process, so it
   shares no interpreter lock with this one), interleaved so that drift hits both, at
   0 ms and at `--latency-ms` added to every Console request;
2. the size of the serialized `__provider` every resource carries in state;
3. the time `import pulumi_edgee` and `from pulumi_edgee import ApiKey, ApiKeyArgs` add to
   a fresh process that imported `pulumi`.

A benchmark, not a test: the times depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import (
    CALL_TIMEOUT,
    IMPORT_MS_TARGET,
    MODELS,
    ORGANIZATION,
    OVERHEAD_TARGET,
    PROJECT,
    PROVIDER,
    PROVIDER_BYTES_TARGET,
    TOKEN,
    check_request,
    create_request,
    load_average,
    ms,
    table,
    verdict,
)

from pulumi_edgee.console import ApiKeyCreate
from pulumi_edgee.testing import configured_server, spawn_emulator
from pulumi_edgee.testing.emulator import EmulatorClient
from pulumi_edgee.testing.provider_server import ProviderServer, decode_properties

ROOT = Path(__file__).resolve().parents[1]
IMPORT_PROBE = (
    "import sys, time, pulumi; before = set(sys.modules); t = time.perf_counter(); "
    "{statement}; elapsed = time.perf_counter() - t; "
    "print(elapsed, len(set(sys.modules) - before))"
)
# The bare import, and what a Pulumi program runs (the package's public names load on
# first use, so the bare import alone may not load the resource).
IMPORT_STATEMENTS = ("import pulumi_edgee", "from pulumi_edgee import ApiKey, ApiKeyArgs")


@dataclass
class Overhead:
    latency_ms: int
    provider: float  # median seconds of one Create through the provider server
    bare: float  # median seconds of the same two requests sent bare (create, rename)


def measure_overhead(
    server: ProviderServer, console: EmulatorClient, latency_ms: int, samples: int
) -> Overhead:
    console.reset()
    if latency_ms:
        console.add_fault("latency", delay_ms=latency_ms, count=None)
    name = f"overhead-{latency_ms}"
    checked = server.stub.Check(check_request(name), timeout=CALL_TIMEOUT)
    request = create_request(name, decode_properties(checked.inputs)[0])
    body = ApiKeyCreate(name=name, models=MODELS, max_usage=1000).payload()
    provider_times: list[float] = []
    bare_times: list[float] = []
    with httpx.Client(
        base_url=console.organization_url,
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
        timeout=30.0,
    ) as client:
        for i in range(samples + 1):  # the first pair warms connections and is dropped
            started = time.perf_counter()
            server.stub.Create(request, timeout=CALL_TIMEOUT)
            provider_elapsed = time.perf_counter() - started
            started = time.perf_counter()
            made = client.post("/api_keys", json=body)
            made.raise_for_status()
            renamed = client.post(f"/api_keys/{made.json()['id']}", json={"name": name})
            renamed.raise_for_status()
            bare_elapsed = time.perf_counter() - started
            if i:
                provider_times.append(provider_elapsed)
                bare_times.append(bare_elapsed)
    return Overhead(latency_ms, statistics.median(provider_times), statistics.median(bare_times))


def measure_import(statement: str, runs: int) -> tuple[float, int]:
    """Median extra seconds of `statement` in fresh processes that imported `pulumi`, and
    the modules it loaded."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    times: list[float] = []
    modules = 0
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-c", IMPORT_PROBE.format(statement=statement)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        ).stdout.split()
        times.append(float(out[0]))
        modules = int(out[1])
    return statistics.median(times), modules


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=20, help="the targeted latency")
    parser.add_argument("--samples", type=int, default=30, help="creates per latency")
    parser.add_argument("--import-runs", type=int, default=15, help="fresh processes per import")
    args = parser.parse_args(argv)
    print(f"load average at start: {load_average():.2f}", flush=True)
    misses: list[str] = []
    rows = []
    with (
        spawn_emulator(token=TOKEN, organization_id=ORGANIZATION) as console,
        configured_server(
            console.url,
            token=TOKEN,
            organization=ORGANIZATION,
            project=PROJECT,
            call_timeout=CALL_TIMEOUT,
        ) as server,
    ):
        for latency in sorted({0, args.latency_ms}):
            found = measure_overhead(server, console, latency, args.samples)
            ratio = found.provider / found.bare
            targeted = latency == args.latency_ms
            ok = ratio <= OVERHEAD_TARGET
            if targeted and not ok:
                misses.append(f"create overhead at {latency} ms")
            rows.append(
                [
                    f"Create at {latency} ms",
                    f"{ms(found.provider)} vs {ms(found.bare)} bare",
                    f"{ratio:.2f}x",
                    f"<= {OVERHEAD_TARGET}x" if targeted else "(info)",
                    verdict(ok) if targeted else "",
                ]
            )
    size_ok = len(PROVIDER) <= PROVIDER_BYTES_TARGET
    if not size_ok:
        misses.append("__provider size")
    rows.append(
        [
            "serialized __provider",
            f"{len(PROVIDER)} bytes",
            "",
            f"<= {PROVIDER_BYTES_TARGET}",
            verdict(size_ok),
        ]
    )
    for statement in IMPORT_STATEMENTS:
        seconds, modules = measure_import(statement, args.import_runs)
        ok = seconds * 1000 <= IMPORT_MS_TARGET
        if not ok:
            misses.append(f"import time of `{statement}`")
        rows.append(
            [
                f"`{statement}` after pulumi",
                f"{seconds * 1000:.1f} ms",
                f"{modules} module(s)",
                f"<= {IMPORT_MS_TARGET:.0f} ms",
                verdict(ok),
            ]
        )
    print(table(["measure", "measured", "detail", "target", ""], rows))
    print("MISSED: " + "; ".join(misses) if misses else "All targets met.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
