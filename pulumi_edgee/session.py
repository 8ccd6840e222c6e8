"""Per-process connection state, built on first use and shared by the provider's threads.

The provider instance is pickled into every resource, so it cannot hold a client, a
lock or a token. The dynamic provider server runs up to four calls at once in one
process; they all reach the Console API through the one pooled client kept here.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

from .console import ConsoleClient
from .directory import KeyDirectory
from .settings import CONFIG_SOURCES, Settings, resolve


class Session:
    """What one process keeps per set of credentials: a pooled client, a shared view of
    the key list, and the ids of keys this process knows belong to a resource (so
    reconciliation never adopts them)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = ConsoleClient(
            settings.console_url, settings.organization_id, settings.api_token
        )
        self.directory = KeyDirectory(self.client)
        self._claimed: set[str] = set()
        self._claims_lock = threading.Lock()
        self._creating: dict[Hashable, threading.Lock] = {}

    @contextmanager
    def creating(self, fingerprint: Hashable) -> Iterator[None]:
        """Serialize creates of identical keys, so that reconciling one never adopts a key
        another is still making."""
        with self._claims_lock:
            lock = self._creating.setdefault(fingerprint, threading.Lock())
        with lock:
            yield

    def claim(self, key_id: str) -> None:
        """Record that a resource owns this key."""
        with self._claims_lock:
            self._claimed.add(key_id)

    def claim_sole_unclaimed(self, key_ids: list[str]) -> str | None:
        """Atomically claim the only unclaimed id among `key_ids`; None if there is none.

        Raises `LookupError` listing them when more than one is unclaimed.
        """
        with self._claims_lock:
            free = [k for k in key_ids if k not in self._claimed]
            if len(free) > 1:
                raise LookupError(", ".join(free))
            if free:
                self._claimed.add(free[0])
            return free[0] if free else None

    def __repr__(self) -> str:
        return f"Session(console_url={self.settings.console_url!r})"


_sessions: dict[Settings, Session] = {}
_lock = threading.Lock()


def session_for(settings: Settings) -> Session:
    """The process's session for these settings, created once even under concurrent calls."""
    session = _sessions.get(settings)
    if session is None:
        with _lock:
            session = _sessions.get(settings)
            if session is None:
                session = _sessions[settings] = Session(settings)
    return session


def session_for_config(config: tuple[tuple[str, str | None], ...]) -> Session:
    """The session for a provider's stack config (and the environment as fallback).

    Resolving settings parses and checks the URL; every call of every resource needs
    the answer, so it is worked out once per distinct config and environment. A bad
    setting is not remembered: its error is raised again, and a fixed environment wins.
    """
    environment = tuple(os.environ.get(source.env_var) for source in CONFIG_SOURCES)
    return _resolved_session(config, environment)


@functools.lru_cache(maxsize=32)
def _resolved_session(
    config: tuple[tuple[str, str | None], ...], environment: tuple[str | None, ...]
) -> Session:
    env = {s.env_var: v for s, v in zip(CONFIG_SOURCES, environment, strict=True) if v}
    return session_for(resolve(dict(config), env))
