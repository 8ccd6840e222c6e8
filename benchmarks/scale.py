"""Scale benchmark: how pulumi-edgee behaves with hundreds of keys in one stack.

    python benchmarks/scale.py [--latency-ms 50] [--sizes 10,100,500] [--emulator process|thread]

Starts the Console API emulator (a child process by default, so its work does not share
this process's GIL) with a `latency` fault on every Console API request, and drives the
real `python -m pulumi.dynamic` provider server over gRPC the way the engine does, four
calls at a time (the server's own limit). For each N: Check every key (untimed), then
the timed Creates; then a `pulumi refresh`, i.e. a Read per key with its old outputs and
inputs, from a fresh provider process (the engine starts one plugin process per CLI
command; its one-time start is paid by an untimed Check first). Console API requests
are counted from the emulator's request log. Engine requests are encoded before the
clock starts and decoded after it stops, so the times are those of the gRPC calls and of
what the server does, not of this harness's own (de)serialisation. CPU per process comes
from /proc (Linux), to show which process a phase waits on.

It prints one table and checks the issue's targets in that run. A benchmark, not a
test: the numbers depend on the machine and on what else runs on it (the header shows
the load average). pytest does not collect it. `benchmarks/call_path.py` breaks one
provider call down step by step.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from common import (
    CALL_TIMEOUT,
    ENGINE_CONCURRENCY,
    MODELS,
    ORGANIZATION,
    PAGE_SIZE,
    PROJECT,
    PROVIDER,
    TOKEN,
    check_request,
    create_request,
    load_average,
    log,
    ms,
    pages_for,
    parallel,
    process_cpu,
    read_request,
    table,
    verdict,
)
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2

from pulumi_edgee.console import ApiKeyCreate
from pulumi_edgee.testing import (
    configured_server,
    run_emulator,
    spawn_emulator,
)
from pulumi_edgee.testing.emulator import EmulatorClient, EmulatorProcess
from pulumi_edgee.testing.provider_server import ProviderServer, decode_properties

ROOT = Path(__file__).resolve().parents[1]
READ_FLOOR_SAMPLES = 200

# Targets from the issue (each checked in the same run).
REQUESTS_TARGET = 1.1  # refresh requests / list pages
WALL_TARGET = 1.2  # wall time / lower bound
OVERHEAD_TARGET = 1.15  # provider Create / bare httpx POST
PROVIDER_BYTES_TARGET = 256
IMPORT_MS_TARGET = 30.0


T = TypeVar("T")
R = TypeVar("R")


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Cpu:
    """CPU seconds spent by each process over one phase (None where not measurable)."""

    server: float | None
    harness: float
    emulator: float | None


class CpuMeter:
    """Measures the CPU the provider server, this harness and the emulator spend."""

    def __init__(self, server: ProviderServer, console: EmulatorClient) -> None:
        # The server's pid is not public API of ProviderServer; read it for accounting only.
        self._server_pid: int | None = server.pid
        self._emulator_pid = console.process.pid if isinstance(console, EmulatorProcess) else None
        self._start = self._sample()

    def _sample(self) -> tuple[float | None, float, float | None]:
        return (
            process_cpu(self._server_pid),
            time.process_time(),
            process_cpu(self._emulator_pid),
        )

    def stop(self) -> Cpu:
        end = self._sample()
        server0, harness0, emulator0 = self._start
        server1, harness1, emulator1 = end
        return Cpu(
            server=None if server0 is None or server1 is None else server1 - server0,
            harness=harness1 - harness0,
            emulator=None if emulator0 is None or emulator1 is None else emulator1 - emulator0,
        )


# -- processes ------------------------------------------------------------------------


@contextmanager
def emulator(kind: str) -> Iterator[EmulatorClient]:
    if kind == "process":
        with spawn_emulator(token=TOKEN, organization_id=ORGANIZATION) as process:
            yield process
    else:
        with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
            yield handle


def provider_server(console: EmulatorClient) -> ProviderServer:
    """A configured provider server, as the engine starts one for each CLI command."""
    return configured_server(
        console.url,
        token=TOKEN,
        organization=ORGANIZATION,
        project=PROJECT,
        call_timeout=CALL_TIMEOUT,
    )


def arm_latency(console: EmulatorClient, latency_ms: int) -> None:
    console.clear_faults()
    if latency_ms > 0:
        console.add_fault("latency", delay_ms=latency_ms, count=None)


# -- engine-shaped requests ---------------------------------------------------------


@dataclass
class CreatedKeys:
    """What the engine's state holds for the benchmark's keys after `pulumi up`, column
    by column (the requests are built from it before the clock starts)."""

    names: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)


# -- measurements -------------------------------------------------------------------


@dataclass
class ReadFloor:
    """Reads sent one at a time once the view is fresh: what one Read costs at least."""

    wall: float  # median seconds per Read
    server_cpu: float | None  # provider server CPU seconds per Read
    requests: int  # Console API requests they made (0 while the view is fresh)


def sequential_reads(
    server: ProviderServer,
    console: EmulatorClient,
    reads: list[provider_pb2.ReadRequest],
    samples: int,
) -> ReadFloor:
    before = len(console.requests())
    meter = CpuMeter(server, console)
    times = []
    for i in range(samples):
        started = time.perf_counter()
        server.stub.Read(reads[i % len(reads)], timeout=CALL_TIMEOUT)
        times.append(time.perf_counter() - started)
    cpu = meter.stop().server
    return ReadFloor(
        wall=statistics.median(times),
        server_cpu=None if cpu is None else cpu / samples,
        requests=len(console.requests()) - before,
    )


@dataclass
class SizeResult:
    n: int
    pages: int
    refresh_requests: int
    refresh_request_kinds: dict[str, int]
    create_wall: float
    create_calls: list[float]
    create_emulator_ms: list[float]
    check_wall: float
    refresh_wall: float
    refresh_calls: list[float]
    walk_start: float  # seconds after the first Read was sent
    walk_end: float
    refresh_first_call_cold: float  # the refresh server's first (warm-up) call
    create_cpu: Cpu
    refresh_cpu: Cpu
    read_floor: ReadFloor


def check_all(server: ProviderServer, names: list[str]) -> tuple[list[dict[str, Any]], float]:
    requests = [check_request(n) for n in names]
    responses, _, wall = parallel(lambda r: server.stub.Check(r, timeout=CALL_TIMEOUT), requests)
    inputs = []
    for response in responses:
        if response.failures:
            raise RuntimeError(f"check failed: {response.failures}")
        inputs.append(decode_properties(response.inputs)[0])
    return inputs, wall


def emulator_durations(console: EmulatorClient, method: str) -> list[float]:
    return [float(r["duration_ms"]) for r in console.requests() if r["method"] == method]


def run_size(
    n: int, up: ProviderServer, console: EmulatorClient, latency_ms: int, label: str
) -> SizeResult:
    console.reset()
    arm_latency(console, latency_ms)
    stack = CreatedKeys(names=[f"{label}-{n}-{i:04d}" for i in range(n)])

    log(f"N={n}: check + create")
    stack.inputs, check_wall = check_all(up, stack.names)
    creates = [create_request(nm, ins) for nm, ins in zip(stack.names, stack.inputs, strict=True)]
    console.clear_requests()
    meter = CpuMeter(up, console)
    responses, create_calls, create_wall = parallel(
        lambda r: up.stub.Create(r, timeout=CALL_TIMEOUT), creates
    )
    create_cpu = meter.stop()
    create_emulator_ms = emulator_durations(console, "POST")
    for response in responses:
        stack.ids.append(response.id)
        stack.outputs.append(decode_properties(response.properties)[0])
    if len(set(stack.ids)) != n or len(console.keys()) != n:
        raise RuntimeError(f"expected {n} distinct keys after the creates")

    log(f"N={n}: refresh from a fresh provider process")
    reads = [
        read_request(nm, key_id, outs, ins)
        for nm, key_id, outs, ins in zip(
            stack.names, stack.ids, stack.outputs, stack.inputs, strict=True
        )
    ]
    with provider_server(console) as refresher:
        # Load the provider (dill, configure, lazy imports, session) without touching the
        # API, so the timed refresh is not charged the process's one-time start.
        cold_started = time.perf_counter()
        refresher.stub.Check(check_request("warm-up"), timeout=CALL_TIMEOUT)
        cold = time.perf_counter() - cold_started
        console.clear_requests()
        sent_at = time.time()
        meter = CpuMeter(refresher, console)
        read_responses, refresh_calls, refresh_wall = parallel(
            lambda r: refresher.stub.Read(r, timeout=CALL_TIMEOUT), reads
        )
        refresh_cpu = meter.stop()
        log_entries = console.requests()
        # The per-Read floor: Reads one at a time, answered from the view just taken.
        floor = sequential_reads(refresher, console, reads, READ_FLOOR_SAMPLES)
    if [r.id for r in read_responses] != stack.ids:
        raise RuntimeError("a refresh dropped or renamed a key that exists")
    kinds = Counter(
        f"{r['method']} {'list' if r['path'].endswith('/api_keys') else 'one key'} {r['status']}"
        for r in log_entries
    )
    lists = [r for r in log_entries if r["method"] == "GET" and r["path"].endswith("/api_keys")]
    walk_start = min((parse_time(r["started_at"]) for r in lists), default=sent_at) - sent_at
    walk_end = (
        max(
            (parse_time(r["started_at"]) + float(r["duration_ms"]) / 1000 for r in lists),
            default=sent_at,
        )
        - sent_at
    )
    return SizeResult(
        n=n,
        pages=pages_for(n),
        refresh_requests=len(log_entries),
        refresh_request_kinds=dict(kinds),
        create_wall=create_wall,
        create_calls=create_calls,
        create_emulator_ms=create_emulator_ms,
        check_wall=check_wall,
        refresh_wall=refresh_wall,
        refresh_calls=refresh_calls,
        walk_start=walk_start,
        walk_end=walk_end,
        refresh_first_call_cold=cold,
        create_cpu=create_cpu,
        refresh_cpu=refresh_cpu,
        read_floor=floor,
    )


@dataclass
class OverheadResult:
    latency_ms: int
    provider: float  # median seconds of one Create through the provider server
    bare: float  # median seconds of one bare httpx POST
    emulator_provider_ms: float  # median emulator-side duration of the provider's POSTs
    emulator_bare_ms: float


def measure_overhead(
    up: ProviderServer, console: EmulatorClient, latency_ms: int, samples: int
) -> OverheadResult:
    """Sequential Creates through the provider server against bare keep-alive httpx
    POSTs of the same body to the same emulator, interleaved so drift hits both."""
    console.reset()
    arm_latency(console, latency_ms)
    name = f"overhead-{latency_ms}"
    inputs, _ = check_all(up, [name])
    request = create_request(name, inputs[0])
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
            up.stub.Create(request, timeout=CALL_TIMEOUT)
            provider_elapsed = time.perf_counter() - started
            started = time.perf_counter()
            client.post("/api_keys", json=body).raise_for_status()
            bare_elapsed = time.perf_counter() - started
            if i:
                provider_times.append(provider_elapsed)
                bare_times.append(bare_elapsed)
    posts = [r for r in console.requests() if r["method"] == "POST"][2:]
    return OverheadResult(
        latency_ms=latency_ms,
        provider=statistics.median(provider_times),
        bare=statistics.median(bare_times),
        emulator_provider_ms=statistics.median(float(r["duration_ms"]) for r in posts[0::2]),
        emulator_bare_ms=statistics.median(float(r["duration_ms"]) for r in posts[1::2]),
    )


IMPORT_PROBE = (
    "import sys, time, pulumi; before = set(sys.modules); t = time.perf_counter(); "
    "{statement}; elapsed = time.perf_counter() - t; "
    "print(elapsed, len(set(sys.modules) - before))"
)
# What the issue names, and what a Pulumi program actually runs (the package's public
# names load on first use, so the bare import alone may not load the resource).
IMPORT_STATEMENTS = ("import pulumi_edgee", "from pulumi_edgee import ApiKey, ApiKeyArgs")


@dataclass
class ImportResult:
    statement: str
    seconds: float  # median over fresh processes
    modules: int  # modules it added to sys.modules


def measure_import(statement: str, runs: int) -> ImportResult:
    """Median extra seconds of `statement` in fresh processes that imported `pulumi`."""
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
    return ImportResult(statement, statistics.median(times), modules)


@dataclass
class GrpcFloor:
    """Sequential round trips through the provider server, no Console API request."""

    empty_call: float  # median seconds of GetPluginInfo
    check_call: float  # median seconds of a Check (the SDK's (de)serialisation + provider)
    server_cpu_empty: float | None  # server CPU seconds per empty call
    server_cpu_check: float | None


def measure_grpc_floor(up: ProviderServer, console: EmulatorClient, samples: int) -> GrpcFloor:
    empty = empty_pb2.Empty()
    check = check_request("floor")
    for _ in range(5):
        up.stub.GetPluginInfo(empty, timeout=CALL_TIMEOUT)
        up.stub.Check(check, timeout=CALL_TIMEOUT)

    def run(call: Callable[[], object]) -> tuple[float, float | None]:
        meter = CpuMeter(up, console)
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        cpu = meter.stop().server
        return statistics.median(times), None if cpu is None else cpu / samples

    empty_s, empty_cpu = run(lambda: up.stub.GetPluginInfo(empty, timeout=CALL_TIMEOUT))
    check_s, check_cpu = run(lambda: up.stub.Check(check, timeout=CALL_TIMEOUT))
    return GrpcFloor(empty_s, check_s, empty_cpu, check_cpu)


# -- report -------------------------------------------------------------------------


@dataclass
class Results:
    sizes: list[SizeResult]
    overheads: list[OverheadResult]
    floor: GrpcFloor
    imports: list[ImportResult]
    load: tuple[float, float]  # 1-minute load average at the start and at the end


def cpu_cells(cpu: Cpu, calls: int) -> list[str]:
    def each(value: float | None) -> str:
        return "n/a" if value is None else f"{value / calls * 1000:.2f} ms"

    return [each(cpu.server), each(cpu.harness), each(cpu.emulator)]


def read_floor_note(s: SizeResult, latency: int) -> str:
    """The refresh against a bound that also counts each Read's own server time: the
    server runs one call at a time (GIL), and the engine sends at most 4."""
    if s.read_floor.server_cpu is None:
        return ""
    bound = s.pages * latency / 1000 + s.n * s.read_floor.server_cpu
    return f"; + N x 1 Read's server CPU: {ms(bound)} ({s.refresh_wall / bound:.2f}x)"


def report(args: argparse.Namespace, results: Results) -> tuple[str, list[str]]:
    latency = args.latency_ms
    misses: list[str] = []
    out: list[str] = [
        f"pulumi-edgee scale benchmark: {latency} ms added to every Console API request, "
        f"emulator as a {args.emulator}, {ENGINE_CONCURRENCY} provider calls at a time, "
        f"list pages of {PAGE_SIZE}",
        f"machine: {os.cpu_count()} CPUs, load average {results.load[0]:.2f} at the start and "
        f"{results.load[1]:.2f} at the end (other work on the machine skews the times)",
        "",
        "1. Console API requests per refresh of N keys",
    ]
    rows = []
    for s in results.sizes:
        ratio = s.refresh_requests / s.pages
        ok = ratio <= REQUESTS_TARGET
        if not ok:
            misses.append(f"refresh requests N={s.n}")
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(s.refresh_request_kinds.items()))
        rows.append(
            [
                str(s.n),
                str(s.refresh_requests),
                str(s.pages),
                str(s.n * s.pages),
                f"{ratio:.2f}x",
                f"<= {REQUESTS_TARGET}x",
                verdict(ok),
                kinds,
            ]
        )
    out.append(
        table(
            [
                "N",
                "requests",
                "lower bound (pages)",
                "naive (N x pages)",
                "ratio",
                "target",
                "",
                "requests seen",
            ],
            rows,
        )
    )

    out += [
        "",
        f"2. Wall time with {latency} ms added latency ({ENGINE_CONCURRENCY} calls at a time)",
    ]
    rows = []
    for s in results.sizes:
        rounds = math.ceil(s.n / ENGINE_CONCURRENCY) * latency / 1000
        for op, wall, bound, note in (
            (
                "create",
                s.create_wall,
                s.n * latency / 1000 / ENGINE_CONCURRENCY,
                f"N x {latency} ms / {ENGINE_CONCURRENCY}; in whole rounds of "
                f"{ENGINE_CONCURRENCY} {ms(rounds)} ({s.create_wall / rounds:.2f}x)"
                if rounds
                else "",
            ),
            (
                "refresh",
                s.refresh_wall,
                s.pages * latency / 1000,
                f"one list walk: {s.pages} page(s) x {latency} ms" + read_floor_note(s, latency),
            ),
        ):
            if not bound:  # no added latency: nothing to compare with
                rows.append([op, str(s.n), ms(wall), "-", "-", "(info)", "", note])
                continue
            ratio = wall / bound
            ok = ratio <= WALL_TARGET
            if not ok:
                misses.append(f"{op} wall time N={s.n}")
            rows.append(
                [
                    op,
                    str(s.n),
                    ms(wall),
                    ms(bound),
                    f"{ratio:.2f}x",
                    f"<= {WALL_TARGET}x",
                    verdict(ok),
                    note,
                ]
            )
    out.append(
        table(["operation", "N", "measured", "lower bound", "ratio", "target", "", "bound"], rows)
    )

    out += ["", "   where a create's time goes (median per call; CPU = process CPU / N)"]
    rows = []
    for s in results.sizes:
        per_call = statistics.median(s.create_calls)
        emu = statistics.median(s.create_emulator_ms) / 1000 if s.create_emulator_ms else 0.0
        first_round = statistics.median(s.create_calls[:ENGINE_CONCURRENCY])
        rows.append(
            [
                str(s.n),
                ms(per_call),
                ms(first_round),
                ms(emu),
                ms(per_call - emu),
                *cpu_cells(s.create_cpu, s.n),
                ms(s.check_wall),
            ]
        )
    out.append(
        table(
            [
                "N",
                "Create call",
                "first 4 calls",
                "in emulator (incl. latency)",
                "outside the emulator",
                "CPU server",
                "CPU harness",
                "CPU emulator",
                "N Checks before",
            ],
            rows,
        )
    )
    out += ["", "   where a refresh's time goes (times from the first Read sent)"]
    rows = []
    for s in results.sizes:
        after = s.refresh_wall - s.walk_end
        rows.append(
            [
                str(s.n),
                ms(s.walk_start),
                ms(s.walk_end - s.walk_start),
                ms(after),
                f"{after / s.n * 1000:.2f} ms",
                *cpu_cells(s.refresh_cpu, s.n),
                ms(s.read_floor.wall),
                "n/a" if s.read_floor.server_cpu is None else ms(s.read_floor.server_cpu),
                ms(s.refresh_first_call_cold),
            ]
        )
    out.append(
        table(
            [
                "N",
                "first list request at",
                "list walk",
                "Reads after the walk",
                "per Read",
                "CPU server",
                "CPU harness",
                "CPU emulator",
                "1 Read alone",
                "its server CPU",
                "fresh server's 1st call (untimed)",
            ],
            rows,
        )
    )

    out += [
        "",
        f"3. Provider overhead per create (sequential, median of {args.samples}; bare = "
        "httpx.Client.post of the same body to the same emulator, keep-alive)",
    ]
    rows = []
    for o in results.overheads:
        ratio = o.provider / o.bare
        targeted = o.latency_ms == latency
        ok = ratio <= OVERHEAD_TARGET
        if targeted and not ok:
            misses.append(f"overhead per create at {o.latency_ms} ms")
        rows.append(
            [
                f"{o.latency_ms} ms",
                ms(o.provider),
                ms(o.bare),
                f"{ratio:.2f}x",
                f"<= {OVERHEAD_TARGET}x" if targeted else "(info)",
                verdict(ok) if targeted else "",
                ms(o.provider - o.bare),
                f"{o.emulator_provider_ms:.1f} / {o.emulator_bare_ms:.1f} ms",
            ]
        )
    out.append(
        table(
            [
                "latency",
                "provider Create",
                "bare httpx",
                "ratio",
                "target",
                "",
                "difference",
                "in emulator provider / bare",
            ],
            rows,
        )
    )
    f = results.floor

    def server_cpu(value: float | None) -> str:
        return "n/a" if value is None else ms(value)

    out.append(
        f"   floor of a provider call, sequential: empty gRPC call (GetPluginInfo) "
        f"{ms(f.empty_call)} (server CPU {server_cpu(f.server_cpu_empty)}); "
        f"Check, no HTTP {ms(f.check_call)} (server CPU {server_cpu(f.server_cpu_check)})"
    )

    size_ok = len(PROVIDER) <= PROVIDER_BYTES_TARGET
    if not size_ok:
        misses.append("__provider size")
    rows = [
        [
            "serialized __provider",
            f"{len(PROVIDER)} bytes",
            f"<= {PROVIDER_BYTES_TARGET}",
            verdict(size_ok),
            "base64 of the pickle (class by reference)",
        ],
    ]
    for result in results.imports:
        import_ok = result.seconds * 1000 <= IMPORT_MS_TARGET
        if not import_ok:
            misses.append(f"import time of `{result.statement}`")
        rows.append(
            [
                f"`{result.statement}` after pulumi",
                f"{result.seconds * 1000:.1f} ms",
                f"<= {IMPORT_MS_TARGET:.0f} ms",
                verdict(import_ok),
                f"median of {args.import_runs} fresh processes; {result.modules} module(s) loaded",
            ]
        )
    out += [
        "",
        "4. Footprint",
        table(["measure", "measured", "target", "", "detail"], rows),
        "",
        "MISSED: " + "; ".join(misses) if misses else "All targets met.",
    ]
    return "\n".join(out), misses


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark pulumi-edgee at scale against the local Console API emulator."
    )
    parser.add_argument("--latency-ms", type=int, default=50, help="added latency per request")
    parser.add_argument("--sizes", default="10,100,500", help="comma-separated key counts")
    parser.add_argument(
        "--emulator",
        choices=("process", "thread"),
        default="process",
        help="run the emulator as a child process (default) or in this process's threads",
    )
    parser.add_argument("--samples", type=int, default=30, help="samples for the overhead")
    parser.add_argument("--import-runs", type=int, default=7, help="processes for import time")
    args = parser.parse_args(argv)
    try:
        args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if not args.size_list or min(args.size_list) < 1 or args.latency_ms < 0 or args.samples < 1:
        parser.error("sizes must be >= 1, latency >= 0 and samples >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_at_start = load_average()
    label = f"bench{os.getpid()}"
    with emulator(args.emulator) as console:
        log(f"emulator at {console.url}")
        with provider_server(console) as up:
            sizes = [run_size(n, up, console, args.latency_ms, label) for n in args.size_list]
            log("overhead per create")
            overheads = [measure_overhead(up, console, args.latency_ms, args.samples)]
            if args.latency_ms:
                overheads.append(measure_overhead(up, console, 0, args.samples))
            floor = measure_grpc_floor(up, console, max(100, args.samples))
    log("import time")
    imports = [measure_import(s, args.import_runs) for s in IMPORT_STATEMENTS]
    text, _ = report(
        args, Results(sizes, overheads, floor, imports, (load_at_start, load_average()))
    )
    print(text)
    log(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
