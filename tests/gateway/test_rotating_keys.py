"""`RotatingApiKey` through both front doors, proven at the Gateway stand-in with the
official `edgee` client: during a grace period both keys answer, after it only the current
one; the idle rule retires an unused previous key and not a used one; refresh notices keys
deleted or disabled in the Console; faults never lose the current key nor orphan one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from pulumi_edgee import times
from pulumi_edgee.testing import EmulatorClient, ProviderCallError
from pulumi_edgee.testing.gateway import GatewayOutcome

from .rotating import DOORS, PluginDoor, Rotating
from .standin import ORGANIZATION, TOKEN, serve_stand_in

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MODEL = "openai/gpt-5.2"
REFUSED = GatewayOutcome(False, None, 401, "unauthorized", "Invalid API key")
MONTHLY = {"name": "backend", "models": [MODEL], "rotate_every_days": 10, "grace_days": 3}


@pytest.fixture(params=sorted(DOORS))
def rotating(request: pytest.FixtureRequest) -> Iterator[Rotating]:
    with serve_stand_in() as stand_in:
        env = Rotating(stand_in, DOORS[request.param](stand_in.url))
        env.leaks.add_secrets(TOKEN)
        try:
            yield env
        finally:
            env.leaks.record("state and answers", env.door.serialized())
            env.leaks.add_secrets(*(k["key"] for k in env.live().values()))
    env.leaks.assert_clean()


def answered(outcome: GatewayOutcome) -> bool:
    return outcome.answered and outcome.text == "ping"


def rotated_once(env: Rotating, keys: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Make `backend`, age it past `rotate_every_days` and rotate it: its outputs then."""
    env.up(keys)
    env.rotated_ago("backend", 11 * DAY)
    assert env.up(keys).ops == {"backend": "update"}
    return dict(env.outputs("backend"))


def console(env: Rotating) -> EmulatorClient:
    return EmulatorClient(env.stand_in.url, TOKEN, ORGANIZATION)


@pytest.mark.slow
def test_a_rotation_keeps_the_previous_key_until_its_grace_period_ends(
    rotating: Rotating,
) -> None:
    env = rotating
    keys = {"backend": MONTHLY}
    env.up(keys)
    env.rotated_ago("backend", 11 * DAY)
    made = dict(env.outputs("backend"))
    resource_id = env.door.state("backend").id
    first = str(made["key"])
    assert answered(env.ask(first))

    # The preview says why and what happens, and changes nothing.
    preview = env.door.preview(keys)
    assert preview.error is None, preview.error
    assert preview.ops == {"backend": "update"}
    assert f"RotatingApiKey {resource_id} rotates: it was made at {made['rotatedAt']}" in (
        preview.logs
    )
    assert "and rotate_every_days is 10" in preview.logs
    assert f"its current key {made['keyId']} stays valid as the previous key until" in (
        preview.logs
    )
    assert set(env.live()) == {made["keyId"]}

    # `up` rotates in place: the same resource, a new current key, the old one previous.
    assert env.up(keys).ops == {"backend": "update"}
    state = env.door.state("backend")
    rotated = state.outputs
    assert state.id == resource_id
    second = str(rotated["key"])
    assert rotated["keyId"] != made["keyId"]
    assert rotated["previousKeyId"] == made["keyId"]
    assert rotated["previousKey"] == first
    assert {"key", "previousKey"} <= state.secret_outputs
    rotated_at = times.parse(rotated["rotatedAt"])
    assert rotated_at is not None
    assert times.parse(rotated["previousRetiresAt"]) == rotated_at + 3 * DAY
    assert set(env.live()) == {made["keyId"], rotated["keyId"]}

    # During the grace period both keys answer, and `up` changes nothing.
    assert answered(env.ask(first))
    assert answered(env.ask(second))
    assert env.up(keys).ops == {"backend": "same"}
    assert answered(env.ask(first))

    # Once it ends, the preview says so and the next `up` deletes the previous key.
    env.end_grace("backend")
    preview = env.door.preview(keys)
    assert preview.ops == {"backend": "update"}
    assert f"deletes its previous key {made['keyId']}: its grace period ended at" in (preview.logs)
    assert env.up(keys).ops == {"backend": "update"}
    retired = env.outputs("backend")
    assert "previousKeyId" not in retired
    assert "previousKey" not in retired
    assert retired["key"] == second
    assert set(env.live()) == {rotated["keyId"]}
    assert env.ask(first) == REFUSED
    assert answered(env.ask(second))
    assert env.up(keys).ops == {"backend": "same"}

    # Destroy deletes every key the resource holds.
    env.up({"backend": {**MONTHLY, "expires_in_days": 30}})  # rotates: a new expiry
    assert env.door.state("backend").outputs.get("previousKeyId")
    assert len(env.live()) == 2
    assert env.door.destroy().error is None
    assert env.live() == {}


