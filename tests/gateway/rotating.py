"""A stack of `RotatingApiKey` resources through either front door, spoken to alike: the
dynamic provider under an unchanged Python program (`ProgramRunner`) or the plugin
(`PluginEngine`), each with a provider process per command, as the Pulumi CLI runs them.

Time passes as it does for a real stack, through the state's timestamps (as `pulumi stack
export`/`import` would move them): a key ages by moving `rotatedAt` back, a grace period
ends by moving `previousRetiresAt` back. A key's use at the Gateway is stamped by the
Console's clock, which the test can move back too (`made_ago`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from pulumi_edgee.properties import PYTHON_TO_WIRE
from pulumi_edgee.registry import ROTATING_API_KEY
from pulumi_edgee.testing import LeakDetector, ProviderCallError
from pulumi_edgee.testing.engine import SECRET_CONFIG_KEYS, EngineError, ResourceState, edgee_config
from pulumi_edgee.testing.gateway import GatewayOutcome, ask_gateway
from pulumi_edgee.testing.plugin import PluginEngine
from pulumi_edgee.testing.program import ProgramRunner

from .standin import ORGANIZATION, TOKEN, StandIn

PROGRAM = Path(__file__).resolve().parent / "programs" / "rotating"
MODEL = "openai/gpt-5.2"
ENV = {"EDGEE_READ_REUSE_SECONDS": "0"}


@dataclass
class Outcome:
    """What one command did: the first step per resource, what the provider said under
    the resources, and the error that stopped it, if any."""

    ops: dict[str, str]
    logs: str
    error: str | None = None


class Door(Protocol):
    name: str

    def up(self, keys: dict[str, dict[str, Any]]) -> Outcome: ...
    def preview(self, keys: dict[str, dict[str, Any]]) -> Outcome: ...
    def refresh(self) -> Outcome: ...
    def destroy(self) -> Outcome: ...
    def state(self, name: str) -> ResourceState: ...
    def names(self) -> list[str]: ...
    def serialized(self) -> list[Any]: ...


class DynamicDoor:
    """A Python program of `RotatingApiKey(...)` resources (the dynamic provider)."""

    name = "dynamic"

    def __init__(self, url: str) -> None:
        self.runner = ProgramRunner(
            PROGRAM,
            config=edgee_config(url, token=TOKEN, organization=ORGANIZATION),
            env=ENV,
            secret_config_keys=SECRET_CONFIG_KEYS,
        )

    def _outcome(self, result: Any) -> Outcome:
        ops: dict[str, str] = {}
        for step in result.steps:
            if ROTATING_API_KEY.name in step.urn:
                ops.setdefault(step.name, step.op)
        return Outcome(ops, result.logs, None if result.error is None else str(result.error))

    def up(self, keys: dict[str, dict[str, Any]]) -> Outcome:
        self.runner.set_config("keys", keys)
        return self._outcome(self.runner.up())

    def preview(self, keys: dict[str, dict[str, Any]]) -> Outcome:
        self.runner.set_config("keys", keys)
        return self._outcome(self.runner.preview())

    def refresh(self) -> Outcome:
        return self._outcome(self.runner.refresh())

    def destroy(self) -> Outcome:
        return self._outcome(self.runner.destroy())

    def state(self, name: str) -> ResourceState:
        return self.runner.state.get(name)

    def names(self) -> list[str]:
        return self.runner.state.names()

    def serialized(self) -> list[Any]:
        return [self.runner.export_state()]


class PluginDoor:
    """The same resources through the plugin (`edgee:index:RotatingApiKey`)."""

    name = "plugin"

    def __init__(self, url: str) -> None:
        self.engine = PluginEngine(
            {"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": url},
            env=ENV,
            type_token=ROTATING_API_KEY.token,
        )

    def _run(self, command: Any, *args: Any) -> Outcome:
        seen = len(self.engine.logs)
        error = None
        ops: dict[str, str] = {}
        try:
            for step in command(*args):
                ops.setdefault(step.name, step.op)
        except (ProviderCallError, EngineError) as failure:
            error = str(failure)
        logs = "\n".join(r.message for r in self.engine.logs[seen:])
        return Outcome(
            ops, logs + "\n" + (self.engine.stderr[-1] if self.engine.stderr else ""), error
        )

    @staticmethod
    def _program(keys: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {n: {PYTHON_TO_WIRE[k]: v for k, v in p.items()} for n, p in keys.items()}

    def up(self, keys: dict[str, dict[str, Any]]) -> Outcome:
        return self._run(self.engine.up, self._program(keys))

    def preview(self, keys: dict[str, dict[str, Any]]) -> Outcome:
        return self._run(self.engine.preview, self._program(keys))

    def refresh(self) -> Outcome:
        return self._run(self.engine.refresh)

    def destroy(self) -> Outcome:
        return self._run(self.engine.destroy)

    def state(self, name: str) -> ResourceState:
        return self.engine.state[name]

    def names(self) -> list[str]:
        return list(self.engine.state)

    def serialized(self) -> list[Any]:
        """State as a checkpoint holds it (secret outputs encrypted), logs and stderr."""
        return [
            {
                r.urn: {k: "[secret]" if k in r.secret_outputs else v for k, v in r.outputs.items()}
                for r in self.engine.state.values()
            },
            [r.message for r in self.engine.logs],
            self.engine.stderr,
        ]


DOORS = {"dynamic": DynamicDoor, "plugin": PluginDoor}


@dataclass
class Rotating:
    """A stand-in (Console and Gateway) and a stack of rotating keys through one door."""

    stand_in: StandIn
    door: Door
    leaks: LeakDetector = field(default_factory=LeakDetector)

    @contextmanager
    def made_ago(self, age: timedelta) -> Iterator[None]:
        """Within the block, the Console's clock is `age` in the past."""
        self.stand_in.clock.offset = -age
        try:
            yield
        finally:
            self.stand_in.clock.offset = timedelta()

    def up(self, keys: dict[str, dict[str, Any]]) -> Outcome:
        """`pulumi up`, which must succeed."""
        done = self.door.up(keys)
        assert done.error is None, done.error
        self._record(done)
        return done

    def _record(self, done: Outcome) -> None:
        self.leaks.record(f"{self.door.name} provider output", done.logs)
        for name in self.door.names():
            outputs = self.door.state(name).outputs
            for secret in ("key", "previousKey"):
                if outputs.get(secret):
                    self.leaks.add_secrets(str(outputs[secret]))
                    assert secret in self.door.state(name).secret_outputs, secret

    def outputs(self, name: str) -> dict[str, Any]:
        return self.door.state(name).outputs

    def live(self) -> dict[str, dict[str, Any]]:
        keys = self.stand_in.http.get("/_emulator/keys").json()["keys"]
        return {key["id"]: key for key in keys}

    def ask(self, secret: str) -> GatewayOutcome:
        return ask_gateway(self.stand_in.url, secret, MODEL)

    def rotated_ago(self, name: str, ago: timedelta) -> None:
        """Move the state's `rotatedAt` back: the current key is `ago` old."""
        self.door.state(name).outputs["rotatedAt"] = _iso(datetime.now(timezone.utc) - ago)

    def end_grace(self, name: str, *, ago: timedelta = timedelta(minutes=1)) -> None:
        """Move the state's `previousRetiresAt` into the past (an edited checkpoint)."""
        outputs = self.door.state(name).outputs
        assert outputs.get("previousKeyId"), "no grace period to end"
        outputs["previousRetiresAt"] = _iso(datetime.now(timezone.utc) - ago)


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
