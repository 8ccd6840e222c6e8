"""`rotating.plan`, the rule of a RotatingApiKey's next update, at its boundaries: when the
current key rotates and when the previous key retires, from the state's timestamps and the
time (no Console, no engine)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_edgee import times
from pulumi_edgee.rotating import Plan, plan, preview_update

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
INPUTS = {"name": "k", "type": "api", "rotateEveryDays": 30, "graceDays": 7}


def state(rotated: timedelta, now: datetime = NOW, **more: Any) -> dict[str, Any]:
    """A state whose current key was made `rotated` before `now`."""
    made = times.iso(now - rotated)
    return {**INPUTS, "keyId": "key_b", "key": "ek_b", "rotatedAt": made, "createdAt": made, **more}


def held(rotated: timedelta, retires_in: timedelta, **more: Any) -> dict[str, Any]:
    """A state during a grace period."""
    return state(
        rotated,
        previousKeyId="key_a",
        previousKey="ek_a",
        previousRetiresAt=times.iso(NOW + retires_in),
        **more,
    )


def test_a_key_rotates_once_it_is_rotate_every_days_old() -> None:
    assert plan(state(30 * DAY - HOUR), INPUTS, NOW) == Plan()
    due = plan(state(30 * DAY), INPUTS, NOW).rotate
    assert due is not None
    assert "30.0 days ago, and rotate_every_days is 30" in due


def test_before_expiry_and_past_expiry_are_due() -> None:
    inputs = {**INPUTS, "rotateEveryDays": None, "expiresInDays": 90, "rotateBeforeExpiryDays": 7}
    soon = state(DAY, expiresInDays=90, expiresAt=times.iso(NOW + 7 * DAY))
    assert "within the 7 days" in str(plan(soon, inputs, NOW).rotate)
    later = state(DAY, expiresInDays=90, expiresAt=times.iso(NOW + 7 * DAY + HOUR))
    assert plan(later, inputs, NOW).rotate is None
    expired = state(DAY, expiresInDays=90, expiresAt=times.iso(NOW - DAY))
    assert "it expired at" in str(plan(expired, inputs, NOW).rotate)


def test_settings_the_console_cannot_change_rotate_and_unknowns_decide_nothing() -> None:
    changed = plan(state(DAY), {**INPUTS, "type": "coding_agent"}, NOW).rotate
    assert changed == "`type` changed, which the Console API cannot change on a key"
    assert plan(state(DAY), {**INPUTS, "type": Unknown()}, NOW).rotate is None
    old = state(40 * DAY)
    assert plan(old, {**INPUTS, "rotateEveryDays": Unknown()}, NOW).rotate is None


def test_a_missing_current_key_is_made_again() -> None:
    gone = {k: v for k, v in held(DAY, DAY).items() if k not in ("keyId", "key")}
    assert plan(gone, INPUTS, NOW).rotate == "its current key no longer exists"


def test_the_previous_key_retires_at_previous_retires_at_and_not_before() -> None:
    assert plan(held(DAY, timedelta(seconds=1)), INPUTS, NOW).retire is None
    retire = plan(held(DAY, timedelta()), INPUTS, NOW).retire
    assert retire == f"its grace period ended at {times.iso(NOW)}"
    assert plan(state(DAY), INPUTS, NOW).retire is None, "no previous key, nothing to retire"


def test_the_idle_rule_counts_from_the_rotation_or_the_last_use() -> None:
    inputs = {**INPUTS, "retireWhenIdleHours": 24}
    assert plan(held(24 * HOUR - timedelta(seconds=1), DAY), inputs, NOW).retire is None
    idle = plan(held(24 * HOUR, DAY), inputs, NOW).retire
    assert idle is not None
    assert "since the rotation at" in idle
    used = held(30 * HOUR, DAY, previousLastUsedAt=times.iso(NOW - 2 * HOUR))
    assert plan(used, inputs, NOW).retire is None
    live_use = NOW - 25 * HOUR
    retired = plan(held(30 * HOUR, DAY), inputs, NOW, previous_last_used=live_use).retire
    assert retired is not None
    assert "since its last use at" in retired
    # A use before the rotation counts from the rotation.
    before = plan(held(30 * HOUR, DAY), inputs, NOW, previous_last_used=NOW - 40 * HOUR)
    assert before.retire is not None
    assert "since the rotation at" in before.retire


def test_an_update_preview_shows_a_rotation_new_key_as_unknown() -> None:
    now = datetime.now(timezone.utc)  # the preview decides at the time it runs
    olds = state(40 * DAY, now, lastUsedAt=times.iso(now - HOUR))
    shown = preview_update(olds, INPUTS)
    assert shown["key"] == rpc.UNKNOWN
    assert shown["keyId"] == rpc.UNKNOWN
    assert shown["previousKeyId"] == "key_b"
    assert shown["previousKey"] == "ek_b"
    assert shown["previousRetiresAt"] == rpc.UNKNOWN
    calm = preview_update(state(DAY, now), {**INPUTS, "maxUsage": 5})
    assert calm["key"] == "ek_b"
    assert calm["maxUsage"] == 5
