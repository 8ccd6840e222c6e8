"""What a key declares (active, expiry, models, usage limit), as the Gateway enforces it."""

from __future__ import annotations

import math
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone

from ..keys import StoredKey


@dataclass(frozen=True)
class Declared:
    """What a key declares, as the Gateway reads it.

    A key inserted as given through the admin API may hold values the Console contract
    would refuse; the Gateway reads what it can: a number as a `max_usage` in USD (12.5),
    an ISO 8601 `expires_at`, a single string as one model. Anything else unreadable
    counts as absent, as in the key's typed view.
    """

    active: bool
    expires_at: datetime | None
    models: tuple[str, ...]
    max_usage: float | None

    @classmethod
    def of(cls, key: StoredKey) -> Declared:
        """The key's declarations."""
        given = key.as_given
        max_usage: float | None = key.max_usage
        given_usage = given.get("max_usage")
        if (
            isinstance(given_usage, (int, float))
            and not isinstance(given_usage, bool)
            and math.isfinite(given_usage)
        ):
            max_usage = given_usage
        expires_at = key.expires_at
        given_expiry = given.get("expires_at")
        if isinstance(given_expiry, str):
            with suppress(ValueError):
                parsed = datetime.fromisoformat(given_expiry.replace("Z", "+00:00"))
                expires_at = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        given_models = given.get("models")
        models = (given_models,) if isinstance(given_models, str) else key.models
        return cls(key.active, expires_at, models, max_usage)
