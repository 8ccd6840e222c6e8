"""Times as the provider keeps them: aware, in UTC, shown as `2026-01-31T12:00:00Z`.

The Console API's timestamps are ISO 8601 text. Any the service may send is read, so
that one odd key never breaks a walk of the whole organization: a time without an
offset is taken as UTC, and one whose UTC form falls outside the years 1 to 9999 (such
as `9999-12-31T23:59:59-01:00`) is held at the nearest representable instant.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator

UTC = timezone.utc
_LATEST = datetime.max.replace(tzinfo=UTC)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def in_utc(value: datetime) -> datetime:
    """The same instant, aware and in UTC (see the module's note on odd values)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return _LATEST if value.year == datetime.max.year else _EARLIEST


# A model field of this type always holds an aware UTC time.
UtcTime = Annotated[datetime, AfterValidator(in_utc)]


def iso(value: datetime) -> str:
    """`2026-01-31T12:00:00Z`: how state, outputs and messages show a time."""
    # isoformat, not strftime: `%Y` does not pad years before 1000 on every platform.
    return in_utc(value).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def parse(value: Any) -> datetime | None:
    """A time from state (ISO 8601 text), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return in_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def days_between(start: datetime, end: datetime | None) -> int | None:
    """Whole days from `start` to `end` (None without an end): a key's lifetime."""
    if end is None:
        return None
    return round((in_utc(end) - in_utc(start)).total_seconds() / 86400)
