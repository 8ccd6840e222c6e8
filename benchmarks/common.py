"""What the benchmarks share: the emulator's settings, the engine's requests, running
calls four at a time as the engine does, CPU from /proc, and the table and verdict every
benchmark prints. Not collected by pytest."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pulumi.runtime.proto import provider_pb2

from pulumi_edgee.testing import provider_payload, resource_urn
from pulumi_edgee.testing import provider_server as wire

TOKEN = "tok_scale_benchmark_8d41c7a2"  # noqa: S105 - the emulator's made-up token
ORGANIZATION = "org_bench"
PROJECT = "scale"
PROVIDER = provider_payload()
ENGINE_CONCURRENCY = 4  # the dynamic provider server's ThreadPoolExecutor(max_workers=4)
PAGE_SIZE = 100  # ConsoleClient.list_api_keys' page size (the emulator's maximum)
CALL_TIMEOUT = 120.0
MODELS = ["anthropic/claude-opus-4-6", "openai/gpt-5.2"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# The targets the benchmarks hold the provider to, each printed with PASS or MISS.
OVERHEAD_TARGET = 1.15  # a Create through the provider / its two requests sent bare (overhead.py)
PROVIDER_BYTES_TARGET = 256  # the serialized `__provider` in state (overhead.py)
IMPORT_MS_TARGET = 30.0  # what importing the package adds to a program (overhead.py)
WALL_RATIO = 1.15  # refresh and create wall time / the floor's plus the round trips (floor.py)
CPU_RATIO = 1.1  # server CPU per Read and Create / the floor's (floor.py)
FIRST_CALL_MS = 100.0  # the first call a fresh provider process answers (floor.py)
RSS_MB = 150.0  # the provider process's memory (floor.py)

T = TypeVar("T")
R = TypeVar("R")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def urn(name: str) -> str:
    return resource_urn(name, project=PROJECT, stack="bench")


def pages_for(n: int) -> int:
    """List pages a walk of `n` keys takes (an empty list is still one page)."""
    return max(1, math.ceil(n / PAGE_SIZE))


def parallel(fn: Callable[[T], R], items: Sequence[T]) -> tuple[list[R], list[float], float]:
    """Run `fn` over `items` four at a time; results, per-call seconds and wall seconds."""

    def timed(item: T) -> tuple[R, float]:
        started = time.perf_counter()
        result = fn(item)
        return result, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=ENGINE_CONCURRENCY) as pool:
        pairs = list(pool.map(timed, items))
    wall = time.perf_counter() - started
    return [p[0] for p in pairs], [p[1] for p in pairs], wall


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def process_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a process, all threads (Linux /proc), else None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def news_for(name: str) -> dict[str, Any]:
    return {"name": name, "models": MODELS, "maxUsage": 1000, "__provider": PROVIDER}


def check_request(name: str) -> provider_pb2.CheckRequest:
    return wire.check_request(urn(name), {}, news_for(name))


def create_request(name: str, inputs: dict[str, Any]) -> provider_pb2.CreateRequest:
    return wire.create_request(urn(name), inputs)


def read_request(
    name: str, key_id: str, outputs: dict[str, Any], inputs: dict[str, Any]
) -> provider_pb2.ReadRequest:
    return wire.read_request(key_id, urn(name), outputs, inputs)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([fmt(headers), line, *(fmt(r) for r in rows)])


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return math.nan
