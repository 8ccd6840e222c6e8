"""Seeded scenarios: small stacks (one to three ApiKey resources, or in a share of them
RotatingApiKey resources) taken through a seeded sequence of commands, with one or two
fault rules armed before each (see `scripts/fault_scenarios.py` for the kinds), some with a
second stack of identical keys or a command first pointed at another organization.

In a stack of rotating keys, what replaces an `ApiKey` rotates in place: a new current key
is made and the key before the previous one deleted, under the same faults.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import Any

from pulumi_edgee.registry import ROTATING_API_KEY

from .scenarios import FAULT_KINDS, TARGETS, Fault, Scenario, ScenarioStep, StepKind

# The requests each kind of step makes (a create with an unknown outcome lists; a key
# declared inactive is updated after its create; a replacement deletes the old key).
_RELEVANT: dict[StepKind, tuple[str, ...]] = {
    "create": ("create", "list", "update", "delete"),
    "add": ("create", "list", "update", "delete"),
    "update": ("update",),
    "replace": ("create", "list", "delete"),
    "remove": ("delete",),
    "refresh": ("read", "list"),
    "destroy": ("delete",),
}
# Few names and settings, so that two resources with identical settings are common: a
# create with an unknown outcome must tell its own key from a sibling's.
_NAMES = ("alpha", "beta", "gamma")
_MODELS = ("anthropic/claude-opus-4-6", "openai/gpt-5.2", "mistral/large-2", "google/gemini-3")
_ASSISTANTS = ("claude_code", "opencode", "codex")
# A 5xx the client retries; 501 is "not served" and deliberately left out.
_STATUSES = (500, 502, 503, 504)
# How many requests a rule hits, with weights. Up to 4 are absorbed by the client's
# retries of a read, update or delete; 5 and more (and None, "until cleared") exhaust
# them and fail the step, which the re-run must then repair. Retries wait (full-jitter
# back-off from 0.2 s), which is most of a scenario's time: small counts dominate.
# Keys other tools or API versions made, inserted as given (`odd_key`).
_ODD_KEYS: tuple[dict[str, Any], ...] = (
    {"name": "alpha", "max_usage": 12.5},
    {"name": "other tool", "models": "x", "surprise": [1]},
    {"name": "older api", "created_at": "last tuesday"},
    {"name": "beta", "active": "maybe", "expires_at": 17},
    {"name": "gamma", "created_at": "2026-01-01T00:00:00", "expires_at": "2026-03-02T00:00:00Z"},
    {"name": "far future", "expires_at": "9999-12-31T23:59:59-01:00"},
    {"name": "distant past", "created_at": "0001-01-01T00:00:00+01:00"},
)
_COUNTS: dict[int | None, int] = {1: 45, 2: 20, 3: 6, 4: 4, 5: 10, 6: 4, 8: 3, None: 8}
# Shares of scenarios with a second stack, and with a command pointed at another
# organization: modest, so a run's length stays about the same.
SECOND_STACK_SHARE = 0.1
OTHER_ORGANIZATION_SHARE = 0.08
# The share of scenarios whose stack holds RotatingApiKey resources.
ROTATING_SHARE = 0.3


def _random_inputs(rng: random.Random) -> dict[str, Any]:
    inputs: dict[str, Any] = {"name": rng.choice(_NAMES)}
    if rng.random() < 0.2:
        inputs["type"] = "coding_agent"
        inputs["codingAssistant"] = rng.choice(_ASSISTANTS)
    if rng.random() < 0.4:
        inputs["models"] = rng.sample(_MODELS, rng.randint(1, 3))
    if rng.random() < 0.4:
        inputs["maxUsage"] = rng.choice((10, 100, 1000))
    if rng.random() < 0.3:
        inputs["expiresInDays"] = rng.choice((30, 90))
    if rng.random() < 0.2:
        inputs["email"] = "ops@example.com"
    if rng.random() < 0.15:
        inputs["active"] = False
    return inputs


def _new_resource(rng: random.Random, program: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A new resource's inputs; often a twin of an existing one (identical settings)."""
    if program and rng.random() < 0.5:
        return dict(program[rng.choice(sorted(program))])
    return _random_inputs(rng)


