"""Expired keys are never silent: a key past its `expires_at` no longer works at the
Gateway, so the `expired` output says so, and every step that sees such a key (a preview's
or an `up`'s diff, a refresh, an adoption) prints a warning naming it and the fix."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from . import notices, times


def is_expired(expires_at: datetime | None, now: datetime | None = None) -> bool:
    return expires_at is not None and expires_at <= (now or datetime.now(timezone.utc))


# Keys warned about by this process: the engine starts one per command, and a refresh
# reads a key then diffs it, so once per command and key.
_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_if_expired(
    key_id: str, expires_at: datetime | None, fix: str, now: datetime | None = None
) -> bool:
    """Warn when the key is expired (`notices`), once per process; whether it was."""
    moment = now or datetime.now(timezone.utc)
    if expires_at is None or not is_expired(expires_at, moment):
        return False
    with _warned_lock:
        if key_id in _warned:
            return True
        _warned.add(key_id)
    days = (moment - expires_at).total_seconds() / 86400
    notices.notify(
        "warning",
        f"API key {key_id} expired at {times.iso(expires_at)} ({days:.1f} days ago) and no "
        f"longer works at the Gateway; {fix}",
    )
    return True


# What a stack does about an expired key it manages.
REPLACE_IT = (
    "replace it with `pulumi up --replace <urn>`, or let `rotate_before_expiry_days` "
    "rotate it (a key past expiry is due)"
)
