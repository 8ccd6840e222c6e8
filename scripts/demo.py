"""Run the quickstart stack end to end against the local Console API emulator, and prove
each step did what its title says.

preview, up, an in-place change, a change made in the Console picked up by refresh and
put back by the next up, and destroy. Each command runs the unchanged program through a
provider process of its own, as the Pulumi CLI does. After each step the emulator's keys
and the stack's state are checked, and each key is used through the emulator's AI Gateway
stand-in with the official `edgee` client, printing what an application would see; the
demo stops with exit status 1 at the first step whose effect is missing. Last,
everything it printed is searched for the Console token and every gateway key it saw.
Needs no Pulumi CLI and no network; needs the `edgee` client (the `demo` extra).
With `--cli`, the same steps run through the real `pulumi` (on PATH, or built by
`scripts/pulumi_cli.py`, which needs Go) in a home, backend and virtualenv of their own,
and the same effects are checked.

    python scripts/demo.py
    python scripts/demo.py --program DIR   # a variant of the quickstart (same resources)
    python scripts/demo.py --cli           # through the Pulumi CLI
"""

from __future__ import annotations

import argparse
import importlib
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from pulumi_edgee.testing import EmulatorHandle, LeakDetector, run_emulator
from pulumi_edgee.testing.cli import CliProgramRunner, CliStack, PulumiCli, make_project_venv
from pulumi_edgee.testing.gateway import GatewayOutcome, ask_gateway
from pulumi_edgee.testing.program import ProgramRunner, RunResult

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
ORGANIZATION = "org_1"
SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}
# In the backend key's `models`; the Claude Code key is unrestricted.
MODEL = "anthropic/claude-opus-4-6"


class StepFailed(Exception):
    """A step did not have the effect its title announces."""


class Demo:
    """The stack, the emulator, and a transcript of everything printed."""

    def __init__(
        self, stack: ProgramRunner | CliProgramRunner, emulator: EmulatorHandle, token: str
    ) -> None:
        self.stack = stack
        self.emulator = emulator
        self.token = token
        self.printed: list[str] = []
        self.keys_seen: set[str] = set()
        self.secrets: dict[str, str] = {}  # the last secret of each key in the stack

    def say(self, text: str = "") -> None:
        self.printed.append(text)
        print(text, flush=True)

    def live_keys(self) -> dict[str, dict[str, Any]]:
        """The emulator's keys by logical name in the stack (by id when not in state)."""
        held = self.emulator.keys()
        live = {str(k["id"]): k for k in held}
        self.keys_seen.update(str(k["key"]) for k in live.values())
        names = {r.id: r.name for r in self.stack.state.resources if r.custom}
        return {names.get(key_id, key_id): key for key_id, key in live.items()}

    def run(self, title: str, result: RunResult) -> dict[str, str]:
        """Print a command's steps, outputs and the emulator's keys; the step per key."""
        self.say(f"\n== {title}")
        ops: dict[str, str] = {}
        for step in result.steps:
            if not step.urn.split("::")[2].endswith("edgee:ApiKey"):
                continue
            op = step.as_reported  # what `pulumi` shows: a refresh that found drift updates
            ops.setdefault(step.name, op)
            if op != "same":
                changed = f"; changed: {', '.join(step.changed)}" if step.changed else ""
                calls = ", ".join(step.calls) or "provider calls not shown by the CLI"
                self.say(f"  {SYMBOLS.get(op, '*'):>2} {op:<8} {step.name:<12} ({calls}{changed})")
        for name, output in sorted(result.outputs.items()):
            self.say(f"  output {name} = {output}")
        for output in result.outputs.values():
            if output.secret and isinstance(output.value, str):
                self.keys_seen.add(output.value)
        keys = self.live_keys()
        described = ", ".join(
            f"{k['name']!r} (max_usage={k['max_usage']}, active={k['active']})"
            for k in keys.values()
        )
        self.say(f"  emulator holds {len(keys)} key(s){': ' + described if keys else ''}")
        if result.error is not None:
            raise StepFailed(f"{title} failed: {result.error}")
        return ops

    def use_keys(self, model: str = MODEL, *names: str) -> dict[str, GatewayOutcome]:
        """Call the Gateway with each key the stack made (or those named), as an
        application would, and print what it sees (the secrets stay unprinted)."""
        for res in self.stack.state.resources:
            if "key" in res.outputs:
                self.secrets[res.name] = str(res.outputs["key"])
        self.keys_seen.update(self.secrets.values())
        seen: dict[str, GatewayOutcome] = {}
        for name, secret in sorted(self.secrets.items()):
            if names and name not in names:
                continue
            seen[name] = ask_gateway(self.emulator.url, secret, model, "ping")
            self.say(f"  app calls {model} with {name}: {seen[name]}")
        return seen

    def expect(self, condition: bool, effect: str) -> None:
        """Say what was proved, or stop: the step's effect is missing."""
        if not condition:
            raise StepFailed(f"expected {effect}")
        self.say(f"  ok: {effect}")

    def no_secret_printed(self) -> None:
        leaks = LeakDetector()
        leaks.add_secrets(self.token, *self.keys_seen)
        leaks.record("demo output", "\n".join(self.printed))
        found = leaks.leaks()
        if found:
            raise StepFailed(f"a secret was printed: {found}")
        self.say(
            f"\nNo secret printed: {len(self.printed)} lines searched for the Console token "
            f"and the {len(self.keys_seen)} gateway keys seen."
        )