@pytest.mark.slow
def test_the_idle_rule_retires_an_unused_previous_key_and_not_a_used_one(
    rotating: Rotating,
) -> None:
    env = rotating
    idle = {**MONTHLY, "grace_days": 7, "retire_when_idle_hours": 24}
    keys = {"busy": {**idle, "name": "busy"}, "quiet": {**idle, "name": "quiet"}}
    env.up(keys)
    for name in keys:
        env.rotated_ago(name, 12 * DAY)
    old = {name: dict(env.outputs(name)) for name in keys}
    assert env.up(keys).ops == {"busy": "update", "quiet": "update"}
    for name in keys:
        assert env.outputs(name)["previousKeyId"] == old[name]["keyId"]
        env.rotated_ago(name, 30 * HOUR)  # each old key has been the previous one for 30 h
    # An hour ago, a consumer still used busy's previous key; nobody used quiet's.
    with env.made_ago(HOUR):
        assert answered(env.ask(str(old["busy"]["key"])))

    preview = env.door.preview(keys)
    assert preview.ops == {"busy": "same", "quiet": "update"}
    assert f"deletes its previous key {old['quiet']['keyId']}: it has not been used for" in (
        preview.logs
    )
    assert "since the rotation at" in preview.logs
    assert old["busy"]["keyId"] not in preview.logs
    assert env.up(keys).ops == {"busy": "same", "quiet": "update"}

    assert "previousKeyId" not in env.outputs("quiet")
    assert env.outputs("busy")["previousKeyId"] == old["busy"]["keyId"]
    assert env.ask(str(old["quiet"]["key"])) == REFUSED
    assert answered(env.ask(str(old["busy"]["key"])))
    for name in keys:
        assert answered(env.ask(str(env.outputs(name)["key"])))


@pytest.mark.slow
def test_a_setting_that_would_replace_an_api_key_rotates_in_place(rotating: Rotating) -> None:
    env = rotating
    keys = {"backend": {**MONTHLY, "expires_in_days": 30}}
    env.up(keys)
    before = dict(env.outputs("backend"))
    resource_id = env.door.state("backend").id
    keys["backend"]["expires_in_days"] = 60
    preview = env.door.preview(keys)
    assert preview.ops == {"backend": "update"}
    assert "rotates: `expires_in_days` changed" in preview.logs
    assert env.up(keys).ops == {"backend": "update"}
    after = env.outputs("backend")
    assert env.door.state("backend").id == resource_id
    assert after["previousKeyId"] == before["keyId"]
    assert after["expiresInDays"] == 60
    live = env.live()
    assert live[after["keyId"]]["expires_at"] != live[before["keyId"]]["expires_at"]
    assert answered(env.ask(str(before["key"])))
    assert answered(env.ask(str(after["key"])))
    # An in-place setting updates the current key only.
    keys["backend"]["max_usage"] = 50
    assert env.up(keys).ops == {"backend": "update"}
    assert env.outputs("backend")["keyId"] == after["keyId"]
    live = env.live()
    assert live[after["keyId"]]["max_usage"] == 50
    assert live[before["keyId"]].get("max_usage") is None


@pytest.mark.slow
def test_refresh_notices_keys_deleted_or_disabled_in_the_console(rotating: Rotating) -> None:
    env = rotating
    keys = {"backend": MONTHLY}
    held = rotated_once(env, keys)

    # The previous key deleted in the Console: refresh says so and forgets it.
    env.stand_in.delete_key(held["previousKeyId"])
    refreshed = env.door.refresh()
    assert refreshed.error is None, refreshed.error
    assert f"its previous key {held['previousKeyId']} no longer exists" in refreshed.logs
    assert "previousKeyId" not in env.outputs("backend")

    # The current key disabled: refresh says so, the next `up` enables it again.
    env.stand_in.update_key(held["keyId"], active=False)
    refreshed = env.door.refresh()
    assert f"its current key {held['keyId']} is disabled in the Console" in refreshed.logs
    assert env.outputs("backend")["active"] is False
    assert not env.ask(str(held["key"])).answered
    assert env.up(keys).ops == {"backend": "update"}
    assert answered(env.ask(str(held["key"])))

    # The current key deleted too: with no key left, the resource leaves the stack and the
    # next `up` makes a new one.
    env.stand_in.delete_key(held["keyId"])
    refreshed = env.door.refresh()
    assert "its keys no longer exist in the Console" in refreshed.logs
    assert env.door.names() == []
    assert env.up(keys).ops == {"backend": "create"}
    assert answered(env.ask(str(env.outputs("backend")["key"])))


