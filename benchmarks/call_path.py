"""Where one provider call spends its time: the companion of `floor.py` and `overhead.py`.

    python benchmarks/call_path.py [--iterations 300] [--profile]

Loads the SDK's dynamic provider servicer (`pulumi/dynamic/__main__.py`, without starting
its gRPC server) into this process, against an emulator child process with no added
latency, and times each step of a Read (answered from the shared list view) and of a
Create as the servicer runs them: wall and CPU of this thread, medians in microseconds.
Then a real `python -m pulumi.dynamic` server is called, one call at a time and four at
a time, with the server process's CPU per call, to price the gRPC hop. `--profile` adds
cProfile listings of the in-process Read and Create (`CALL_PATH_SORT=cumulative` to sort
by cumulative time). Numbers are noisy when other work shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("EDGEE_READ_REUSE_SECONDS", "3600")  # keep the view fresh in here

import httpx
import pulumi.dynamic
from common import (
    MODELS,
    ORGANIZATION,
    PROJECT,
    PROVIDER,
    TOKEN,
    check_request,
    create_request,
    process_cpu,
    read_request,
)
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from pulumi_edgee import lifecycle
from pulumi_edgee.console import ApiKeyCreate
from pulumi_edgee.testing import configured_server, edgee_config, spawn_emulator
from pulumi_edgee.testing.emulator import EmulatorClient
from pulumi_edgee.testing.provider_server import (
    ProviderServer,
    decode_properties,
    encode_properties,
)

KEYS = 100
SORT = os.environ.get("CALL_PATH_SORT", "tottime")


class FakeContext:
    """The part of a gRPC servicer context the dynamic servicer uses."""

    def abort(self, code: Any, details: str) -> None:
        raise RuntimeError(f"{code}: {details}")

    def set_code(self, code: Any) -> None:
        pass

    def set_details(self, details: str) -> None:
        pass


def load_servicer() -> dict[str, Any]:
    """The module namespace of `python -m pulumi.dynamic`, without its trailing `main()`."""
    path = Path(pulumi.dynamic.__file__).with_name("__main__.py")
    source = path.read_text()
    head, sep, _ = source.rpartition("\nmain()")
    if not sep:
        raise RuntimeError(f"unexpected layout of {path}")
    namespace: dict[str, Any] = {"__name__": "pulumi_dynamic_servicer"}
    exec(compile(head, str(path), "exec"), namespace)  # noqa: S102 - the SDK's own file
    return namespace


@dataclass
class Row:
    step: str
    wall_us: float  # median wall time per call
    cpu_us: float | None  # median CPU of this thread per call (in-process rows)
    server_cpu_us: float | None = None  # provider server process CPU per call


def in_process(step: str, fn: Callable[[], object], iterations: int) -> Row:
    """Median wall and thread-CPU time of `fn` run here."""
    walls = []
    cpus = []
    for _ in range(iterations):
        wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
        fn()
        cpus.append(time.thread_time_ns() - cpu0)
        walls.append(time.perf_counter_ns() - wall0)
    return Row(step, statistics.median(walls) / 1000, statistics.median(cpus) / 1000)


def through_server(
    step: str,
    server: ProviderServer,
    call: Callable[[Any], object],
    requests: list[Any],
    concurrency: int = 1,
) -> Row:
    """Wall time per call (median if sequential, wall/N if concurrent) and the server
    process's CPU per call."""
    pid = server.pid
    cpu0 = process_cpu(pid)
    if concurrency == 1:
        walls = []
        for request in requests:
            started = time.perf_counter_ns()
            call(request)
            walls.append(time.perf_counter_ns() - started)
        wall_us = statistics.median(walls) / 1000
    else:
        started = time.perf_counter_ns()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(call, requests))
        wall_us = (time.perf_counter_ns() - started) / len(requests) / 1000
    cpu1 = process_cpu(pid)
    server_cpu = None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) / len(requests) * 1e6
    return Row(step, wall_us, None, server_cpu)


def config_struct(console: EmulatorClient) -> Any:
    config = edgee_config(console.url, token=TOKEN, organization=ORGANIZATION)
    return encode_properties({**config, "edgee:apiToken": rpc.wrap_rpc_secret(TOKEN)})


