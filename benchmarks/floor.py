"""pulumi-edgee against the SDK's floor: what the provider adds to each call over a
trivial dynamic provider (`floor_provider.FloorProvider`, same payload) served by the
same `python -m pulumi.dynamic` server, in the same run.

    python benchmarks/floor.py [--latency-ms 20] [--large] [--cliff-n 1000]

Per N (10, 100, 1,000; 10,000 with --large) it fills the emulator (creates through the
provider for N <= --max-creates, else straight into the emulator's store), then times a
`pulumi refresh` (a Read per key, four at a time, from a fresh provider process) and the
creates, each next to the floor provider doing the same calls. It adds a cliff case (a
list walk longer than the reuse window) and a refresh with 10 % of the keys deleted out
of band, and prints every target of the issue with PASS or MISS. Console API requests
come from the emulator's log and CPU from /proc, so the request-count and CPU targets
hold under machine load; wall-time ratios do not (the header shows the load).
"""

from __future__ import annotations

import argparse
import compileall
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
from common import (
    CALL_TIMEOUT,
    CPU_RATIO,
    FIRST_CALL_MS,
    MODELS,
    ORGANIZATION,
    PROJECT,
    PROVIDER,
    RSS_MB,
    TOKEN,
    WALL_RATIO,
    load_average,
    log,
    ms,
    pages_for,
    parallel,
    process_cpu,
    table,
    urn,
    verdict,
)
from floor_provider import FloorProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

import pulumi_edgee
from pulumi_edgee.console import ConsoleClient
from pulumi_edgee.emulator.keys import StoredKey, format_timestamp
from pulumi_edgee.testing import EmulatorHandle, ProviderServer, configured_server, run_emulator
from pulumi_edgee.testing import provider_server as requests

