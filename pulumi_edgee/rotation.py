"""When a key is due for replacement: `rotate_before_expiry_days` and `rotate_every_days`.

The rule is a pure function of the key's real timestamps (from state, as the last
create or refresh saw them), the declared margins and the time `now`, so it is the same
on every preview and `up` at a given moment and can be tested at its boundaries. A key
due for rotation is replaced like any replacement: the new key is created first, so
dependents switch to the new secret before the old key is deleted. A freshly made key is
never due: its age is about zero and `check` makes `rotate_before_expiry_days` smaller
than `expires_in_days`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pulumi.output import contains_unknowns

from . import notices, times

BEFORE_EXPIRY = "rotateBeforeExpiryDays"
EVERY = "rotateEveryDays"


@dataclass(frozen=True)
class Due:
    """A rotation that is due: the setting that asks for it and why, for people."""

    prop: str
    reason: str


def _days(value: timedelta) -> str:
    return f"{value.total_seconds() / 86400:.1f} days"


def due(
    now: datetime,
    *,
    created_at: datetime | None,
    expires_at: datetime | None,
    before_expiry_days: int | None,
    every_days: int | None,
) -> Due | None:
    """The rotation due at `now`, if any.

    Due before expiry once at most `before_expiry_days` remain until `expires_at`
    (exactly N days left is due); due by age once the key is at least `every_days` old.
    """
    if before_expiry_days is not None and expires_at is not None:
        left = expires_at - now
        if left <= timedelta():
            return Due(
                BEFORE_EXPIRY,
                f"it expired at {times.iso(expires_at)}, {_days(-left)} ago, and no longer "
                "works at the Gateway",
            )
        if left <= timedelta(days=before_expiry_days):
            return Due(
                BEFORE_EXPIRY,
                f"it expires at {times.iso(expires_at)}, in {_days(left)}, within the "
                f"{before_expiry_days} days of rotate_before_expiry_days",
            )
    if every_days is not None and created_at is not None:
        age = now - created_at
        if age >= timedelta(days=every_days):
            return Due(
                EVERY,
                f"it was created at {times.iso(created_at)}, {_days(age)} ago, and "
                f"rotate_every_days is {every_days}",
            )
    return None


def replaces(
    key_id: str, olds: Mapping[str, Any], news: Mapping[str, Any], now: datetime | None = None
) -> list[str]:
    """The property to report as forcing a replacement when the key in state is due.

    Unknown margins (a preview) decide nothing: the `up` that knows them decides. The
    reason is a notice (`notices`), which the Pulumi CLI shows under the resource.
    """
    before, every = news.get(BEFORE_EXPIRY), news.get(EVERY)
    if contains_unknowns(before) or contains_unknowns(every):
        return []
    rotation = due(
        now or datetime.now(timezone.utc),
        created_at=times.parse(olds.get("createdAt")),
        expires_at=times.parse(olds.get("expiresAt")),
        before_expiry_days=_whole(before),
        every_days=_whole(every),
    )
    if rotation is None:
        return []
    notices.notify("info", f"API key {key_id} is due for rotation: {rotation.reason}")
    return [rotation.prop]


# Longer than any key lives (and than `timedelta` holds): a larger count means the same.
_MAX_DAYS = 1_000_000


def _whole(value: Any) -> int | None:
    """A day count from the wire (every number is a double there); anything else is none."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and value >= 1):
        return None
    return min(int(value), _MAX_DAYS)
