"""Each lifecycle step of a key, proven by the official `edgee` client against the Gateway
stand-in: an unchanged Pulumi program run by the engine-faithful runner through the real
provider server (a process per command), with every Gateway answer checked against Edgee's
description."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_edgee.testing.engine import SECRET_CONFIG_KEYS, edgee_config
from pulumi_edgee.testing.gateway import GatewayOutcome, ask_gateway
from pulumi_edgee.testing.program import ProgramRunner, RunResult
from pulumi_edgee.testing.secrets import LeakDetector

from .standin import ORGANIZATION, TOKEN, StandIn, serve_stand_in

APP = Path(__file__).resolve().parent / "programs" / "app"
MODEL = "openai/gpt-5.2"


@pytest.fixture
def stack() -> Iterator[tuple[StandIn, ProgramRunner, LeakDetector]]:
    leaks = LeakDetector()
    leaks.add_secrets(TOKEN)
    with serve_stand_in() as stand_in:
        # Each command in a provider process of its own, as the Pulumi CLI runs them.
        runner = ProgramRunner(
            APP,
            config=edgee_config(stand_in.url, token=TOKEN, organization=ORGANIZATION),
            env={"EDGEE_READ_REUSE_SECONDS": "0"},
            secret_config_keys=SECRET_CONFIG_KEYS,
        )
        yield stand_in, runner, leaks
        leaks.record("exported state", runner.export_state())
    leaks.assert_clean()


def up(runner: ProgramRunner, leaks: LeakDetector, **keys: dict[str, Any]) -> RunResult:
    runner.set_config("keys", keys)
    result = runner.up()
    assert result.error is None, result.error
    leaks.record("provider process output", result.logs)
    for name in keys:
        leaks.add_secrets(str(result.outputs[f"{name}-key"].value))
    return result


def seen(result: RunResult, name: str) -> dict[str, str]:
    """What the program's Gateway calls saw while `up` ran."""
    output = result.outputs[f"{name}-seen"]
    assert output.secret, "derived from the key, the probe's output stays secret"
    return dict(json.loads(output.value))


def ask(stand_in: StandIn, secret: str, model: str = MODEL) -> GatewayOutcome:
    return ask_gateway(stand_in.url, secret, model)


def answered(text: str = "ping") -> str:
    return str(GatewayOutcome(answered=True, text=text))


def test_every_lifecycle_step_as_the_official_client_sees_it(
    stack: tuple[StandIn, ProgramRunner, LeakDetector],
) -> None:
    stand_in, runner, leaks = stack
    props = {"name": "app", "models": [MODEL], "expires_in_days": 30}

    # A key made by `up` answers, already while `up` runs.
    made = up(runner, leaks, app=props)
    first = str(made.outputs["app-key"].value)
    assert seen(made, "app") == {"new": answered()}
    assert ask(stand_in, first) == GatewayOutcome(answered=True, text="ping")

    # A model outside its restrictions is refused.
    outside = ask(stand_in, first, "anthropic/claude-opus-4-6")
    assert (outside.status, outside.code) == (403, "forbidden")
    assert outside.message == "Model 'anthropic/claude-opus-4-6' is not allowed for this API key"

    # An in-place `active=False` stops it at once; `active=True` brings it back.
    disabled = up(runner, leaks, app={**props, "active": False})
    assert [s.op for s in disabled.steps_for("app")] == ["update"]
    inactive = GatewayOutcome(False, None, 403, "forbidden", "API key is inactive")
    assert seen(disabled, "app") == {"new": str(inactive)}
    assert ask(stand_in, first) == inactive
    up(runner, leaks, app=props)
    assert ask(stand_in, first).answered

    # A replacement (expiry change): the new key answers while the old one still does,
    # before the old is deleted; after `up` the old one is refused.
    runner.set_config("watch", {"old": first}, secret=True)
    replaced = up(runner, leaks, app={**props, "expires_in_days": 60})
    assert [s.op for s in replaced.steps_for("app")] == ["replace", "delete-replaced"]
    second = str(replaced.outputs["app-key"].value)
    assert second != first
    assert seen(replaced, "app") == {"new": answered(), "old": answered()}
    unknown = GatewayOutcome(False, None, 401, "unauthorized", "Invalid API key")
    assert ask(stand_in, first) == unknown
    assert ask(stand_in, second).answered

    # After destroy, every key the stack ever made is refused.
    destroyed = runner.destroy()
    assert destroyed.error is None, destroyed.error
    leaks.record("provider process output", destroyed.logs)
    assert stand_in.http.get("/_emulator/keys").json()["keys"] == []
    for secret in (first, second):
        assert ask(stand_in, secret) == unknown
    assert stand_in.app.checked >= 10
