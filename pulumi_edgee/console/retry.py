"""Backoff schedule for retrying Console API requests.

Small enough that a retry library would cost more than it saves; the client owns the
loop and asks the policy how long to wait, so that what is retryable stays in one place.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time.

    `sleep`, `random` and `clock` are injectable so that tests run without real waits.
    """

    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 8.0
    total_timeout: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.total_timeout) < 0:
            raise ValueError("delays and total_timeout must not be negative")

    def delay(self, attempt: int, elapsed: float, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (from 1), or None to give up.

        A server-requested `retry_after` is a floor on the wait; when the wait would end
        past `total_timeout` there is no point waiting at all.
        """
        if attempt >= self.max_attempts:
            return None
        wait = self.random() * min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        if retry_after is not None:
            wait = max(wait, retry_after)
        if elapsed + wait > self.total_timeout:
            return None
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """Read a `Retry-After` header given as delta-seconds or as an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