def _update_inputs(rng: random.Random, inputs: dict[str, Any]) -> dict[str, Any]:
    """Change one property that updates in place."""
    changed = dict(inputs)
    prop = rng.choice(("name", "models", "maxUsage", "email", "active"))
    if prop == "name":
        changed["name"] = rng.choice([n for n in _NAMES if n != inputs["name"]])
    elif prop == "models":
        models = rng.sample(_MODELS, rng.randint(0, 3))
        if sorted(models) == sorted(inputs.get("models", [])):
            models = [] if models else [_MODELS[0]]
        changed["models"] = models
    elif prop == "maxUsage":
        changed["maxUsage"] = rng.choice(
            [v for v in (None, 10, 100, 1000) if v != inputs.get(prop)]
        )
    elif prop == "email":
        changed["email"] = None if inputs.get("email") else "team@example.com"
    else:
        changed["active"] = not inputs.get("active", True)
    return {k: v for k, v in changed.items() if v is not None}


def _replace_inputs(rng: random.Random, inputs: dict[str, Any]) -> dict[str, Any]:
    """Change one property that forces a replacement."""
    changed = dict(inputs)
    if rng.random() < 0.5:
        changed["expiresInDays"] = rng.choice(
            [v for v in (None, 30, 90) if v != inputs.get("expiresInDays")]
        )
    elif inputs.get("type") == "coding_agent":
        changed["type"] = "api"
        changed["codingAssistant"] = None
    else:
        changed["type"] = "coding_agent"
        changed["codingAssistant"] = rng.choice(_ASSISTANTS)
    return {k: v for k, v in changed.items() if v is not None}


def _random_fault(rng: random.Random, step: StepKind) -> Fault:
    weights = (20, 25, 25, 15, 15, 10, 8, 6, 10, 5, 10, 5, 5, 6)
    kind = rng.choices(FAULT_KINDS, weights=weights)[0]
    relevant = _RELEVANT[step]
    target = rng.choice(relevant) if rng.random() < 0.7 else rng.choice(tuple(TARGETS))
    options: dict[str, Any] = {}
    count = rng.choices(tuple(_COUNTS), weights=tuple(_COUNTS.values()))[0]
    if kind == "latency":
        options["delay_ms"] = rng.randint(10, 100)
        count = rng.randint(1, 3)
    elif kind == "rate_limit":
        options["retry_after"] = 0  # whole seconds only: 0 keeps the run fast
    elif kind == "server_error":
        options["status"] = rng.choice(_STATUSES)
        if rng.random() < 0.3:
            options["retry_after"] = 0
    elif kind == "apply_then_fail":
        if rng.random() < 0.3:
            options["drop"] = True
        else:
            options["status"] = rng.choice(_STATUSES)
    elif kind == "late_apply" and target == "update":
        # An update applied later than its deadline after it was sent could undo a later
        # command's write: outside the contract (docs/internals/reliability.md), which
        # no client can enforce without conditional writes. Its in-contract form:
        return _held_rename(rng)
    elif kind == "late_apply":
        # Applied after the provider's 1 s request deadline (PROVIDER_BUDGETS).
        options["delay_ms"] = rng.randint(1200, 2000)
        count = rng.randint(1, 2)
    elif kind == "apply_then_garble":
        options["status"] = rng.choice((200, 201))
    elif kind == "slow_drip":
        options["interval_ms"] = rng.randint(20, 60)
        count = rng.randint(1, 2)
    elif kind in ("endless_pages", "growing_pages"):
        target = "list"  # the list route's fault: any other route would answer unapplied
    elif kind == "answer_unapplied":
        target = "update"  # a rename or an update acknowledged, not applied
    elif kind == "held_rename":
        return _held_rename(rng)
    elif kind == "clock_skew":
        options["offset_seconds"] = rng.choice((-3600, -600, -180, 180, 600))
        target, count = "any", None
    elif kind == "odd_key":
        options.update(rng.choice(_ODD_KEYS))
        target, count = "any", None
    return Fault(kind, target, count, tuple(sorted(options.items())))


def _held_rename(rng: random.Random) -> Fault:
    """An update applied within the 1 s request deadline (PROVIDER_BUDGETS) after it was
    sent, often after its client gave up on it; every delete fails meanwhile."""
    delay = (("delay_ms", rng.randint(600, 1000)),)
    return Fault("held_rename", "update", rng.randint(1, 3), delay)


def _unknown_outcome_faults(rng: random.Random) -> tuple[Fault, ...]:
    """Faults that leave a create's outcome unknown to its client, the create held long
    enough for the other stack's identical create to be made meanwhile: applied after the
    client gave up, or held then dropped unapplied, applied with the answer lost, or
    applied with an unreadable answer. Whichever stack's create comes first meets them."""
    shape = rng.choice(("late", "dropped", "lost", "garbled"))
    if shape == "late":
        return (Fault("late_apply", "create", 1, (("delay_ms", rng.randint(1200, 2000)),)),)
    held = Fault("latency", "create", 1, (("delay_ms", rng.randint(500, 900)),))
    if shape == "dropped":
        return (held, Fault("drop_connection", "create", 1))
    if shape == "lost":
        answer = ("drop", True) if rng.random() < 0.5 else ("status", rng.choice(_STATUSES))
        return (held, Fault("apply_then_fail", "create", 1, (answer,)))
    status = ("status", rng.choice((200, 201)))
    return (held, Fault("apply_then_garble", "create", 1, (status,)))


