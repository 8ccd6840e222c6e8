"""A shared, short-lived view of the organization's key list, so that reading N keys
costs about one walk of the list instead of N.

The Console API documents no single-key read, so each read would otherwise walk every
page. The engine refreshes a stack by calling Read for every key, up to four at once;
all of them are answered from one walk. A walk serves reads until `max_age` seconds
(5 s, or `EDGEE_READ_REUSE_SECONDS`; 0 reuses no finished walk) pass without a read, and
for at most `MAX_VIEW_LIFE` (60 s) after it ended; a reader that waited for a walk uses
it whatever its age. So the walks a refresh makes depend neither on how long one walk
takes nor on how long the reads after it take: a refresh is one snapshot of the list. Writes made by
this process update the view at once, even while a walk is under way, so a read after
this process's own write always sees it.

A key missing from one walk is not taken as deleted on that walk's word: `find` drops a
key from the stack only when two consecutive walks both miss it, so all the keys
deleted out of band are confirmed by one shared second walk, not one each.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

from .console import ApiKeyObject, ConsoleClient, UnexpectedResponseError

DEFAULT_MAX_AGE = 5.0
# How long a walk may serve a steady stream of reads (longer if `max_age` is longer).
MAX_VIEW_LIFE = 60.0
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
        # The process (one per command under the engine) began no later than this: the
        # keys its reads name by id alone existed by then (see `find`).
        self.opened_at = clock()
        self._keys: dict[str, ApiKeyObject] = {}
        # Ids the walk listed but could not read, with why: never taken for deleted.
        self._unreadable: dict[str, str] = {}
        # Ids of the view before this one (None before the second walk): a key missing
        # from both is confirmed gone.
        self._previous: frozenset[str] | None = None
        self._started: float | None = None  # when the walk behind `_keys` began
        self._view_walk = 0  # and its number (walks are numbered from 1 as they end)
        self._finished = 0.0  # when it ended
        self._used = 0.0  # when it last served a reader
        self._walking_since: float | None = None  # start of the walk under way, if any
        # While a walk is under way: this process's writes since it began (None = deleted),
        # laid over its result so that the walk cannot undo them.
        self._written: dict[str, ApiKeyObject | None] | None = None
        self._walks = 0  # walks ended, failed or not
        self._failure: tuple[int, BaseException] | None = None
        self._changed = threading.Condition()

    def now(self) -> float:
        """The directory's clock, for `get(taken_after=...)`."""
        return self._clock()

    def get(self, key_id: str, *, taken_after: float | None = None) -> ApiKeyObject | None:
        """The key as of a walk still in use (see the module's docstring), or one this
        reader waited for (walking now if there is neither), or None when that walk did not list
        it; with `taken_after`, only a walk begun at or after that time will do. Readers
        that waited on a walk that failed get its error rather than each walking again."""
        self._ensure_view(taken_after)
        with self._changed:
            return self._keys.get(key_id)

    def walk_unless_walked(self) -> None:
        """Walk the list unless this directory has walked it or is walking it: how a
        process that has no other reason to list the keys makes its one walk, which later
        reads then share."""
        with self._changed:
            if self._walks or self._walking_since is not None:
                return
        self._ensure_view(None)

    def find(self, key_id: str, *, asked_at: float | None = None) -> ApiKeyObject | None:
        """The key, or None once the list confirms it is gone.

        A key the stack knows (its Read has old outputs) is gone when two consecutive
        walks miss it; every reader whose key the first missed shares the second. With
        `asked_at` (a key known only by id, e.g. one being imported), only a walk begun
        after that time can say it is gone, since an older one may predate the key.
        """
        self._ensure_view(None)
        with self._changed:
            found = self._keys.get(key_id)
            if found is not None:
                return found
            self._raise_if_unreadable(key_id)
            if asked_at is None and self._previous is not None and key_id not in self._previous:
                return None
            missed_by = self._view_walk
        if asked_at is None:
            self._ensure_view(None, after_walk=missed_by)
        else:
            self._ensure_view(asked_at)
        with self._changed:
            self._raise_if_unreadable(key_id)
            return self._keys.get(key_id)

    def _raise_if_unreadable(self, key_id: str) -> None:
        reason = self._unreadable.get(key_id)
        if reason is not None and key_id not in self._keys:
            raise UnexpectedResponseError(
                "GET", "the key list", f"key {key_id} is listed but unreadable: {reason}"
            )

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
            elif self._started is not None:
                self._keys[key_id] = key

    def _ensure_view(self, taken_after: float | None, *, after_walk: int = 0) -> None:
        """Make `_keys` a view this reader may use: a fresh one, one from a walk it
        waited for (whatever that walk's age), or one it walks for itself now. A view
        must come from a walk begun at or after `taken_after`, and later than walk
        number `after_walk`; a walk under way is always later than the view."""
        with self._changed:
            while not self._fresh(taken_after, after_walk):
                since = self._walking_since
                if since is None:
                    self._walking_since = started = self._clock()
                    self._written = {}
                    break
                awaited = self._walks
                while self._walks == awaited:
                    self._changed.wait()
                if self._failure is not None and self._failure[0] == awaited:
                    raise self._failure[1]
                if taken_after is None or since >= taken_after:
                    return
            else:
                self._used = self._clock()
                return
        try:
            walked = self._client.list_api_keys()
            listed = {k.id: k for k in walked}
        except BaseException as error:
            with self._changed:
                self._failure = (self._walks, error)
                self._end_walk()
            raise
        with self._changed:
            for written_id, written in (self._written or {}).items():
                if written is None:
                    listed.pop(written_id, None)
                else:
                    listed[written_id] = written
            if self._started is not None:
                self._previous = frozenset(self._keys) | frozenset(self._unreadable)
            self._keys = listed
            self._unreadable = dict(walked.unreadable)
            self._started = started
            self._view_walk = self._walks + 1
            self._finished = self._used = self._clock()
            self._failure = None
            self._end_walk()

    def _end_walk(self) -> None:
        self._walking_since = None
        self._written = None
        self._walks += 1
        self._changed.notify_all()

    def _fresh(self, taken_after: float | None, after_walk: int = 0) -> bool:
        started = self._started
        return (
            started is not None
            and self._view_walk > after_walk
            and self._clock() - self._used < self._max_age
            and self._clock() - self._finished < max(self._max_age, MAX_VIEW_LIFE)
            and (taken_after is None or started >= taken_after)
        )