FLOOR = serialize_provider(FloorProvider())
HERE = Path(__file__).resolve().parent
COLD_RUNS = 3


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The floor provider is pickled by reference: the server must import it too."""
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, **(extra or {})}


@contextmanager
def server(
    console: EmulatorHandle, extra: dict[str, str] | None = None
) -> Iterator[ProviderServer]:
    """A fresh, configured provider process, as the engine starts one per CLI command."""
    with configured_server(
        console.url,
        token=TOKEN,
        organization=ORGANIZATION,
        project=PROJECT,
        env=server_env(extra),
        call_timeout=CALL_TIMEOUT,
    ) as srv:
        yield srv


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_of(srv: ProviderServer) -> float:
    """CPU seconds of the server's live threads, to the nanosecond where the kernel keeps
    scheduler statistics (/proc ticks are 10 ms, too coarse for 10 calls)."""
    try:
        return (
            sum(
                int(stat.read_text().split()[0])
                for stat in Path(f"/proc/{srv.pid}/task").glob("*/schedstat")
            )
            / 1e9
        )
    except (OSError, ValueError, IndexError):
        return process_cpu(srv.pid) or 0.0


def inputs_for(name: str) -> dict[str, Any]:
    return {"name": name, "models": MODELS, "maxUsage": 1000}


def create_request(name: str, blob: str) -> provider_pb2.CreateRequest:
    return requests.create_request(urn(name), {**inputs_for(name), "__provider": blob})


def state_outputs(key: StoredKey, blob: str) -> dict[str, Any]:
    """What the state holds for a key after `pulumi up` (the provider's fourteen outputs)."""
    return {
        "name": key.name,
        "type": key.type,
        "codingAssistant": key.coding_assistant,
        "models": list(key.models),
        "maxUsage": key.max_usage,
        "expiresInDays": None,
        "email": key.email,
        "active": key.active,
        "organizationId": key.organization_id,
        "debugMode": key.debug_mode,
        "createdAt": format_timestamp(key.created_at),
        "expiresAt": None,
        "lastUsedAt": None,
        "key": key.secret,
        "__provider": blob,
    }


def read_requests(keys: Sequence[StoredKey], blob: str) -> list[provider_pb2.ReadRequest]:
    return [
        requests.read_request(key.id, urn(key.name), state_outputs(key, blob), inputs_for(key.name))
        for key in keys
    ]


@dataclass
class Phase:
    """One batch of calls: wall seconds, server CPU seconds, Console API requests."""

    wall: float
    cpu: float
    requests: int
    lists: int
    rss: float


def run_calls(
    srv: ProviderServer,
    console: EmulatorHandle,
    call: Callable[[Any], Any],
    requests: Sequence[Any],
) -> tuple[Phase, list[Any]]:
    console.clear_requests()
    cpu = cpu_of(srv)
    responses, _, wall = parallel(call, requests)
    cpu = cpu_of(srv) - cpu
    log_entries = console.requests()
    lists = sum(1 for r in log_entries if r["method"] == "GET" and r["path"].endswith("/api_keys"))
    return Phase(wall, cpu, len(log_entries), lists, rss_mb(srv.pid)), responses


def reads(srv: ProviderServer) -> Callable[[provider_pb2.ReadRequest], Any]:
    return lambda r: srv.stub.Read(r, timeout=CALL_TIMEOUT)


def creates(srv: ProviderServer) -> Callable[[provider_pb2.CreateRequest], Any]:
    return lambda r: srv.stub.Create(r, timeout=CALL_TIMEOUT)


def check_request(name: str, blob: str) -> provider_pb2.CheckRequest:
    return requests.check_request(urn(name), {}, {**inputs_for(name), "__provider": blob})


def refused_read(blob: str) -> provider_pb2.ReadRequest:
    """A Read whose state names another organization: pulumi-edgee loads and builds all
    a Read or a Create needs (client, models, session), then refuses before any request.
    The floor answers it as any Read."""
    state = {"organizationId": "org_elsewhere", "__provider": blob}
    return requests.read_request("key_warm_up", urn("warm-up"), state, {})


def read_refused(srv: ProviderServer, blob: str) -> None:
    try:
        srv.stub.Read(refused_read(blob), timeout=CALL_TIMEOUT)
    except grpc.RpcError as error:
        if "refused" not in str(error.details()):
            raise


def compile_package() -> None:
    """Byte-compile the package as installing its wheel does, so that a checkout run with
    PYTHONDONTWRITEBYTECODE=1 (or read-only) does not charge every fresh process's first
    call the compiling of every module."""
    compileall.compile_dir(Path(pulumi_edgee.__file__).parent, quiet=1)


def first_call(console: EmulatorHandle, blob: str, *, read: bool = False) -> float:
    """Seconds of the first call in a fresh, configured provider process: a Check (as in
    `pulumi up`), or a Read (as in `pulumi refresh`, which loads the Console API client)."""
    with server(console) as srv:
        started = time.perf_counter()
        if read:
            read_refused(srv, blob)
        else:
            srv.stub.Check(check_request("first-call", blob), timeout=CALL_TIMEOUT)
        return time.perf_counter() - started


# What the first call loads, in the order it loads it, after what the SDK server has:
# a Check loads the first two; a Read or a Create loads the rest on its first call.
FIRST_CALL_STEPS = (
    ("pydantic", "import pydantic"),
    (
        "input validation and settings (Check)",
        "import pulumi_edgee.provider, pulumi_edgee.checks, pulumi_edgee.settings",
    ),
    ("httpx and what it pulls in", "import httpx"),
    ("console client and wire models", "import pulumi_edgee.console.client"),
    ("the rest of the provider", "import pulumi_edgee.lifecycle"),
)
BREAKDOWN_PROBE = """
import sys, time, pulumi.dynamic, pulumi.dynamic.dynamic, grpc, dill
for statement in sys.argv[1:]:
    t = time.process_time()
    exec(statement)
    print((time.process_time() - t) * 1000)
"""


def first_call_breakdown() -> list[tuple[str, float]]:
    """CPU ms of each step of the first call's imports, in one fresh interpreter."""
    out = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", BREAKDOWN_PROBE, *(stmt for _, stmt in FIRST_CALL_STEPS)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **server_env()},
    ).stdout.split()
    return [(label, float(value)) for (label, _), value in zip(FIRST_CALL_STEPS, out, strict=True)]


@contextmanager
def warm_server(
    console: EmulatorHandle, extra: dict[str, str] | None = None, *, blob: str = PROVIDER
) -> Iterator[ProviderServer]:
    """A fresh provider process past its first call (measured apart, in `first_call`),
    so that per-call figures are not charged the process's one-time start. The floor
    gets a fresh process too, so both pay the SDK server's own first-use costs."""
    with server(console, extra) as srv:
        srv.stub.Check(check_request("warm-up", blob), timeout=CALL_TIMEOUT)
        read_refused(srv, blob)
        yield srv


def walk_seconds(console: EmulatorHandle) -> float:
    """One bare list walk with the emulator's latency: the refresh's lower bound."""
    with ConsoleClient(console.url, ORGANIZATION, TOKEN) as client:
        started = time.perf_counter()
        client.list_api_keys()
        return time.perf_counter() - started