def _mix_in(rng: random.Random, steps: list[ScenarioStep]) -> None:
    """Make one step that creates keys a two-stack step, and one refresh or destroy
    first run pointed at another organization, each in a share of the scenarios."""
    if rng.random() < SECOND_STACK_SHARE:
        creating = [n for n, s in enumerate(steps) if s.kind in ("create", "add", "replace")]
        number = rng.choice(creating)
        faults = _unknown_outcome_faults(rng)
        steps[number] = dataclasses.replace(steps[number], faults=faults, second_stack=True)
    if rng.random() < OTHER_ORGANIZATION_SHARE:
        reading = [n for n, s in enumerate(steps) if s.kind in ("refresh", "destroy")]
        number = rng.choice(reading)
        steps[number] = dataclasses.replace(steps[number], other_organization_first=True)


def generate_scenario(seed: int, index: int) -> Scenario:
    """The scenario number `index` of the run seeded with `seed` (independent of others)."""
    rng = random.Random(f"fault-scenarios/{seed}/{index}")  # noqa: S311 - not for security
    program: dict[str, dict[str, Any]] = {}
    counter = 0

    def add() -> None:
        # Anywhere in the program: the engine creates a new resource when it reaches it,
        # which may be before it diffs (and the provider learns about) the existing ones.
        nonlocal program, counter
        entries = list(program.items())
        entries.insert(rng.randint(0, len(entries)), (f"r{counter}", _new_resource(rng, program)))
        program = dict(entries)
        counter += 1

    for _ in range(rng.randint(1, 3)):
        add()
    kinds: list[StepKind] = ["create"]
    kinds += rng.choices(
        ("update", "replace", "add", "remove", "refresh"),
        weights=(30, 20, 15, 10, 25),
        k=rng.randint(2, 4),
    )
    kinds.append("destroy")
    steps: list[ScenarioStep] = []
    for number, kind in enumerate(kinds):
        out_of_band: str | None = None
        if number > 0 and kind in ("update", "replace") and program:
            name = rng.choice(sorted(program))
            change = _update_inputs if kind == "update" else _replace_inputs
            program[name] = change(rng, program[name])
        elif kind == "remove" and len(program) > 1:
            del program[rng.choice(sorted(program))]
        elif kind in ("add", "update", "replace", "remove"):
            kind = "add"
            add()
        elif kind == "refresh" and program and rng.random() < 0.25:
            out_of_band = rng.choice(sorted(program))
        faults: tuple[Fault, ...] = ()
        if rng.random() < 0.85:
            faults = tuple(_random_fault(rng, kind) for _ in range(rng.choice((1, 1, 2))))
        snapshot = {name: dict(inputs) for name, inputs in program.items()}
        steps.append(ScenarioStep(kind, {} if kind == "destroy" else snapshot, faults, out_of_band))
    # A stream of its own: the steps above are the same with or without the mixed-in kinds.
    _mix_in(random.Random(f"fault-scenarios/{seed}/{index}/mixed-in"), steps)  # noqa: S311
    # Likewise: which scenarios are of rotating keys changes none of the steps above.
    rotating = random.Random(f"fault-scenarios/{seed}/{index}/resource")  # noqa: S311
    if rotating.random() < ROTATING_SHARE:
        steps = [dataclasses.replace(s, program=_rotating(s.program)) for s in steps]
        return Scenario(seed, index, tuple(steps), ROTATING_API_KEY.name)
    return Scenario(seed, index, tuple(steps))


def _rotating(program: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The program's resources as rotating keys, each with settings of its own (by name, so
    the same in every step): rotation every 30 days, a grace of 1 or 7 days, and for some
    the idle rule at 1 hour (a key made under a clock skew is that old at once)."""
    rotated: dict[str, dict[str, Any]] = {}
    for name, inputs in program.items():
        number = int(name.removeprefix("r"))
        settings: dict[str, Any] = {"rotateEveryDays": 30, "graceDays": (1, 7)[number % 2]}
        if number % 3 == 0:
            settings["retireWhenIdleHours"] = 1
        rotated[name] = {**inputs, **settings}
    return rotated
