"""A shared, short-lived view of the organization's key list, so that reading N keys
costs about one walk of the list instead of N.

The Console API documents no single-key read, so each read would otherwise walk every
page. The engine refreshes a stack by calling Read for every key, up to four at once;
all of them are answered from one walk taken at most `max_age` seconds earlier (5 s, or
`EDGEE_READ_REUSE_SECONDS`; 0 makes every read walk the list). Writes
made by this process update the view at once, so a read after this process's own write
always sees it. A key missing from the view is never taken as deleted on the view's
word: the caller confirms with a direct read.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

from .console import ApiKeyObject, ConsoleClient

DEFAULT_MAX_AGE = 5.0
MAX_AGE_ENV_VAR = "EDGEE_READ_REUSE_SECONDS"


def max_age_from(environ: Mapping[str, str] = os.environ) -> float:
    """The reuse window: `EDGEE_READ_REUSE_SECONDS` if set to a number >= 0, else 5 s."""
    try:
        value = float(environ.get(MAX_AGE_ENV_VAR, DEFAULT_MAX_AGE))
    except ValueError:
        return DEFAULT_MAX_AGE
    return value if value >= 0 else DEFAULT_MAX_AGE


class KeyDirectory:
    """The organization's keys by id, from one list walk shared by concurrent readers."""

    def __init__(
        self,
        client: ConsoleClient,
        *,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._max_age = max_age_from() if max_age is None else max_age
        self._clock = clock
        self._keys: dict[str, ApiKeyObject] = {}
        self._taken_at: float | None = None
        self._walking = False
        self._changed = threading.Condition()

    def get(self, key_id: str) -> ApiKeyObject | None:
        """The key as of a walk at most `max_age` old (walking now if needed), or None
        when that walk did not list it."""
        with self._changed:
            while True:
                if self._fresh():
                    return self._keys.get(key_id)
                if not self._walking:
                    self._walking = True
                    break
                self._changed.wait()
        started = self._clock()
        try:
            keys = self._client.list_api_keys()
        except BaseException:
            with self._changed:
                self._walking = False
                self._changed.notify_all()
            raise
        with self._changed:
            self._keys = {k.id: k for k in keys}
            self._taken_at = started
            self._walking = False
            self._changed.notify_all()
            return self._keys.get(key_id)

    def put(self, key: ApiKeyObject) -> None:
        """Record the key as this process just wrote it."""
        with self._changed:
            if self._taken_at is not None:
                self._keys[key.id] = key.model_copy(update={"key": None})

    def discard(self, key_id: str) -> None:
        """Forget a key this process deleted or found gone."""
        with self._changed:
            self._keys.pop(key_id, None)

    def _fresh(self) -> bool:
        return self._taken_at is not None and self._clock() - self._taken_at < self._max_age
