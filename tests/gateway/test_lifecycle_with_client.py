"""Each lifecycle step of a key, proven by the official `edgee` client against the Gateway
stand-in: an unchanged Pulumi program run by the engine-faithful runner through the real
provider server (a process per command), with every Gateway answer checked against Edgee's
description."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
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


UNKNOWN = GatewayOutcome(False, None, 401, "unauthorized", "Invalid API key")


def live_keys(stand_in: StandIn) -> dict[str, dict[str, Any]]:
    return {key["id"]: key for key in stand_in.http.get("/_emulator/keys").json()["keys"]}


def logged(stand_in: StandIn) -> list[dict[str, Any]]:
    """Every request the stand-in answered, oldest first (Console and Gateway routes)."""
    records: list[dict[str, Any]] = stand_in.http.get("/_emulator/requests").json()["requests"]
    return records


@contextmanager
def application(stand_in: StandIn, secret: str) -> Iterator[list[GatewayOutcome]]:
    """An application calling the Gateway with `secret` (official client) again and again
    while the block runs; its first call is answered before the block starts."""
    outcomes: list[GatewayOutcome] = []
    first, stop = threading.Event(), threading.Event()

    def calls() -> None:
        while not stop.is_set():
            outcomes.append(ask(stand_in, secret))
            first.set()
            stop.wait(0.2)

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(calls)
        first.wait(30)
        try:
            yield outcomes
        finally:
            stop.set()
            running.result()  # an error in the application fails the test


@pytest.mark.slow
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
    assert ask(stand_in, first) == UNKNOWN
    assert ask(stand_in, second).answered

    # After destroy, every key the stack ever made is refused.
    destroyed = runner.destroy()
    assert destroyed.error is None, destroyed.error
    leaks.record("provider process output", destroyed.logs)
    assert stand_in.http.get("/_emulator/keys").json()["keys"] == []
    for secret in (first, second):
        assert ask(stand_in, secret) == UNKNOWN
    assert stand_in.app.checked >= 10


@pytest.mark.slow
def test_a_rotation_hands_the_application_a_working_key_before_the_old_one_dies(
    stack: tuple[StandIn, ProgramRunner, LeakDetector],
) -> None:
    stand_in, runner, leaks = stack
    props = {
        "name": "app",
        "models": [MODEL],
        "expires_in_days": 30,
        "rotate_before_expiry_days": 7,
    }

    # Made 25 days ago by the Console's clock: it expires in 5 days, so rotation is due.
    stand_in.clock.offset = -timedelta(days=25)
    made = up(runner, leaks, app=props)
    stand_in.clock.offset = timedelta()
    old_id, old = str(made.outputs["app-id"].value), str(made.outputs["app-key"].value)
    assert ask(stand_in, old).answered, "5 days before expiry it still works"

    # An unchanged program: the new key answers while `up` runs, and so does the old one,
    # not yet deleted; after `up` only the new one works.
    runner.set_config("watch", {"old": old}, secret=True)
    before = len(logged(stand_in))
    rotated = up(runner, leaks, app=props)
    assert [s.op for s in rotated.steps_for("app")] == ["replace", "delete-replaced"]
    assert seen(rotated, "app") == {"new": answered(), "old": answered()}
    new_id, new = str(rotated.outputs["app-id"].value), str(rotated.outputs["app-key"].value)
    assert new_id != old_id

    # The request log during `up`: the new key made, the program's calls (new key, then
    # old) answered, and only then the old key deleted (list walks, such as the process's
    # leftover sweep, left out).
    trail = [
        (r["method"], r["path"].rsplit("/", 1)[-1], r["status"])
        for r in logged(stand_in)[before:]
        if r["method"] == "DELETE"
        or (r["method"] == "POST" and r["path"].endswith(("/api_keys", "/completions")))
    ]
    assert trail == [
        ("POST", "api_keys", 201),
        ("POST", "completions", 200),
        ("POST", "completions", 200),
        ("DELETE", old_id, 200),
    ]

    assert ask(stand_in, old) == UNKNOWN
    assert ask(stand_in, new).answered
    live = live_keys(stand_in)
    assert list(live) == [new_id]
    assert rotated.outputs["app-key"].secret
    assert new == live[new_id]["key"], "the stack exports the new key's secret"

    # The rotated key is not due again.
    again = up(runner, leaks, app=props)
    assert [s.op for s in again.steps_for("app")] == ["same"]
    assert str(again.outputs["app-key"].value) == new


@pytest.mark.slow
def test_an_adopted_key_keeps_working_throughout_adoption(
    stack: tuple[StandIn, ProgramRunner, LeakDetector],
) -> None:
    stand_in, runner, leaks = stack
    # A key made in the Console, already used by an application.
    made = stand_in.create_key(name="legacy app", models=[MODEL], max_usage=10)
    key_id, secret = str(made["id"]), str(made["key"])
    leaks.add_secrets(secret)
    assert ask(stand_in, secret).answered

    # The stack adopts it with other in-place settings while the application keeps calling.
    runner.set_config("watch", {"app": secret}, secret=True)
    declared = {"adopt_id": key_id, "name": "adopted app", "models": [MODEL], "max_usage": 50}
    with application(stand_in, secret) as outcomes:
        adopted = up(runner, leaks, app=declared)
    assert outcomes, "the application called while the stack adopted its key"
    assert set(outcomes) == {GatewayOutcome(answered=True, text="ping")}
    assert [s.op for s in adopted.steps_for("app")] == ["create"]
    assert seen(adopted, "app") == {"new": answered(), "app": answered()}
    assert ask(stand_in, secret).answered

    # The stack holds that very key and secret, with the declared settings; no key was made.
    assert adopted.outputs["app-key"].secret
    assert str(adopted.outputs["app-key"].value) == secret
    assert str(adopted.outputs["app-id"].value) == key_id
    live = live_keys(stand_in)
    assert list(live) == [key_id]
    assert (live[key_id]["name"], live[key_id]["max_usage"]) == ("adopted app", 50)
    creates = [
        r for r in logged(stand_in) if r["method"] == "POST" and r["path"].endswith("/api_keys")
    ]
    assert len(creates) == 1, "only the Console's own create"
    gateway = [r for r in logged(stand_in) if r["path"] == "/v1/chat/completions"]
    assert len(gateway) >= 4
    refused = [r for r in gateway if r["status"] != 200]
    assert refused == [], "no Gateway call was refused at any moment"

    # The adopted limit is the one the Gateway enforces: past the old 10 USD, it answers.
    assert stand_in.set_spend(key_id, 20).status_code == 200
    assert ask(stand_in, secret).answered
    assert [s.op for s in up(runner, leaks, app=declared).steps_for("app")] == ["same"]
    assert ask(stand_in, secret).answered
