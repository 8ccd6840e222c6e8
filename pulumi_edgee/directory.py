"""A shared, short-lived view of the organization's key list, so that reading N keys
costs about one walk of the list instead of N.

The Console API documents no single-key read, so each read would otherwise walk every
page. The engine refreshes a stack by calling Read for every key, up to four at once;
all of them are answered from one walk taken at most `max_age` seconds earlier (5 s, or
`EDGEE_READ_REUSE_SECONDS`; 0 makes every read walk the list). Writes made by this
process update the view at once, even while a walk is under way, so a read after this
process's own write always sees it. A key missing from the view is never taken as
deleted on the view's word: the caller confirms with a direct read.
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
        # While a walk is under way: this process's writes since it began (None = deleted),
        # laid over its result so that the walk cannot undo them.
        self._written: dict[str, ApiKeyObject | None] | None = None
        self._walks = 0
        self._failure: tuple[int, BaseException] | None = None
        self._changed = threading.Condition()

    def now(self) -> float:
        """The directory's clock, for `get(taken_after=...)`."""
        return self._clock()

    def get(self, key_id: str, *, taken_after: float | None = None) -> ApiKeyObject | None:
        """The key as of a walk at most `max_age` old (walking now if needed), or None
        when that walk did not list it; with `taken_after`, only a walk begun after that
        time will do. Readers that waited on a walk that failed get its error rather than
        each walking again."""
        with self._changed:
            while not self._fresh(taken_after):
                if self._written is None:
                    self._written = {}
                    break
                awaited = self._walks
                self._changed.wait()
                if self._failure is not None and self._failure[0] == awaited:
                    raise self._failure[1]
            else:
                return self._keys.get(key_id)
        started = self._clock()
        try:
            keys = {k.id: k for k in self._client.list_api_keys()}
        except BaseException as error:
            with self._changed:
                self._failure = (self._walks, error)
                self._finish_walk()
            raise
        with self._changed:
            for written_id, written in (self._written or {}).items():
                if written is None:
                    keys.pop(written_id, None)
                else:
                    keys[written_id] = written
            self._keys = keys
            self._taken_at = started
            self._failure = None
            self._finish_walk()
            return self._keys.get(key_id)

    def put(self, key: ApiKeyObject) -> None:
        """Record the key as this process just wrote it."""
        self._record(key.id, key.model_copy(update={"key": None}))

    def discard(self, key_id: str) -> None:
        """Forget a key this process deleted or found gone."""
        self._record(key_id, None)

    def _record(self, key_id: str, key: ApiKeyObject | None) -> None:
        with self._changed:
            if self._written is not None:
                self._written[key_id] = key
            if key is None:
                self._keys.pop(key_id, None)
            elif self._taken_at is not None:
                self._keys[key_id] = key

    def _finish_walk(self) -> None:
        self._written = None
        self._walks += 1
        self._changed.notify_all()

    def _fresh(self, taken_after: float | None = None) -> bool:
        taken = self._taken_at
        return (
            taken is not None
            and self._clock() - taken < self._max_age
            and (taken_after is None or taken >= taken_after)
        )
