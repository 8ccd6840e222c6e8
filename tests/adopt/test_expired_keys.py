"""Expired keys are never silent, through both front doors: the `expired` output, a
warning naming the key on refresh, preview and up, and on adoption; a key past its expiry
is due for `rotate_before_expiry_days`. Keys are made old by moving the emulator's clock
back while they are created (the Console stamps `created_at` and `expires_at`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pulumi_edgee.testing.plugin import PluginEngine

from .support import ORGANIZATION, TOKEN, Stack, ok, ops, set_keys
from .test_plugin_front_door import NO_ENV

DAY = timedelta(days=1)


def warned(logs: str, key_id: str) -> bool:
    return f"edgee: warning: API key {key_id} expired at" in logs


@pytest.mark.slow
def test_the_dynamic_resource_says_a_key_expired(env: Stack) -> None:
    stack = env.runner(fresh=True)
    set_keys(stack, {"old": {"name": "old", "expires_in_days": 1}, "fine": {"name": "fine"}})
    env.clock.offset = -3 * DAY  # made three days ago: expired two days ago
    up = ok(stack.up(), env, stack)
    env.clock.offset = timedelta()
    old, fine = stack.state.get("old"), stack.state.get("fine")
    assert old.outputs["expired"] is True, "made already past its expiry"
    assert fine.outputs["expired"] is False
    assert warned(up.logs, old.id) is False, "nothing to warn about while it is made"

    refresh = ok(stack.refresh(), env, stack)
    assert warned(refresh.logs, old.id)
    assert not warned(refresh.logs, fine.id)
    assert "no longer works at the Gateway; replace it with `pulumi up --replace" in refresh.logs
    preview = ok(stack.preview(), env, stack)
    assert ops(preview) == {"old": "same", "fine": "same"}, "a warning, not a change"
    assert warned(preview.logs, old.id)
    assert stack.state.get("old").outputs["expired"] is True


@pytest.mark.slow
def test_an_expired_key_is_due_for_rotation(env: Stack) -> None:
    stack = env.runner(fresh=True)
    keys = {"k": {"name": "k", "expires_in_days": 2, "rotate_before_expiry_days": 1}}
    set_keys(stack, keys)
    env.clock.offset = -5 * DAY
    ok(stack.up(), env, stack)
    env.clock.offset = timedelta()
    old = stack.state.get("k").id

    preview = ok(stack.preview(), env, stack)
    assert ops(preview) == {"k": "replace"}
    assert f"API key {old} is due for rotation: it expired at" in preview.logs
    up = ok(stack.up(), env, stack)
    assert ops(up) == {"k": "replace"}
    assert stack.state.get("k").outputs["expired"] is False
    assert old not in env.live()


def test_adopting_an_expired_key_warns(env: Stack) -> None:
    env.clock.offset = -10 * DAY
    made = env.console_create(name="legacy", expires_in_days=5)
    env.clock.offset = timedelta()
    stack = env.runner(fresh=True)
    set_keys(stack, {"legacy": {"name": "legacy", "adopt_id": made["id"], "expires_in_days": 5}})
    up = ok(stack.up(), env, stack)
    assert stack.state.get("legacy").id == made["id"]
    assert warned(up.logs, made["id"])
    assert "the stack now holds a key that does not work" in up.logs


@pytest.mark.slow
def test_the_plugin_says_a_key_expired(env: Stack) -> None:
    engine = PluginEngine(
        config={"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": env.emulator.url},
        env=dict(NO_ENV),
    )
    env.clock.offset = -3 * DAY
    (made,) = engine.up({"old": {"name": "old", "expiresInDays": 1}})
    env.clock.offset = timedelta()
    assert made.outputs["expired"] is True
    env.leaks.add_secrets(made.outputs["key"])

    key_id = engine.state["old"].id
    (read,) = engine.refresh()
    assert read.outputs["expired"] is True
    (warning,) = [r for r in engine.logs if r.severity == "WARNING" and "expired" in r.message]
    assert warning.message.startswith(f"API key {key_id} expired at")
    assert warning.urn.endswith("::old"), "under the resource it is about"
    (info,) = engine.invoke("edgee:index:getApiKeys", {}).result["keys"]
    assert info["expired"] is True
    env.leaks.record_all("engine log", engine.logs)
    env.leaks.record_all("plugin stderr", engine.stderr)