def serialize_fresh_loop(outs: dict[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(outs, {}))
    finally:
        loop.close()


def new_loop_and_close() -> None:
    asyncio.new_event_loop().close()


def profile(label: str, fn: Callable[[], object], iterations: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        fn()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats(SORT).print_stats(15)
    return f"\ncProfile of {iterations} {label} (by own time)\n{text.getvalue()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="add cProfile of Read and Create")
    args = parser.parse_args()
    it = args.iterations
    create_it = max(50, it // 3)
    os.environ["PULUMI_PROJECT"] = PROJECT
    ns = load_servicer()
    servicer = ns["DynamicResourceProviderServicer"]()
    get_provider: Callable[[dict[str, Any], dict[str, Any]], Any] = ns["get_provider"]
    ctx = FakeContext()
    rows: list[Row] = []
    profiles: list[str] = []

    with spawn_emulator(token=TOKEN, organization_id=ORGANIZATION) as console:
        servicer.Configure(provider_pb2.ConfigureRequest(args=config_struct(console)), ctx)
        config = servicer._config
        checks = [check_request(f"k{i}") for i in range(KEYS)]
        checked = [decode_properties(servicer.Check(c, ctx).inputs)[0] for c in checks]
        created = [servicer.Create(create_request(f"k{i}", checked[i]), ctx) for i in range(KEYS)]
        outputs = [decode_properties(c.properties)[0] for c in created]
        reads = [read_request(f"k{i}", created[i].id, outputs[i], checked[i]) for i in range(KEYS)]
        servicer.Read(reads[0], ctx)  # takes the list walk; later reads use the view

        # -- Read, step by step, as the servicer runs it ----------------------------------
        request = reads[KEYS // 2]
        wire = request.SerializeToString()
        props = rpc.deserialize_properties(request.properties)
        provider = get_provider(props, config)
        outs = {**provider.read(request.id, props).outs, "__provider": PROVIDER}
        session = provider._session()
        live = session.directory.get(request.id)
        response = servicer.Read(request, ctx)
        rows += [
            in_process("Read, in process: servicer.Read", lambda: servicer.Read(request, ctx), it),
            in_process(
                "  ReadRequest.FromString (done by gRPC)",
                lambda: provider_pb2.ReadRequest.FromString(wire),
                it,
            ),
            in_process(
                "  rpc.deserialize_properties(properties)",
                lambda: rpc.deserialize_properties(request.properties),
                it,
            ),
            in_process(
                "  get_provider (cache hit, calls runtime.configure)",
                lambda: get_provider(props, config),
                it,
            ),
            in_process("  provider.read", lambda: provider.read(request.id, props), it),
            in_process("    provider._session() (resolve + session_for)", provider._session, it),
            in_process(
                "    session.directory.get (view hit)",
                lambda: session.directory.get(request.id),
                it,
            ),
            in_process(
                "    lifecycle.outputs",
                lambda: lifecycle.outputs(
                    live, email=None, expires_in_days=None, key=props.get("key")
                ),
                it,
            ),
            in_process(
                "  new_event_loop + serialize_properties + close",
                lambda: serialize_fresh_loop(outs),
                it,
            ),
            in_process("    of which new_event_loop() + close()", new_loop_and_close, it),
            in_process(
                "  ReadResponse.SerializeToString (done by gRPC)",
                response.SerializeToString,
                it,
            ),
            in_process(
                "Check, in process: servicer.Check", lambda: servicer.Check(checks[0], ctx), it
            ),
        ]
        if args.profile:
            profiles.append(profile("in-process Reads", lambda: servicer.Read(request, ctx), it))

        # -- Create, step by step, no added latency --------------------------------------
        create_req = create_request("k-overhead", checked[0])
        create_props = rpc.deserialize_properties(create_req.properties)
        spec_body = ApiKeyCreate(name="k0", models=MODELS, max_usage=1000)
        body = spec_body.payload()
        client = session.client
        with httpx.Client(
            base_url=console.organization_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as bare:
            bare.post("/api_keys", json=body)
            rows += [
                in_process(
                    "Create, in process: servicer.Create",
                    lambda: servicer.Create(create_req, ctx),
                    create_it,
                ),
                in_process("  provider.create", lambda: provider.create(create_props), create_it),
                in_process(
                    "    ConsoleClient.create_api_key",
                    lambda: client.create_api_key(spec_body),
                    create_it,
                ),
                in_process(
                    "    bare httpx.Client.post, same body",
                    lambda: bare.post("/api_keys", json=body),
                    create_it,
                ),
            ]
        if args.profile:
            profiles.append(
                profile("in-process Creates", lambda: servicer.Create(create_req, ctx), create_it)
            )

        # -- the gRPC hop, through a real server -----------------------------------------
        with configured_server(
            console.url, token=TOKEN, organization=ORGANIZATION, project=PROJECT
        ) as server:
            stub = server.stub
            stub.Read(request, timeout=60)  # load the provider and take the walk
            stub.Create(create_req, timeout=60)
            empty = empty_pb2.Empty()

            def plugin_info(_: object) -> object:
                return stub.GetPluginInfo(empty, timeout=60)

            def read(r: Any) -> object:
                return stub.Read(r, timeout=60)

            def create(r: Any) -> object:
                return stub.Create(r, timeout=60)

            many_reads = [reads[i % KEYS] for i in range(it)]
            rows += [
                through_server(
                    "real server, sequential: empty call", server, plugin_info, [None] * it
                ),
                through_server("real server, sequential: Read", server, read, many_reads),
                through_server(
                    "real server, 4 at a time: Read (wall = total / N)",
                    server,
                    read,
                    many_reads,
                    concurrency=4,
                ),
                through_server(
                    "real server, sequential: Create", server, create, [create_req] * create_it
                ),
                through_server(
                    "real server, 4 at a time: Create (wall = total / N)",
                    server,
                    create,
                    [create_req] * create_it,
                    concurrency=4,
                ),
            ]

    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:,.1f}"

    width = max(len(r.step) for r in rows)
    print(
        f"Per-call cost in microseconds: median of {it} ({create_it} for Create); "
        "emulator in a child process, no added latency"
    )
    print(f"{'step'.ljust(width)}  {'wall':>9}  {'this CPU':>9}  {'server CPU':>10}")
    for r in rows:
        print(
            f"{r.step.ljust(width)}  {r.wall_us:9,.1f}  {cell(r.cpu_us):>9}  "
            f"{cell(r.server_cpu_us):>10}"
        )
    for text in profiles:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
