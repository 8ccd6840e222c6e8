"""Report benchmark: `python -m pulumi_edgee.report` over a large organization.

    python benchmarks/report.py [--keys 10000] [--latency-ms 20] [--rounds 3]

Seeds the emulator's store directly with N keys of every kind (used, unused, expiring,
expired, unlimited, leftover markers), writes a stack export holding half of them, then
runs the report as users do (a child process, `--json --stack-export`) over real HTTP and
prints, per round, its wall time and the Console requests it made (from the emulator's
request log), and checks it read every key in one walk (one request per page). A
benchmark, not a test: the time depends on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from pulumi_edgee import markers, times
from pulumi_edgee.emulator.backend import EmulatorBackend
from pulumi_edgee.testing import run_emulator

TOKEN = "tok_report_benchmark"  # noqa: S105 - the emulator's throwaway token
ORGANIZATION = "org_report"
PAGE_SIZE = 100


def seed(backend: EmulatorBackend, count: int) -> list[str]:
    """N keys cycling through the report's findings; their ids."""
    now = datetime.now(times.UTC)
    ids = []
    for n in range(count):
        kind = n % 8
        fields: dict[str, object] = {
            "organization_id": ORGANIZATION,
            "name": f"svc-{n}",
            "models": [] if kind == 1 else ["openai/gpt-5.2"],
            "max_usage": None if kind == 2 else 100,
            "created_at": times.iso(now - timedelta(days=90)),
            "last_used_at": None if kind == 3 else times.iso(now - timedelta(days=kind * 10)),
            "expires_at": times.iso(now + timedelta(days=(kind - 5) * 7)),
        }
        if kind == 7:
            fields["name"] = markers.Marker(f"{n:032x}", int(now.timestamp()) - 3600).name
        ids.append(backend.insert_key(fields).id)
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every request")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    backend = EmulatorBackend(request_log_limit=max(10_000, 4 * args.keys // PAGE_SIZE))
    with (
        tempfile.TemporaryDirectory() as scratch,
        run_emulator(token=TOKEN, organization_id=ORGANIZATION, backend=backend) as emulator,
    ):
        started = time.perf_counter()
        ids = seed(backend, args.keys)
        print(f"seeded {len(ids)} keys in {time.perf_counter() - started:.1f} s", flush=True)
        export = Path(scratch) / "stack.json"
        resources = [
            {
                "urn": f"urn:pulumi:prod::bench::edgee:index:ApiKey::k{i}",
                "type": "edgee:index:ApiKey",
                "id": key_id,
            }
            for i, key_id in enumerate(ids[::2])
        ]
        export.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}))
        if args.latency_ms:
            emulator.add_fault("latency", delay_ms=args.latency_ms, count=None)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("EDGEE_")}
        environ.update(
            {
                "EDGEE_CONSOLE_URL": emulator.url,
                "EDGEE_ORGANIZATION_ID": ORGANIZATION,
                "EDGEE_CONSOLE_API_TOKEN": TOKEN,
            }
        )
        command = [
            sys.executable,
            "-m",
            "pulumi_edgee.report",
            "--json",
            "--stack-export",
            str(export),
        ]
        expected_pages = args.keys // PAGE_SIZE + 1
        ok = True
        for round_number in range(1, args.rounds + 1):
            emulator.clear_requests()
            began = time.perf_counter()
            run = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)  # noqa: S603
            seconds = time.perf_counter() - began
            if run.returncode != 0:
                print(run.stderr, file=sys.stderr)
                return 1
            reported = json.loads(run.stdout)["keys"]
            requests = [r for r in emulator.requests() if r["path"].endswith("/api_keys")]
            one_walk = len(reported) == args.keys and len(requests) <= expected_pages
            ok = ok and one_walk
            print(
                f"round {round_number}: {len(reported)} keys reported in {seconds:.2f} s "
                f"(whole process), {len(requests)} Console requests "
                f"({'one walk' if one_walk else 'MORE THAN ONE WALK'})",
                flush=True,
            )
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
