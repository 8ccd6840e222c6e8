"""This month's spend per key, which the usage limit is checked against."""

from __future__ import annotations

import threading
from datetime import datetime

from .common import COST_PER_CALL_MICRO_USD


def month_of(moment: datetime) -> str:
    """The accounting month of a moment: its UTC calendar month, `YYYY-MM`."""
    return f"{moment.year:04d}-{moment.month:02d}"


class SpendLedger:
    """This month's spend per key id, in micro-USD; a new month starts every key at 0."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spend: dict[str, tuple[str, int]] = {}

    def spent(self, key_id: str, now: datetime) -> int:
        """The key's spend in the month of `now`."""
        with self._lock:
            return self._spent(key_id, month_of(now))

    def set(self, key_id: str, now: datetime, micro_usd: int) -> None:
        """Set the key's spend for the month of `now`."""
        with self._lock:
            self._spend[key_id] = (month_of(now), micro_usd)

    def charge(self, key_id: str, now: datetime, limit_micro_usd: int | None) -> bool:
        """Add one call's cost unless the spend already reached the limit; False when
        refused (check and charge are one step: concurrent calls cannot overshoot)."""
        month = month_of(now)
        with self._lock:
            before = self._spent(key_id, month)
            if limit_micro_usd is not None and before >= limit_micro_usd:
                return False
            self._spend[key_id] = (month, before + COST_PER_CALL_MICRO_USD)
            return True

    def _spent(self, key_id: str, month: str) -> int:
        entry = self._spend.get(key_id)
        return entry[1] if entry is not None and entry[0] == month else 0
