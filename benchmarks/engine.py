"""What pulumi-edgee costs under the real engine: `pulumi preview`, `up`, `refresh` and
`destroy` of N keys, against the same commands on N trivial dynamic resources
(`floor_provider.FloorProvider`, same payload, no request), with the same CLI on the same
machine in the same run.

    python benchmarks/engine.py [--sizes 10,100,1000] [--rounds 3] [--latency-ms 20]

The CLI is the one `scripts/pulumi_cli.py` builds (or a `pulumi` on PATH). Each round runs
the four commands on both stacks, interleaved (edgee, trivial, edgee, ...), each a whole
`pulumi` process timed from start to exit; every figure is the least of the rounds. The
emulator adds `--latency-ms` to every Console request. Targets (PASS/MISS):

- preview and refresh: <= 1.10 x the trivial stack's time + one list walk;
- up of N creates: <= 1.10 x the trivial stack's + ceil(N / P) x 2 round trips;
- destroy: <= 1.10 x the trivial stack's + ceil(N / P) x 1 round trip;

where P is the parallelism a dynamic provider gets (the CLI runs 8 steps at once, the
SDK's provider server 4). "Where the time goes" splits each edgee command into the trivial
stack's time (process starts, engine, the SDK's provider server), the Console round trips
the command's requests need at P at a time, and the rest (pulumi-edgee's own work).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pulumi_edgee.testing import EmulatorHandle, run_emulator  # noqa: E402
from pulumi_edgee.testing.cli import CliStack, PulumiCli, make_project_venv  # noqa: E402
from scripts import pulumi_cli  # noqa: E402

TOKEN = "tok_engine_bench_0123456789"  # noqa: S105 - the emulator's
ORGANIZATION = "org_bench"
COMMANDS = ("preview", "up", "refresh", "destroy")
PAGE_SIZE = 100  # the client's list page (the emulator's maximum)
PARALLELISM = 4  # min(the CLI's --parallel default 8, the SDK provider server's 4 workers)
MARGIN = 1.10

EDGEE_PROGRAM = """\
import pulumi
from pulumi_edgee import ApiKey

for i in range({n}):
    ApiKey(f"k{{i}}", name=f"bench-{{i}}", models=["openai/gpt-5.2"], max_usage=100)
"""
TRIVIAL_PROGRAM = """\
from pulumi.dynamic import Resource
from floor_provider import FloorProvider


class Trivial(Resource):
    def __init__(self, name, props):
        super().__init__(FloorProvider(), name, props)


for i in range({n}):
    props = {{"name": f"bench-{{i}}", "models": ["openai/gpt-5.2"], "maxUsage": 100, "key": None}}
    Trivial(f"k{{i}}", props)
"""


@dataclass
class Timings:
    """Least wall seconds per command, and the Console requests the edgee stack made."""

    seconds: dict[str, float] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)

    def keep(self, command: str, seconds: float) -> None:
        self.seconds[command] = min(seconds, self.seconds.get(command, math.inf))


def make_project(base: Path, name: str, program: str, venv: Path) -> Path:
    project = base / name
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n"
    )
    (project / "__main__.py").write_text(program)
    (project / "venv").symlink_to(venv)
    shutil.copy(Path(__file__).with_name("floor_provider.py"), project)
    return project


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def one_round(
    stacks: dict[str, CliStack], timings: dict[str, Timings], emulator: EmulatorHandle
) -> None:
    for command in COMMANDS:
        for label, stack in stacks.items():
            if label == "edgee":
                emulator.clear_requests()
            run: Callable[[], object] = getattr(stack, command)
            timings[label].keep(command, timed(run))
            if label == "edgee":
                timings[label].requests[command] = len(emulator.requests())


def bound(command: str, n: int, trivial: float, rtt: float) -> float:
    """The target for one edgee command: the trivial stack's time plus the Console's part."""
    if command in ("preview", "refresh"):
        console = math.ceil(max(n, 1) / PAGE_SIZE) * rtt  # one list walk
    else:
        console = math.ceil(n / PARALLELISM) * (2 if command == "up" else 1) * rtt
    return MARGIN * trivial + console


def report(n: int, timings: dict[str, Timings], rtt: float) -> list[str]:
    edgee, trivial = timings["edgee"], timings["trivial"]
    lines = [
        f"N = {n}",
        f"  {'command':<8} {'edgee s':>8} {'trivial s':>9} {'ratio':>6} {'bound s':>8} "
        f"{'requests':>8} {'round trips s':>13} {'edgee own s':>11}  target",
    ]
    for command in COMMANDS:
        ours, floor = edgee.seconds[command], trivial.seconds[command]
        limit = bound(command, n, floor, rtt)
        requests = edgee.requests[command]
        round_trips = math.ceil(requests / PARALLELISM) * rtt
        own = ours - floor - round_trips
        verdict = "PASS" if ours <= limit else "MISS"
        lines.append(
            f"  {command:<8} {ours:8.2f} {floor:9.2f} {ours / floor:6.2f} {limit:8.2f} "
            f"{requests:8d} {round_trips:13.2f} {own:11.2f}  {verdict}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args(argv)
    bin_dir = pulumi_cli.locate()
    if bin_dir is None:
        print("no Pulumi CLI: run `python scripts/pulumi_cli.py` first", file=sys.stderr)
        return 2
    rtt = args.latency_ms / 1000
    print(f"pulumi-edgee under the real engine; CLI {bin_dir}; {args.latency_ms} ms per request")
    print(
        f"load average at start: {os.getloadavg()[0]:.2f}; P = {PARALLELISM};"
        f" least of {args.rounds} rounds"
    )
    with (
        tempfile.TemporaryDirectory(prefix="engine-bench-") as scratch,
        run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator,
    ):
        base = Path(scratch)
        # As a user's project has it: the package and its dependencies, nothing else.
        venv = make_project_venv(base / "venv", str(ROOT), isolated=True)
        if args.latency_ms:
            emulator.add_fault("latency", delay_ms=args.latency_ms, count=None)
        for n in (int(size) for size in args.sizes.split(",")):
            cli = PulumiCli(bin_dir, base / f"home-{n}")
            stacks = {
                "edgee": CliStack(
                    cli, make_project(base, f"edgee-{n}", EDGEE_PROGRAM.format(n=n), venv)
                ),
                "trivial": CliStack(
                    cli, make_project(base, f"trivial-{n}", TRIVIAL_PROGRAM.format(n=n), venv)
                ),
            }
            for stack in stacks.values():
                stack.init()
            stacks["edgee"].configure_edgee(emulator.url, ORGANIZATION, TOKEN)
            timings = {label: Timings() for label in stacks}
            for _ in range(args.rounds):
                one_round(stacks, timings, emulator)
            print("\n".join(report(n, timings, rtt)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
