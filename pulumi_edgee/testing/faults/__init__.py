"""The fault-scenario harness: the engine's commands on a model stack, each in a provider
process of its own, against an emulator whose fault injection is armed step by step, and
the invariant checks that compare the emulator's keys with the stack.

A scenario is a small stack (one to three ApiKey resources) taken through a sequence of
commands (`generator` makes seeded ones; `scripts/fault_scenarios.py` runs them). Before
each command one or two fault rules are armed on the emulator; the command runs through a real
`python -m pulumi.dynamic` server with the engine's call sequences (`LifeCycle`,
`ModelStack`); a failed provider call leaves the state as the engine would. Then the
faults are cleared and the command runs again, as a user re-running it would, and the
stack is checked:

- orphan: a live key of the organization that no resource in state refers to, and that
  no error named for clean-up (a key an error names is deleted, as the user would, and
  counted apart: "keys left for manual clean-up");
- duplicate: two resources in state with the same key id;
- lost secret: a resource whose stored `key` is not the emulator's secret for its id;
- ghost: a resource in state whose key no longer exists;
- mismatch: after an `up` or `destroy`, state or live keys that differ from the program;
- owned by two stacks: with a second stack in the organization (`ScenarioStep.second_stack`,
  checked like the first after every step and destroyed when the scenario ends), a key
  id in both stacks' states, or in a stack's state when the other stack held it first;
- wrong organization accepted: a command configured for another organization the token
  reaches (`ScenarioStep.other_organization_first`) that did not fail naming both
  organizations, changed the state or deleted a key of either organization;
- not idempotent: the re-run of a command that had succeeded still changed something;
- unrepaired: the re-run failed too (the user is stuck);
- hang: a command that took longer than `HANG_SECONDS`;
- leak: the Console token or a gateway key in an error text, a non-secret output, the
  provider payload or the server's logs.

Every command runs in a provider process of its own, as under the engine: the process
keeps per-process state (the keys it knows belong to a resource, which a create with an
unknown outcome must never adopt), and reusing one process across commands would hide
bugs in it. Starting a server per command is too slow for thousands of scenarios, so a
"process" is a fresh provider instance (its own `__provider` payload) configured with a
Console URL of its own (a new listening port of the same emulator): the provider's
process-level caches are keyed by those two, so each command starts from empty caches.
The real server is restarted every few hundred commands to bound its memory.
"""

from __future__ import annotations

from .generator import generate_scenario
from .harness import Harness, ProviderProcess, StepFailed, new_stack
from .invariants import (
    Inconsistency,
    inconsistencies,
    misdirection_problems,
    taken_from_another_stack,
)
from .report import CATEGORIES, Problem, Report, render
from .runner import run_scenario, run_scenarios
from .scenarios import (
    CONDITION_KINDS,
    FAULT_KINDS,
    ORGANIZATION,
    OTHER_ORGANIZATION,
    TARGETS,
    TOKEN,
    Fault,
    Scenario,
    ScenarioStep,
)

__all__ = [
    "CATEGORIES",
    "CONDITION_KINDS",
    "FAULT_KINDS",
    "ORGANIZATION",
    "OTHER_ORGANIZATION",
    "TARGETS",
    "TOKEN",
    "Fault",
    "Harness",
    "Inconsistency",
    "Problem",
    "ProviderProcess",
    "Report",
    "Scenario",
    "ScenarioStep",
    "StepFailed",
    "generate_scenario",
    "inconsistencies",
    "misdirection_problems",
    "new_stack",
    "render",
    "run_scenario",
    "run_scenarios",
    "taken_from_another_stack",
]
