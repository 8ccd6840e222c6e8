"""Adopting keys made in the Console (`adopt_id`), through unchanged programs, the
engine-faithful runner and the real provider server, against the emulator over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pulumi_edgee import markers, takeover
from pulumi_edgee.session import session_for
from pulumi_edgee.settings import Settings
from pulumi_edgee.spec import ApiKeySpec

from .support import ORGANIZATION, TOKEN, Stack, ok, ops, set_keys


def _failed(result: Any, env: Stack | None = None) -> str:
    assert result.error is not None, "the step should have failed"
    if env is not None:
        env.leaks.record("step error", result.error)
    return str(result.error)


@pytest.mark.slow
def test_adoption_recovers_the_secret_and_converges_settings(env: Stack) -> None:
    made = env.console_create(name="Legacy", models=["openai/gpt-5.2"], max_usage=10)
    stack = env.runner(fresh=True)  # destroy runs in a process of its own
    declared = {
        "name": "Legacy backend",
        "models": ["anthropic/claude-opus-4-6"],
        "max_usage": 500,
        "email": "ops@example.com",
        "active": False,
    }
    set_keys(stack, {"legacy": {"adopt_id": made["id"], **declared}})
    env.emulator.clear_requests()

    preview = ok(stack.preview(), env, stack)
    assert ops(preview) == {"legacy": "create"}
    assert all(r["method"] == "GET" for r in env.emulator.requests()), "a preview writes nothing"

    up = ok(stack.up(), env, stack)
    assert ops(up) == {"legacy": "create"}
    assert env.creates() == 0, "adoption creates no key"
    state = stack.state.get("legacy")
    assert state.id == made["id"]
    assert state.outputs["key"] == made["key"], "the secret is the key's own, revealed"
    assert "key" in state.secret_outputs
    assert up.outputs["legacy-key"].secret
    assert up.outputs["legacy-key"].value == made["key"]
    live = env.live()
    assert list(live) == [made["id"]], "no extra key"
    key = live[made["id"]]
    assert (key["name"], key["models"], key["max_usage"], key["active"], key["email"]) == (
        "Legacy backend",
        ["anthropic/claude-opus-4-6"],
        500,
        False,
        "ops@example.com",
    )
    assert state.outputs["adoptId"] == made["id"]

    # The key is the resource's now: dropping or changing `adopt_id` is not a change.
    assert ops(ok(stack.preview(), env, stack)) == {"legacy": "same"}
    set_keys(stack, {"legacy": declared})
    assert ops(ok(stack.preview(), env, stack)) == {"legacy": "same"}
    assert ops(ok(stack.up(), env, stack)) == {"legacy": "same"}
    set_keys(stack, {"legacy": {"adopt_id": "key_someotherkey", **declared}})
    assert ops(ok(stack.up(), env, stack)) == {"legacy": "same"}
    assert stack.state.get("legacy").id == made["id"]

    # Destroy deletes an adopted key like any other.
    ok(stack.destroy(), env, stack)
    assert env.live() == {}


def test_settings_that_cannot_change_fail_the_preview_and_change_nothing(env: Stack) -> None:
    made = env.console_create(name="assistant", type="coding_agent", coding_assistant="codex")
    expiring = env.console_create(name="expiring", expires_in_days=30)
    before = env.live()
    stack = env.runner()

    set_keys(stack, {"k": {"adopt_id": made["id"], "name": "assistant"}})
    message = _failed(stack.preview(), env)
    assert "adopt_id" in message
    assert "`type` is declared 'api', the key's is 'coding_agent'" in message
    assert "`coding_assistant` is declared None, the key's is 'codex'" in message
    assert "declare the key as it is" in message
    assert "remove `adopt_id`" in message

    set_keys(stack, {"k": {"adopt_id": expiring["id"], "name": "expiring", "expires_in_days": 90}})
    message = _failed(stack.up(), env)
    assert "`expires_in_days` is declared 90, the key expires 30 days after creation" in message
    set_keys(stack, {"k": {"adopt_id": expiring["id"], "name": "expiring"}})
    assert "`expires_in_days` is declared None" in _failed(stack.up(), env)

    assert env.live() == before, "a refused adoption changes nothing"
    assert stack.state.resources == () or all(
        r.type.endswith("Stack") for r in stack.state.resources
    )

    # Declared as it is, the same key is adopted.
    set_keys(
        stack,
        {
            "k": {
                "adopt_id": expiring["id"],
                "name": "expiring",
                "expires_in_days": 30,
            }
        },
    )
    ok(stack.up(), env, stack)
    assert stack.state.get("k").outputs["key"] == expiring["key"]
    assert env.creates() == 2, "only the two Console creates"


def test_missing_or_foreign_keys_fail_clearly_and_create_nothing(env: Stack) -> None:
    foreign = env.emulator.insert_key(organization_id="org_2", name="theirs")
    stack = env.runner()
    for key_id in ("key_doesnotexist", foreign["id"]):
        set_keys(stack, {"k": {"adopt_id": key_id, "name": "theirs"}})
        message = _failed(stack.preview(), env)
        assert f"API key {key_id} cannot be adopted: organization org_1 has no key" in message
        message = _failed(stack.up(), env)
        assert "Nothing was created" in message
    assert env.creates() == 0
    assert [k["id"] for k in env.emulator.keys()] == [foreign["id"]]


def test_a_key_still_bearing_a_create_marker_is_never_adopted(env: Stack) -> None:
    """Another stack's create in flight: its key must stay that create's."""
    in_flight = f"{markers.PREFIX}{'ab' * 16}:{int(time.time()) + 3600}"
    made = env.emulator.insert_key(name=in_flight)
    env.leaks.add_secrets(made["key"])
    stack = env.runner()
    set_keys(stack, {"k": {"adopt_id": made["id"], "name": "mine"}})
    message = _failed(stack.preview(), env)
    assert f"API key {made['id']} cannot be adopted: it still bears a create marker" in message
    message = _failed(stack.up(), env)
    assert "Nothing was changed" in message
    assert env.live()[made["id"]]["name"] == in_flight
    assert env.creates() == 0
    # The create checks again (a preview that could not reach the Console checked nothing).
    session = session_for(
        Settings(console_url=env.emulator.url, organization_id=ORGANIZATION, api_token=TOKEN)
    )
    with pytest.raises(takeover.AdoptionError, match="still bears a create marker"):
        takeover.adopt(session, ApiKeySpec(name="mine", adopt_id=made["id"]))
    assert env.live()[made["id"]]["name"] == in_flight


def test_a_key_held_by_another_resource_is_not_adopted_twice(env: Stack) -> None:
    made = env.console_create(name="shared")
    stack = env.runner()
    set_keys(
        stack,
        {
            "first": {"adopt_id": made["id"], "name": "shared"},
            "second": {"adopt_id": made["id"], "name": "shared"},
        },
    )
    result = stack.up()
    message = _failed(result, env)
    assert "another resource of this stack already manages it" in message
    assert env.creates() == 1, "only the Console's create"
    assert list(env.live()) == [made["id"]]
    held = [r for r in stack.state.resources if r.id == made["id"]]
    assert len(held) == 1, "exactly one resource holds the key"


def test_a_resource_renamed_with_its_adopt_id_keeps_the_key(env: Stack) -> None:
    made = env.console_create(name="renamed")
    stack = env.runner(fresh=True)
    set_keys(stack, {"old-name": {"adopt_id": made["id"], "name": "renamed"}})
    ok(stack.up(), env, stack)
    set_keys(stack, {"new-name": {"adopt_id": made["id"], "name": "renamed"}})
    up = ok(stack.up(), env, stack)
    assert ops(up) == {"new-name": "create", "old-name": "delete"}
    assert list(env.live()) == [made["id"]], (
        "the old resource's delete left the key to its new owner"
    )
    assert stack.state.get("new-name").outputs["key"] == made["key"]


def test_replacing_an_adopted_key_creates_a_new_one(env: Stack) -> None:
    made = env.console_create(name="typed")
    stack = env.runner()
    set_keys(stack, {"k": {"adopt_id": made["id"], "name": "typed"}})
    ok(stack.up(), env, stack)
    # `adopt_id` stays in the program; a replacement still makes a new key.
    set_keys(
        stack,
        {
            "k": {
                "adopt_id": made["id"],
                "name": "typed",
                "type": "coding_agent",
                "coding_assistant": "codex",
            }
        },
    )
    up = ok(stack.up(), env, stack)
    assert ops(up) == {"k": "replace"}
    live = env.live()
    assert made["id"] not in live
    assert len(live) == 1
    new = stack.state.get("k")
    assert live[new.id]["type"] == "coding_agent"
    assert new.outputs["key"] == live[new.id]["key"]


@pytest.mark.slow
def test_an_adoption_that_fails_midway_is_finished_by_the_next_up(env: Stack) -> None:
    made = env.console_create(name="before", max_usage=5)
    stack = env.runner()
    set_keys(stack, {"k": {"adopt_id": made["id"], "name": "after", "max_usage": 50}})

    env.emulator.add_fault("server_error", method="GET", path=r".*/reveal", count=None)
    assert "adopting API key" in _failed(stack.up(), env)
    env.emulator.clear_faults()
    env.emulator.add_fault("server_error", method="POST", path=r".*/api_keys/.+", count=None)
    message = _failed(stack.up(), env)
    assert "while applying the declared max_usage, name" in message
    assert "run `pulumi up` again" in message
    env.emulator.clear_faults()
    assert not [r for r in stack.state.resources if r.type.endswith("ApiKey")]
    assert env.live()[made["id"]]["name"] == "before"

    ok(stack.up(), env, stack)
    assert stack.state.get("k").outputs["key"] == made["key"]
    assert (env.live()[made["id"]]["name"], env.live()[made["id"]]["max_usage"]) == ("after", 50)
    assert list(env.live()) == [made["id"]]
