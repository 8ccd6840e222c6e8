"""Seeded fault scenarios: generate them, run them on the fault harness
(`pulumi_edgee.testing.faults`), and report.

    python scripts/fault_scenarios.py --scenarios 5000 --seed 1
    python scripts/fault_scenarios.py --seed 1 --only 137 --verbose   # replay one scenario
    python scripts/fault_scenarios.py --scenarios 200 --json report.json

A scenario is a small stack (one to three ApiKey or RotatingApiKey resources) taken
through a seeded sequence of commands: the first `pulumi up`, then in-place updates,
replacements, added and removed resources and refreshes, and a final `pulumi destroy`.
Before each command one or two fault rules are armed (429 bursts with `Retry-After`,
5xx, apply-then-fail, dropped connections, latency spikes, creates and deletes applied
after the client gave up, 2xx answers that cannot be read, answers dripped a byte at a
time, list pages that never end or that each hold a new key, updates acknowledged but
not applied; on the paths that command uses or on any path), or the Console clock is
skewed, or a key with odd fields or timestamps made by another tool appears in the
organization, or renames are held and applied, within their deadline, after their client
gave up while every delete fails. Some scenarios also get a second stack in the same
organization whose `up` of identical keys runs at the same time as a create step whose
outcome the faults make unknown (it is destroyed when the scenario ends), or a refresh
or destroy that first runs with the configuration pointing at another organization the
token reaches. The harness runs each command, re-runs it as a user would, and checks the
invariants its docstring lists; this script prints what it found, with a replay command
per problem.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pulumi_edgee.testing.faults import generate_scenario, render, run_scenarios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scenarios", type=int, default=300, help="how many (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the run (default 1)")
    parser.add_argument("--workers", type=int, default=8, help="scenarios at once (default 8)")
    parser.add_argument(
        "--only", type=int, action="append", help="run only this scenario number (repeatable)"
    )
    parser.add_argument(
        "--reuse-process",
        action="store_true",
        help="one provider process for every command (unlike the engine; hides per-process bugs)",
    )
    parser.add_argument("--verbose", action="store_true", help="print each step and its calls")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    log: list[str] | None = [] if args.verbose else None
    clock = time.perf_counter()

    def show(begun: int, total: int, problems: int) -> None:
        if begun % 250 == 0:
            elapsed = time.perf_counter() - clock
            print(
                f"  {begun}/{total} scenarios begun, {problems} problems, {elapsed:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    report = run_scenarios(
        generate_scenario,
        args.scenarios,
        args.seed,
        workers=1 if args.verbose else args.workers,
        only=args.only,
        fresh_processes=not args.reuse_process,
        log=log,
        on_progress=show,
    )
    if log:
        print("\n".join(log))
        print()
    print(render(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=1))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
