"""Run the quickstart stack end to end against the local Console API emulator.

preview, up, an in-place change, refresh (after a change made outside the stack) and
destroy, each through the real Pulumi dynamic provider server, printing what each step
did and what the emulator holds afterwards. Needs no Pulumi CLI and no network.

    python scripts/demo.py
"""

from __future__ import annotations

import secrets
import sys
from collections import Counter
from pathlib import Path

import httpx

from pulumi_edgee.testing import EmulatorHandle, run_emulator
from pulumi_edgee.testing.program import OutputValue, ProgramRunner, RunResult
from pulumi_edgee.testing.provider_server import ProviderServer

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
ORGANIZATION = "org_1"
SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}


def show(title: str, result: RunResult, emulator: EmulatorHandle) -> None:
    print(f"\n== {title}")
    keys_steps = [s for s in result.steps if s.urn.split("::")[2].endswith("edgee:ApiKey")]
    for step in keys_steps:
        if step.op != "same":
            calls = ", ".join(step.calls)
            print(f"  {SYMBOLS.get(step.op, '*'):>2} {step.op:<8} {step.name:<14} ({calls})")
    counts = Counter(step.op for step in keys_steps)
    summary = ", ".join(f"{op}: {n}" for op, n in sorted(counts.items()))
    print(f"  summary: {summary or 'nothing to do'}")
    if result.outputs:
        for name, output in sorted(result.outputs.items()):
            print(f"  output {name} = {render(output)}")
    keys = emulator.keys()
    described = ", ".join(
        f"{k['name']!r} (max_usage={k['max_usage']}, active={k['active']})" for k in keys
    )
    print(f"  emulator holds {len(keys)} key(s){': ' + described if keys else ''}")
    if result.error is not None:
        raise SystemExit(f"{title} failed: {result.error}")


def render(output: OutputValue) -> str:
    return "[secret]" if output.secret else repr(output.value)


def main() -> int:
    token = "demo_" + secrets.token_hex(12)
    with (
        run_emulator(token=token, organization_id=ORGANIZATION) as emulator,
        ProviderServer(project="edgee-quickstart", cwd=EXAMPLE) as server,
    ):
        print(f"Console API emulator at {emulator.url}; quickstart program in {EXAMPLE}")
        stack = ProgramRunner(
            EXAMPLE,
            server,
            {"edgee:apiToken": token, "edgee:consoleUrl": emulator.url},
            secret_config_keys=["edgee:apiToken"],
        )
        show("pulumi preview", stack.preview(), emulator)
        show("pulumi up", stack.up(), emulator)
        stack.set_config("backendMaxUsage", 2500)
        show("pulumi up (backendMaxUsage 1000 -> 2500: in-place update)", stack.up(), emulator)

        backend_id = stack.state.get("backend").id
        with httpx.Client(
            base_url=emulator.organization_url,
            headers={"Authorization": f"Bearer {token}"},
        ) as console:
            console.post(f"/api_keys/{backend_id}", json={"active": False}).raise_for_status()
        print("\n(someone disables the backend key in the Edgee Console)")
        show("pulumi refresh", stack.refresh(), emulator)
        print(f"  state now says backend active={stack.state.get('backend').outputs['active']}")
        show("pulumi up (puts the key back as declared)", stack.up(), emulator)
        show("pulumi destroy", stack.destroy(), emulator)
        if emulator.keys():
            print("keys left behind after destroy", file=sys.stderr)
            return 1
    print("\nDone: every key the stack made was deleted; no secret was printed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
