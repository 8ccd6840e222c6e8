"""Rotation through an unchanged program, the runner and the real provider server. Keys
are made old honestly: the emulator's clock is moved back while they are created (the
Console stamps `created_at` and `expires_at`), then returned to the present."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pulumi.output import Unknown

from pulumi_edgee.testing import configured_server

from .support import ORGANIZATION, PROVIDER_ENV, TOKEN, Stack, ok, ops, set_keys

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
EXPIRING = {"expires_in_days": 30, "rotate_before_expiry_days": 7}


def _made_at(env: Stack, stack: Any, age: timedelta) -> None:
    """Run `up` with the Console's clock `age` in the past: new keys are that old."""
    env.clock.offset = -age
    ok(stack.up(), env, stack)
    env.clock.offset = timedelta()


@pytest.mark.slow
def test_rotation_before_expiry_replaces_the_key_new_one_first(env: Stack) -> None:
    stack = env.runner(fresh=True)  # the notice is in each command's provider output
    keys = {
        "safe": {"name": "safe", **EXPIRING},
        "due": {"name": "due", **EXPIRING},
    }
    set_keys(stack, {"safe": keys["safe"]})
    _made_at(env, stack, 23 * DAY - HOUR)  # expires in 7 days and an hour
    set_keys(stack, keys)
    _made_at(env, stack, 23 * DAY + HOUR)  # expires in 7 days less an hour
    old = {name: stack.state.get(name).id for name in keys}

    preview = ok(stack.preview(), env, stack)
    assert ops(preview) == {"safe": "same", "due": "replace"}
    assert f"API key {old['due']} is due for rotation: it expires at" in preview.logs

    env.emulator.clear_requests()
    up = ok(stack.up(), env, stack)
    assert ops(up) == {"safe": "same", "due": "replace"}
    new = stack.state.get("due")
    live = env.live()
    assert old["due"] not in live
    assert new.id in live
    assert up.outputs["due-key"].value == live[new.id]["key"], "dependents get the new secret"
    writes = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in env.emulator.requests()]
    writes = [w for w in writes if w[0] != "GET"]
    assert writes[0] == ("POST", "api_keys"), "the new key is created first"
    assert [w for w in writes if w[0] == "DELETE"] == [("DELETE", old["due"])]
    assert writes[-1] == ("DELETE", old["due"]), "the old key is deleted last"

    # Never loops: the new key is not due, nor is it after a refresh.
    assert ops(ok(stack.preview(), env, stack)) == {"safe": "same", "due": "same"}
    ok(stack.refresh(), env, stack)
    assert ops(ok(stack.up(), env, stack)) == {"safe": "same", "due": "same"}


def test_rotation_by_age(env: Stack) -> None:
    stack = env.runner()
    keys = {"young": {"name": "young", "rotate_every_days": 11}}
    set_keys(stack, keys)
    _made_at(env, stack, 10 * DAY)
    keys["old"] = {"name": "old", "rotate_every_days": 10}
    set_keys(stack, keys)
    _made_at(env, stack, 10 * DAY)
    assert ops(ok(stack.up(), env, stack)) == {"young": "same", "old": "replace"}
    assert ops(ok(stack.up(), env, stack)) == {"young": "same", "old": "same"}

    # A changed setting is recorded without a request, and applies at once.
    key = stack.state.get("young").outputs["key"]
    keys["young"]["rotate_every_days"] = 20
    set_keys(stack, keys)
    env.emulator.clear_requests()
    assert ops(ok(stack.up(), env, stack)) == {"young": "update", "old": "same"}
    assert [r for r in env.emulator.requests() if r["method"] != "GET"] == []
    young = stack.state.get("young")
    assert young.outputs["rotateEveryDays"] == 20
    assert young.outputs["key"] == key
    assert "key" in young.secret_outputs
    keys["young"]["rotate_every_days"] = 9
    set_keys(stack, keys)
    assert ops(ok(stack.up(), env, stack)) == {"young": "replace", "old": "same"}


def test_unknown_rotation_settings_decide_nothing_in_preview(env: Stack) -> None:
    stack = env.runner()
    set_keys(stack, {"k": {"name": "k", "rotate_every_days": 5}})
    _made_at(env, stack, 6 * DAY)
    state = stack.state.get("k")
    news = {**state.inputs, "rotateEveryDays": Unknown()}
    with configured_server(
        env.emulator.url, token=TOKEN, organization=ORGANIZATION, env=PROVIDER_ENV
    ) as server:
        diff = server.diff(state.id, state.urn, state.outputs, news, state.inputs)
        assert diff.replaces == []
        assert diff.changes == "some", "an unknown setting may change: an update, decided at up"
        known = server.diff(state.id, state.urn, state.outputs, state.inputs, state.inputs)
        assert known.replaces == ["rotateEveryDays"]
        env.leaks.record("server output", server.stdout_text() + server.stderr_text())


@pytest.mark.slow
def test_an_interrupted_rotation_keeps_the_old_key_and_the_next_up_finishes_it(
    env: Stack,
) -> None:
    stack = env.runner()
    set_keys(stack, {"k": {"name": "k", **EXPIRING}})
    _made_at(env, stack, 25 * DAY)
    old = stack.state.get("k")

    # The new key cannot be made: the old one stays, working, with its secret in state.
    env.emulator.add_fault("server_error", method="POST", path=r".*/api_keys", count=None)
    failed = stack.up()
    assert failed.error is not None
    env.emulator.clear_faults()
    live = env.live()
    assert list(live) == [old.id]
    assert live[old.id]["active"]
    assert stack.state.get("k").id == old.id
    assert stack.state.get("k").outputs["key"] == live[old.id]["key"]

    # The new key is made but the old one cannot be deleted: both work; the stack
    # holds the new one and remembers the old one for deletion.
    env.emulator.add_fault("server_error", method="DELETE", path=r".*/api_keys/.*", count=None)
    halfway = stack.up()
    assert halfway.error is not None
    env.emulator.clear_faults()
    new = stack.state.get("k")
    assert new.id != old.id
    assert set(env.live()) == {old.id, new.id}
    pending = [r for r in stack.state.resources if r.pending_delete]
    assert [r.id for r in pending] == [old.id]

    finished = ok(stack.up(), env, stack)
    assert [s.op for s in finished.steps if "ApiKey" in s.urn] == ["same", "delete-replaced"]
    assert list(env.live()) == [new.id]
    assert ops(ok(stack.preview(), env, stack)) == {"k": "same"}


def test_a_rotation_whose_create_answer_is_lost_makes_exactly_one_new_key(env: Stack) -> None:
    stack = env.runner()
    set_keys(stack, {"k": {"name": "k", **EXPIRING}})
    _made_at(env, stack, 25 * DAY)
    old = stack.state.get("k")
    env.emulator.add_fault("apply_then_fail", method="POST", path=r".*/api_keys", drop=True)
    up = ok(stack.up(), env, stack)
    assert ops(up) == {"k": "replace"}
    new = stack.state.get("k")
    live = env.live()
    assert list(live) == [new.id], "one new key, the old one deleted"
    assert new.id != old.id
    assert new.outputs["key"] == live[new.id]["key"]