def steps(demo: Demo) -> None:
    """The quickstart's life, each step checked against the emulator and the state."""
    stack = demo.stack
    ops = demo.run("pulumi preview", stack.preview())
    demo.expect(ops == {"backend": "create", "claude-code": "create"}, "two creates planned")
    demo.expect(demo.live_keys() == {}, "no key made by a preview")

    ops = demo.run("pulumi up", stack.up())
    keys = demo.live_keys()
    demo.expect(ops == {"backend": "create", "claude-code": "create"}, "two keys created")
    demo.expect(set(keys) == {"backend", "claude-code"}, "both keys live in the Console")
    backend_id = stack.state.get("backend").id
    seen = demo.use_keys()
    demo.expect(all(o.answered for o in seen.values()), "both keys answer at the Gateway")
    seen = demo.use_keys("openai/o3")
    demo.expect(
        seen["backend"].code == "forbidden" and seen["claude-code"].answered,
        "a model outside backend's `models` is refused; the unrestricted key answers",
    )

    stack.set_config("backendMaxUsage", 2500)
    ops = demo.run("pulumi up (backendMaxUsage 1000 -> 2500: in-place update)", stack.up())
    backend = demo.live_keys().get("backend", {})
    demo.expect(ops.get("backend") == "update", "backend updated in place")
    demo.expect(
        backend.get("id") == backend_id and backend.get("max_usage") == 2500,
        "the same backend key now has max_usage=2500",
    )
    demo.expect(demo.use_keys(MODEL, "backend")["backend"].answered, "the key still answers")

    with httpx.Client(
        base_url=demo.emulator.organization_url,
        headers={"Authorization": f"Bearer {demo.token}"},
    ) as console:
        console.post(f"/api_keys/{backend_id}", json={"active": False}).raise_for_status()
    demo.say("\n(someone disables the backend key in the Edgee Console)")
    inactive = demo.use_keys(MODEL, "backend")["backend"]
    demo.expect(inactive.message == "API key is inactive", "the Gateway refuses it at once")
    refreshed = stack.refresh()
    demo.run("pulumi refresh", refreshed)
    # (`lastUsedAt` may show as changed too: the application's calls moved it.)
    changed = [set(s.changed) - {"lastUsedAt"} for s in refreshed.steps_for("backend")]
    demo.expect(changed == [{"active"}], "the refresh found backend's `active` changed")
    demo.expect(
        stack.state.get("backend").outputs.get("active") is False,
        "state now says backend active=False, as the Console does",
    )

    ops = demo.run("pulumi up (puts the key back as declared)", stack.up())
    backend = demo.live_keys().get("backend", {})
    demo.expect(ops.get("backend") == "update", "backend updated in place")
    demo.expect(
        backend.get("id") == backend_id and backend.get("active") is True,
        "the same backend key is active again",
    )
    demo.expect(demo.use_keys(MODEL, "backend")["backend"].answered, "backend answers again")

    ops = demo.run("pulumi destroy", stack.destroy())
    demo.expect(ops == {"backend": "delete", "claude-code": "delete"}, "both keys deleted")
    demo.expect(demo.live_keys() == {}, "no key left behind in the Console")
    seen = demo.use_keys()
    demo.expect(
        all(o.code == "unauthorized" for o in seen.values()), "every key is refused at the Gateway"
    )


@contextmanager
def _stack(
    program: Path, emulator: EmulatorHandle, token: str, *, cli: bool
) -> Iterator[ProgramRunner | CliProgramRunner]:
    """The harness (default), or the program copied beside a virtualenv of its own and run
    by the real `pulumi` in an isolated home."""
    if not cli:
        config = {"edgee:apiToken": token, "edgee:consoleUrl": emulator.url}
        yield ProgramRunner(program, config=config, secret_config_keys=["edgee:apiToken"])
        return
    # `python scripts/demo.py` has this folder on sys.path; tests import `scripts.demo`.
    pulumi_cli = importlib.import_module(
        f"{__package__}.pulumi_cli" if __package__ else "pulumi_cli"
    )
    checkout = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="edgee-demo-") as scratch:
        base = Path(scratch)
        project = base / "quickstart"
        shutil.copytree(program, project, ignore=shutil.ignore_patterns("venv", "__pycache__"))
        (project / "venv").symlink_to(make_project_venv(base / "venv", str(checkout)))
        bin_dir = pulumi_cli.locate() or pulumi_cli.install(pulumi_cli.DEFAULT_OUT)
        stack = CliStack(PulumiCli(bin_dir, base / "home"), project).init()
        stack.configure_edgee(emulator.url, ORGANIZATION, token)
        yield CliProgramRunner(stack)


# What serves the emulator for the demo, called as `run_emulator(token=, organization_id=)`.
Serve = Callable[..., AbstractContextManager[EmulatorHandle]]


def main(argv: Sequence[str] | None = None, serve: Serve = run_emulator) -> int:
    """Run the demo; `serve` is for tests, which pass one that validates every Gateway
    answer against Edgee's OpenAPI description."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--program",
        type=Path,
        default=EXAMPLE,
        help="the program to run: the quickstart (default) or a variant with its resources",
    )
    parser.add_argument(
        "--cli",
        action="store_true",
        help="run the steps through the real Pulumi CLI (on PATH or built with Go)",
    )
    args = parser.parse_args(argv)
    program = args.program.resolve()
    token = "demo_" + secrets.token_hex(12)
    with (
        serve(token=token, organization_id=ORGANIZATION) as emulator,
        _stack(program, emulator, token, cli=args.cli) as stack,
    ):
        demo = Demo(stack, emulator, token)
        demo.say(f"Console API emulator at {emulator.url}; program in {program}")
        try:
            steps(demo)
            demo.say("\nDone: every step had its effect; every key the stack made is deleted.")
            demo.no_secret_printed()
        except StepFailed as failure:
            print(f"\nFAILED: {failure}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
