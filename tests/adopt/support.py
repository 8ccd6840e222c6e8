"""Helpers shared by the adoption, lookup and rotation tests: a stack over the real
provider server and an emulator whose clock the test moves, and keys made "in the
Console" (straight through the Console API, as a person would)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from pulumi_edgee.testing import (
    UNKNOWN_VALUE,
    EmulatorHandle,
    LeakDetector,
    ProgramRunner,
    RunResult,
    edgee_config,
)
from pulumi_edgee.testing.provider_server import ProviderServer

TOKEN = "tok_adopt_tests_7c2e41b9"
ORGANIZATION = "org_1"
PROGRAMS = Path(__file__).resolve().parent / "programs"
KEYS_PROGRAM = PROGRAMS / "keys"


@dataclass
class Clock:
    """The emulator's clock: real time shifted by `offset`, so keys can be made old."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


# Every read walks the list, so changes made in the Console show at once.
PROVIDER_ENV = {"EDGEE_READ_REUSE_SECONDS": "0"}


@dataclass
class Stack:
    """An emulator with a movable clock, runners for programs, and a leak search over
    what they serialize."""

    emulator: EmulatorHandle
    leaks: LeakDetector
    clock: Clock
    servers: list[ProviderServer] = field(default_factory=list)

    def runner(
        self, program: Path = KEYS_PROGRAM, *, fresh: bool = False, **config: Any
    ) -> ProgramRunner:
        """A runner for `program`. With `fresh`, every command gets a provider process of
        its own, as the CLI starts one (for behaviour that depends on what one command's
        process remembers); otherwise one process serves all commands, which is faster."""
        server = None
        if not fresh:
            server = ProviderServer(project="stack", env=PROVIDER_ENV)
            self.servers.append(server)
        return ProgramRunner(
            program,
            server,
            {**edgee_config(self.emulator.url, token=TOKEN, organization=ORGANIZATION), **config},
            env=PROVIDER_ENV,
            secret_config_keys=["edgee:apiToken"],
        )

    def stop(self) -> None:
        """Stop the shared provider processes, recording what they printed."""
        for server in self.servers:
            server.stop()
            self.leaks.record("provider output", server.stdout_text() + server.stderr_text())

    def console_create(self, **body: Any) -> dict[str, Any]:
        """A key made outside the stack, as in the Edgee Console; returns it with `key`."""
        with httpx.Client(
            base_url=self.emulator.organization_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10.0,
        ) as client:
            response = client.post("/api_keys", json=body)
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        self.leaks.add_secrets(created["key"])
        return created

    def live(self) -> dict[str, dict[str, Any]]:
        return {k["id"]: k for k in self.emulator.keys()}

    def creates(self) -> int:
        """Console API creates answered so far."""
        return sum(
            1
            for r in self.emulator.requests()
            if r["method"] == "POST" and r["path"].endswith("/api_keys")
        )


def set_keys(stack: ProgramRunner, keys: dict[str, dict[str, Any]]) -> None:
    stack.set_config("keys", json.dumps(keys))


def ok(result: RunResult, env: Stack, stack: ProgramRunner) -> RunResult:
    """Fail on an error; record what the step serialized for the leak search."""
    env.leaks.record(f"{result.operation} provider output", result.logs)
    assert result.error is None, result.error
    for output in result.outputs.values():
        if output.secret and output.value not in (None, UNKNOWN_VALUE):
            env.leaks.add_secrets(str(output.value))
        else:
            env.leaks.record("plain stack output", output.value)
    env.leaks.record("exported state", stack.export_state())
    for res in stack.state.resources:
        if "key" in res.outputs and res.outputs["key"] is not None:
            assert "key" in res.secret_outputs, f"{res.name}: `key` must be secret in state"
        env.leaks.record(
            f"plain outputs of {res.name}",
            {k: v for k, v in res.outputs.items() if k not in res.secret_outputs},
        )
    return result


def ops(result: RunResult) -> dict[str, str]:
    """The first step per key resource (a replacement's deferred delete comes later)."""
    first: dict[str, str] = {}
    for step in result.steps:
        if "edgee:ApiKey" in step.urn:
            first.setdefault(step.name, step.op)
    return first