def walk_cpu(console: EmulatorHandle) -> float:
    """CPU seconds of one list walk by a warm client of the same code in this process
    (least of three; the client runs on the calling thread): an estimate of what the
    refresh's one walk costs the provider process, which the floor never pays."""
    with ConsoleClient(console.url, ORGANIZATION, TOKEN) as client:
        client.list_api_keys()
        costs = []
        for _ in range(3):
            started = time.thread_time()
            client.list_api_keys()
            costs.append(time.thread_time() - started)
    return min(costs)


def rtt_seconds(console: EmulatorHandle, samples: int = 10) -> float:
    """Median round trip of one bare request (a one-key list page) with the latency."""
    with httpx.Client(
        base_url=console.organization_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            client.get("/api_keys", params={"limit": 1}).raise_for_status()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def fill(console: EmulatorHandle, n: int, label: str) -> None:
    for i in range(n):
        console.backend.create_key(
            ORGANIZATION,
            {"name": f"{label}-{i:05d}", "models": MODELS, "max_usage": 1000},
        )


@dataclass
class SizeResult:
    n: int
    pages: int
    walk: float
    refresh: Phase
    floor_refresh: Phase
    create: Phase | None
    floor_create: Phase | None
    rtt: float
    walk_cpu: float


def run_size(console: EmulatorHandle, n: int, args: Any) -> SizeResult:
    console.reset()
    label = f"k{n}"
    create = floor_create = None
    if args.latency_ms:
        console.add_fault("latency", delay_ms=args.latency_ms, count=None)
    rtt = rtt_seconds(console)
    if n <= args.max_creates:
        log(f"N={n}: {n} creates, then the floor's")
        names = [f"{label}-{i:05d}" for i in range(n)]
        with warm_server(console) as up:
            create, _ = run_calls(
                up, console, creates(up), [create_request(x, PROVIDER) for x in names]
            )
        with warm_server(console, blob=FLOOR) as bare:
            floor_create, _ = run_calls(
                bare, console, creates(bare), [create_request(x, FLOOR) for x in names]
            )
    else:
        log(f"N={n}: filling the emulator's store")
        fill(console, n, label)
    keys = [k for k in console.backend.all_keys() if k.organization_id == ORGANIZATION]
    walk = walk_seconds(console)
    mine, floors = [], []
    for round_ in range(1 if n > args.max_creates else args.repeat):
        log(f"N={n}: refresh, then the floor's ({round_ + 1})")
        with warm_server(console) as refresher:
            refresh, responses = run_calls(
                refresher, console, reads(refresher), read_requests(keys, PROVIDER)
            )
        if [r.id for r in responses] != [k.id for k in keys]:
            raise RuntimeError("a refresh dropped a key that exists")
        mine.append(refresh)
        with warm_server(console, blob=FLOOR) as bare:
            floors.append(run_calls(bare, console, reads(bare), read_requests(keys, FLOOR))[0])
    return SizeResult(
        n,
        pages_for(n),
        walk,
        least(mine),
        least(floors),
        create,
        floor_create,
        rtt,
        walk_cpu(console),
    )


def least(phases: list[Phase]) -> Phase:
    """The least disturbed of repeated rounds: least wall and CPU, most requests."""
    return Phase(
        wall=min(p.wall for p in phases),
        cpu=min(p.cpu for p in phases),
        requests=max(p.requests for p in phases),
        lists=max(p.lists for p in phases),
        rss=phases[-1].rss,
    )


@dataclass
class Special:
    label: str
    n: int
    requests: int
    bound: int
    detail: str


def cliff_case(console: EmulatorHandle, n: int, latency_ms: int) -> Special:
    """A walk longer than the reuse window: the reads that waited must use it."""
    console.reset()
    fill(console, n, "cliff")
    console.add_fault("latency", delay_ms=max(latency_ms, 20), count=None)
    walk = walk_seconds(console)
    window = walk / 2
    keys = console.backend.all_keys()
    with warm_server(console, {"EDGEE_READ_REUSE_SECONDS": f"{window:.3f}"}) as refresher:
        phase, _ = run_calls(refresher, console, reads(refresher), read_requests(keys, PROVIDER))
    pages = pages_for(n)
    return Special(
        "cliff: walk longer than the reuse window",
        n,
        phase.requests,
        pages + 2,
        f"walk {ms(walk)}, window {ms(window)}, refresh {ms(phase.wall)}",
    )


def deleted_case(console: EmulatorHandle, n: int, latency_ms: int) -> Special:
    """10 % of the keys deleted in the Console: confirmed together, not one walk each."""
    console.reset()
    fill(console, n, "gone")
    keys = console.backend.all_keys()
    gone = {k.id for k in keys[::10]}
    for key_id in gone:
        console.backend.delete_key(ORGANIZATION, key_id)
    if latency_ms:
        console.add_fault("latency", delay_ms=latency_ms, count=None)
    with warm_server(console) as refresher:
        phase, responses = run_calls(
            refresher, console, reads(refresher), read_requests(keys, PROVIDER)
        )
    dropped = {k.id for k, r in zip(keys, responses, strict=True) if not r.id}
    if dropped != gone:
        raise RuntimeError("the refresh did not drop exactly the deleted keys")
    pages = pages_for(n - len(gone))
    return Special(
        "10 % deleted out of band",
        n,
        phase.requests,
        2 * pages + 2,
        f"{len(gone)} keys dropped, refresh {ms(phase.wall)}",
    )


def per_create_requests(sizes: Sequence[SizeResult]) -> float:
    return min((s.create.requests / s.n for s in sizes if s.create is not None), default=2.0)


def report(
    args: Any,
    sizes: list[SizeResult],
    specials: list[Special],
    cold: tuple[float, ...],
    breakdown: list[tuple[str, float]],
    load: tuple[float, float],
) -> tuple[str, list[str]]:
    misses: list[str] = []

    def check(name: str, ok: bool) -> str:
        if not ok:
            misses.append(name)
        return verdict(ok)

    out = [
        f"pulumi-edgee against the SDK floor: {args.latency_ms} ms added per Console API "
        "request, 4 calls at a time, list pages of 100",
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} at the start, "
        f"{load[1]:.2f} at the end (wall-time ratios suffer from load; counts and CPU less); "
        f"refresh: least of {args.repeat} rounds for N <= {args.max_creates}",
        "",
        "1. Console API requests per refresh (target: <= pages + 2)",
    ]
    rows = [
        [
            str(s.n),
            str(s.refresh.requests),
            str(s.pages + 2),
            check(f"refresh requests N={s.n}", s.refresh.requests <= s.pages + 2),
        ]
        for s in sizes
    ]
    rows += [
        [
            f"{sp.n} ({sp.label})",
            str(sp.requests),
            str(sp.bound),
            check(sp.label, sp.requests <= sp.bound),
        ]
        for sp in specials
    ]
    out.append(table(["N", "requests", "target", ""], rows))
    out.append("   " + "; ".join(f"{sp.label}: {sp.detail}" for sp in specials))

    out += ["", "2. List requests during N creates (target: <= 2, N <= 1,000)"]
    rows = [
        [
            str(s.n),
            str(s.create.lists),
            str(s.create.requests),
            f"{s.create.requests / s.n:.2f}",
            check(f"lists during creates N={s.n}", s.create.lists <= 2),
        ]
        for s in sizes
        if s.create is not None
    ]
    out.append(table(["N", "list requests", "all requests", "per create", ""], rows))

    out += ["", f"3. Wall time against walk/RTT + the floor (target: <= {WALL_RATIO}x)"]
    rows = []

    def wall_row(op: str, n: int, wall: float, bound: float, shown: str) -> list[str]:
        ratio = wall / bound
        ok = check(f"{op} wall N={n}", ratio <= WALL_RATIO)
        return [op, str(n), ms(wall), shown, f"{ratio:.2f}x", ok]

    for s in sizes:
        rows.append(
            wall_row(
                "refresh",
                s.n,
                s.refresh.wall,
                s.walk + s.floor_refresh.wall,
                f"walk {ms(s.walk)} + floor {ms(s.floor_refresh.wall)}",
            )
        )
        if s.create is not None and s.floor_create is not None:
            per = s.create.requests / s.n
            rows.append(
                wall_row(
                    "create",
                    s.n,
                    s.create.wall,
                    per * s.rtt * s.n / 4 + s.floor_create.wall,
                    f"{per:.2f} x RTT {ms(s.rtt)} x N/4 + floor {ms(s.floor_create.wall)}",
                )
            )
    out.append(table(["operation", "N", "measured", "bound", "ratio", ""], rows))
    out += [
        f"   creates run four at a time, so N creates take ceil(N/4) waves of "
        f"{per_create_requests(sizes):.0f} requests in a row; the least wall any provider "
        "can reach: "
        + "; ".join(
            f"N={s.n}: {math.ceil(s.n / 4)} waves x {s.create.requests / s.n:.2f} x RTT "
            f"= {ms(math.ceil(s.n / 4) * s.create.requests / s.n * s.rtt)}"
            for s in sizes
            if s.create is not None
        )
    ]

    out += [
        "",
        f"4. Provider server CPU per call against the floor's (Read target: <= {CPU_RATIO}x)",
    ]
    rows = []
    for s in sizes:
        mine, floor = s.refresh.cpu / s.n, s.floor_refresh.cpu / s.n
        ok = mine <= CPU_RATIO * floor
        rows.append(
            [
                "Read",
                str(s.n),
                ms(mine),
                ms(floor),
                f"{mine / floor:.2f}x" if floor else "-",
                check(f"CPU per Read N={s.n}", ok),
            ]
        )
        if s.create is not None and s.floor_create is not None:
            mine, floor = s.create.cpu / s.n, s.floor_create.cpu / s.n
            rows.append(
                [
                    "Create",
                    str(s.n),
                    ms(mine),
                    ms(floor),
                    f"{mine / floor:.2f}x" if floor else "-",
                    "(info)",
                ]
            )
    out.append(table(["call", "N", "pulumi-edgee", "floor", "ratio", ""], rows))
    out.append(
        "   of which the refresh's one list walk (a warm client's, measured apart), which the "
        "floor never makes: "
        + "; ".join(
            f"N={s.n}: {ms(s.walk_cpu / s.n)} per Read, leaving "
            f"{(s.refresh.cpu - s.walk_cpu) / s.floor_refresh.cpu:.2f}x"
            for s in sizes
            if s.floor_refresh.cpu
        )
    )

    edgee, floor, edgee_read, floor_read = cold
    out += [
        "",
        f"5. First call in a fresh provider process, median of {COLD_RUNS} "
        f"(Check target: <= floor + {FIRST_CALL_MS:.0f} ms)",
        table(
            ["call", "pulumi-edgee", "floor", "difference", ""],
            [
                [
                    "Check (pulumi up)",
                    ms(edgee),
                    ms(floor),
                    ms(edgee - floor),
                    check("first call", (edgee - floor) * 1000 <= FIRST_CALL_MS),
                ],
                [
                    "Read (pulumi refresh)",
                    ms(edgee_read),
                    ms(floor_read),
                    ms(edgee_read - floor_read),
                    "(info)",
                ],
            ],
        ),
        "   its imports, CPU in a fresh interpreter that has the SDK server's: "
        + "; ".join(f"{label} {value:.0f} ms" for label, value in breakdown),
    ]

    out += ["", f"6. Provider process RSS after the refresh (target: <= {RSS_MB:.0f} MB at 10,000)"]
    rows = []
    for s in sizes:
        target = ""
        if s.n == 10_000:
            target = check("RSS at 10,000", s.refresh.rss <= RSS_MB)
        rows.append([str(s.n), f"{s.refresh.rss:.1f} MB", f"{s.floor_refresh.rss:.1f} MB", target])
    out.append(table(["N", "pulumi-edgee", "floor", ""], rows))
    if len(sizes) > 1:
        low, high = sizes[0], sizes[-1]
        growth = (high.refresh.rss - low.refresh.rss) * 1024 / (high.n - low.n)
        out.append(f"   growth: {growth:.2f} KB per key ({low.n} -> {high.n} keys)")
    if all(s.n != 10_000 for s in sizes):
        out.append("   RSS at 10,000 keys: not measured (run with --large)")
    out += ["", "MISSED: " + "; ".join(misses) if misses else "All targets met."]
    return "\n".join(out), misses


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--latency-ms", type=int, default=20, help="added latency per request")
    parser.add_argument("--large", action="store_true", help="add N=10,000")
    parser.add_argument("--repeat", type=int, default=3, help="refresh rounds per N (least kept)")
    parser.add_argument("--max-creates", type=int, default=1000, help="largest N made by creates")
    parser.add_argument(
        "--special-n", type=int, default=1000, help="N of the cliff and deletion cases"
    )
    args = parser.parse_args(argv)
    args.sizes = [10, 100, 1000] + ([10_000] if args.large else [])
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_start = load_average()
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as console:
        log("first call in fresh processes")
        compile_package()
        cold = tuple(
            statistics.median(first_call(console, blob, read=read) for _ in range(COLD_RUNS))
            for read in (False, True)
            for blob in (PROVIDER, FLOOR)
        )
        sizes = [run_size(console, n, args) for n in args.sizes]
        log("cliff and deletion cases")
        specials = [
            cliff_case(console, args.special_n, args.latency_ms),
            deleted_case(console, args.special_n, args.latency_ms),
        ]
    breakdown = first_call_breakdown()
    text, _ = report(args, sizes, specials, cold, breakdown, (load_start, load_average()))
    print(text)
    log(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
