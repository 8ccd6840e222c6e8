"""What a fault scenario is: the faults, steps and stacks it is made of, and the settings every
scenario shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pulumi_edgee.registry import API_KEY, RESOURCES, Resource

from ..engine import (
    provider_payload,
)

TOKEN = "tok_fault_scenarios_7c1e4b2a9d"  # noqa: S105 - the emulator's test token
ORGANIZATION = "org_faults"
# A second organization the same token reaches: a stack pointed at it by mistake.
OTHER_ORGANIZATION = "org_faults_other"
# The payload state holds; each provider process runs a fresh instance of its own.
PROVIDER = provider_payload()

FAULT_KINDS = (
    "rate_limit",
    "server_error",
    "apply_then_fail",
    "drop_connection",
    "latency",
    "late_apply",
    "apply_then_garble",
    "slow_drip",
    "endless_pages",
    "growing_pages",
    "answer_unapplied",
    # Not rules but conditions set before the step: the emulator's clock shifted by
    # `offset_seconds` (until the scenario ends), a key made by another tool, with odd
    # fields or timestamps, in the organization (not the stack's; left out of the
    # checks), and a rename held and applied after its client gave up while every delete
    # fails (two rules: `late_apply` of updates, `server_error` of deletes).
    "clock_skew",
    "odd_key",
    "held_rename",
)
# The kinds that are conditions rather than emulator fault rules (never in its request log).
CONDITION_KINDS = frozenset({"clock_skew", "odd_key", "held_rename"})
# Provider processes run on short budgets, so that "applied after the client gave up"
# and "a server dripping its answer" take about a second; a leftover of an interrupted
# create expires when its step's budget would have ended (no grace: one machine).
PROVIDER_BUDGETS = {
    "EDGEE_REQUEST_DEADLINE_SECONDS": "1",
    "EDGEE_STEP_DEADLINE_SECONDS": "5",
    "EDGEE_LEFTOVER_GRACE_SECONDS": "0",
}
# A command running longer than this hangs (every step is bounded by the budgets).
HANG_SECONDS = 30.0
StepKind = Literal["create", "update", "replace", "add", "remove", "refresh", "destroy"]
Command = Literal["up", "refresh", "destroy"]

GATEWAY_KEY = re.compile(r"\bek_[a-z]+_[A-Za-z0-9]{8,}")
KEYS = r"/v1/organizations/[^/]+/api_keys"
# Where a fault can be aimed: (method, path regex matching the whole request path).
TARGETS: dict[str, tuple[str, str]] = {
    "create": ("POST", KEYS),
    "list": ("GET", KEYS),
    "update": ("POST", KEYS + r"/[^/]+"),
    "delete": ("DELETE", KEYS + r"/[^/]+"),
    "read": ("GET", KEYS + r"/[^/]+(/reveal)?"),
    "any": ("*", r"/v1/.*"),
}
# The command each kind of step runs.
_COMMAND: dict[StepKind, Command] = {
    "create": "up",
    "add": "up",
    "update": "up",
    "replace": "up",
    "remove": "up",
    "refresh": "refresh",
    "destroy": "destroy",
}


@dataclass(frozen=True)
class Fault:
    """One fault rule to arm on the emulator before a step."""

    kind: str
    target: str
    count: int | None
    options: tuple[tuple[str, Any], ...] = ()

    def rule(self) -> dict[str, Any]:
        method, path = TARGETS[self.target]
        return {"method": method, "path": path, "count": self.count, **dict(self.options)}

    def __str__(self) -> str:
        options = ",".join(f"{k}={v}" for k, v in self.options)
        times = "until cleared" if self.count is None else f"x{self.count}"
        return f"{self.kind}({options}) {times} on {self.target}"


@dataclass(frozen=True)
class ScenarioStep:
    """One command on the model stack: the program it runs (for `up`), the faults armed
    first, and for a refresh the resource whose key someone deletes in the Console.

    `second_stack`: a second stack of the organization runs `up` of the same program (keys
    with identical settings) at the same time, under the same faults; it stays until the
    scenario ends, then is destroyed. `other_organization_first`: before the command, the
    same command runs with the configuration pointing at another organization the token
    reaches, which must fail and change nothing.
    """

    kind: StepKind
    program: dict[str, dict[str, Any]]
    faults: tuple[Fault, ...]
    deleted_out_of_band: str | None = None
    second_stack: bool = False
    other_organization_first: bool = False

    @property
    def command(self) -> Command:
        return _COMMAND[self.kind]

    def __str__(self) -> str:
        faults = "; ".join(map(str, self.faults)) or "no fault"
        extras = [
            f"key of {self.deleted_out_of_band} deleted in the Console first"
            if self.deleted_out_of_band
            else "",
            "a second stack runs `up` of the same program at once" if self.second_stack else "",
            f"first run configured for {OTHER_ORGANIZATION}"
            if self.other_organization_first
            else "",
        ]
        return f"{self.kind} [{faults}]" + "".join(f", {e}" for e in extras if e)


@dataclass(frozen=True)
class Scenario:
    """A sequence of steps, numbered `index` in the run seeded with `seed` (for replay)."""

    seed: int
    index: int
    steps: tuple[ScenarioStep, ...]
    # The registry row of the stack's resources (`ApiKey` or `RotatingApiKey`).
    resource: str = API_KEY.name

    @property
    def row(self) -> Resource:
        return next(r for r in RESOURCES if r.name == self.resource)

    def describe(self) -> str:
        lines = [f"scenario {self.index} (seed {self.seed}, {self.resource}):"]
        for number, step in enumerate(self.steps):
            lines.append(f"  step {number}: {step}")
            if step.command == "up":
                for name, inputs in step.program.items():
                    lines.append(f"      {name}: {inputs}")
        return "\n".join(lines)