@pytest.mark.slow
def test_a_current_key_deleted_during_a_grace_period_is_made_again(rotating: Rotating) -> None:
    env = rotating
    keys = {"backend": MONTHLY}
    held = rotated_once(env, keys)
    env.stand_in.delete_key(held["keyId"])
    refreshed = env.door.refresh()
    assert f"its current key {held['keyId']} no longer exists in the Console" in refreshed.logs
    assert env.door.names() == ["backend"]
    preview = env.door.preview(keys)
    assert "rotates: its current key no longer exists" in preview.logs
    assert env.up(keys).ops == {"backend": "update"}
    now = env.outputs("backend")
    assert now["keyId"] not in (held["keyId"], held["previousKeyId"])
    assert now["previousKeyId"] == held["previousKeyId"], "the previous key is kept"
    assert set(env.live()) == {now["keyId"], held["previousKeyId"]}
    assert answered(env.ask(str(now["key"])))
    assert answered(env.ask(str(held["previousKey"])))


@pytest.mark.parametrize(
    ("settings", "failure"),
    [
        ({"name": "k"}, "needs `rotate_every_days` or `rotate_before_expiry_days`"),
        (
            {"name": "k", "rotate_every_days": 5, "grace_days": 5},
            "5 days is not less than `rotate_every_days` (5)",
        ),
        (
            {"name": "k", "rotate_before_expiry_days": 7},
            "needs `expires_in_days`",
        ),
    ],
)
def test_bad_settings_fail_the_preview(
    rotating: Rotating, settings: dict[str, Any], failure: str
) -> None:
    env = rotating
    preview = env.door.preview({"k": settings})
    assert preview.error is not None
    expected = failure if env.door.name == "dynamic" else _schema_words(failure)
    assert expected in preview.error
    assert env.live() == {}


def _schema_words(text: str) -> str:
    return (
        text.replace("rotate_every_days", "rotateEveryDays")
        .replace("rotate_before_expiry_days", "rotateBeforeExpiryDays")
        .replace("expires_in_days", "expiresInDays")
    )


@pytest.mark.slow
def test_an_interrupted_rotation_never_loses_the_current_key(rotating: Rotating) -> None:
    env = rotating
    admin = console(env)
    keys = {"backend": MONTHLY}
    env.up(keys)
    env.rotated_ago("backend", 22 * DAY)
    env.up(keys)  # rotated: a previous key is held
    env.rotated_ago("backend", 11 * DAY)  # and due again
    held = dict(env.outputs("backend"))
    assert held.get("previousKeyId")

    # The new key cannot be made: the current key stays, working, in state.
    admin.add_fault("server_error", method="POST", path=r".*/api_keys", count=None)
    failed = env.door.up(keys)
    admin.clear_faults()
    assert failed.error is not None
    assert env.outputs("backend")["keyId"] == held["keyId"]
    assert env.outputs("backend")["key"] == held["key"]
    assert set(env.live()) == {held["keyId"]}, "the key before it is deleted, nothing made"
    assert answered(env.ask(str(held["key"])))

    # The create's answer is lost: exactly one new key, the rotation finished.
    admin.add_fault("apply_then_fail", method="POST", path=r".*/api_keys", drop=True)
    assert env.up(keys).ops == {"backend": "update"}
    admin.clear_faults()
    done = env.outputs("backend")
    assert done["previousKeyId"] == held["keyId"]
    assert set(env.live()) == {held["keyId"], done["keyId"]}

    # The previous key cannot be deleted at retirement: the state keeps it; the next
    # `up` finishes.
    env.end_grace("backend")
    admin.add_fault("server_error", method="DELETE", path=r".*/api_keys/.*", count=None)
    failed = env.door.up(keys)
    admin.clear_faults()
    assert failed.error is not None
    assert env.outputs("backend")["previousKeyId"] == held["keyId"]
    assert set(env.live()) == {held["keyId"], done["keyId"]}
    assert env.up(keys).ops == {"backend": "update"}
    assert set(env.live()) == {done["keyId"]}
    assert answered(env.ask(str(done["key"])))


def test_a_rotating_key_cannot_be_imported_by_id() -> None:
    """Its keys are known only to the stack that made it: `pulumi import` (the plugin's
    Read with an id alone) says what to do instead, and changes nothing."""
    with serve_stand_in() as stand_in:
        door = PluginDoor(stand_in.url)
        key = stand_in.create_key(name="existing")
        with pytest.raises(ProviderCallError, match="declare one with `adopt_id`"):
            door.engine.import_("backend", key["id"], {"name": "existing"})
        assert [k["id"] for k in stand_in.http.get("/_emulator/keys").json()["keys"]] == [key["id"]]
        assert key["key"] not in str(door.serialized())
