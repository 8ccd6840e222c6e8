"""The log of answered Console API requests, bounded, oldest first."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

REQUEST_LOG_LIMIT = 10_000


@dataclass(frozen=True)
class RequestRecord:
    """One answered Console API request; `status` is None for a dropped connection."""

    method: str
    path: str
    query: Mapping[str, str]
    status: int | None
    fault: str | None
    started_at: datetime
    duration_ms: float


def request_json(record: RequestRecord) -> dict[str, object]:
    """A request log entry as the admin API shows it."""
    started_at = record.started_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "method": record.method,
        "path": record.path,
        "query": dict(record.query),
        "status": record.status,
        "fault": record.fault,
        "started_at": started_at,
        "duration_ms": record.duration_ms,
    }


class RequestLog:
    """Appends under its own lock; past the limit the oldest entries go."""

    def __init__(self, limit: int = REQUEST_LOG_LIMIT) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=limit)

    def append(self, record: RequestRecord) -> None:
        """Log one answered request."""
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        """The logged requests, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Empty the log."""
        with self._lock:
            self._records.clear()
