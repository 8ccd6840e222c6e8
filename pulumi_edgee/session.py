"""Per-process connection state, built on first use and shared by the provider's threads.

The provider instance is pickled into every resource, so it cannot hold a client, a
lock or a token. The dynamic provider server runs up to four calls at once in one
process; they all reach the Console API through the one pooled client kept here.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from . import markers
from .console import (
    AuthenticationError,
    ConsoleClient,
    ConsoleError,
    KeyList,
    NotFoundError,
)
from .console.deadline import (
    REQUEST_DEADLINE_ENV_VAR,
    STEP_DEADLINE_ENV_VAR,
    Budget,
    step_budget,
)
from .console.errors import OrganizationScopedError
from .directory import KeyDirectory
from .settings import (
    API_TOKEN,
    CONFIG_SOURCES,
    ORGANIZATION_ID,
    Settings,
    Source,
    resolve,
)
from .takeover import Adoptions

GRACE_ENV_VAR = "EDGEE_LEFTOVER_GRACE_SECONDS"
# How long the step that starts the sweep (see `Session.writing`) waits for it at most.
SWEEP_WAIT = 2.0
_STEP_BUDGET = f"step deadline ({STEP_DEADLINE_ENV_VAR})"


# No budget is longer: a create marker's expiry (a step's end) stays a short number, and
# the marker name within the API's name length, whatever the environment says.
MAX_BUDGET = 86_400.0


def _seconds(
    environ: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False
) -> float:
    """A finite positive number of seconds from the environment (at most `MAX_BUDGET`),
    else the default."""
    try:
        value = float(environ.get(name, default))
    except ValueError:
        return default
    usable = math.isfinite(value) and (value > 0 or (allow_zero and value == 0))
    return min(value, MAX_BUDGET) if usable else default


@dataclass(frozen=True)
class Deadlines:
    """Total budgets: a request, a lifecycle step, and the allowance for clock differences
    between machines when judging a create marker expired (see `markers`)."""

    request: float = 30.0
    step: float = 120.0
    grace: float = 60.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Deadlines:
        return cls(
            request=_seconds(environ, REQUEST_DEADLINE_ENV_VAR, cls.request),
            step=_seconds(environ, STEP_DEADLINE_ENV_VAR, cls.step),
            grace=_seconds(environ, GRACE_ENV_VAR, cls.grace, allow_zero=True),
        )


class Session:
    """What one process keeps per set of credentials: a pooled client, a shared view of
    the key list, and the budgets its steps run under.

    Every list walk, whoever makes it, also removes the leftovers of interrupted creates
    it sees (keys still named by a create marker whose creator has given up), and the
    first successful write of a process walks once if nothing has walked yet (`writing`).
    """

    def __init__(self, settings: Settings, deadlines: Deadlines | None = None) -> None:
        self.settings = settings
        self.deadlines = deadlines or Deadlines.from_environment()
        self.client = ConsoleClient(
            settings.console_url,
            settings.organization_id,
            settings.api_token,
            request_deadline=self.deadlines.request,
            walk_deadline=self.deadlines.step,
            on_walk=self._remove_leftovers,
        )
        self.directory = KeyDirectory(self.client)
        self.adoptions = Adoptions()
        self._removing: set[str] = set()
        self._removing_lock = threading.Lock()
        self._walked = False  # a walk of this process has ended (and swept)
        self._thread = threading.local()  # `looking` on the threads that only look
        self._sweep_started = False
        self._access_lock = threading.Lock()
        self._access_asked = False
        self._access: tuple[Source, str] | None = None

    def access_problem(self) -> tuple[Source, str] | None:
        """The setting that keeps these credentials from the organization's keys, and why
        with the fix; ``None`` when they reach them, or when the Console could not say
        (unreachable, failing, rate limiting: the steps meet that with their own retries
        and recovery, and a preview need not fail on a passing fault). One cheap request
        the first time a process asks: the Checks of a command share it, so a wrong token
        or organization fails the preview before any key is touched."""
        with self._access_lock:
            if not self._access_asked:
                try:
                    self.client.check_access()
                except AuthenticationError as error:
                    self._access = (
                        API_TOKEN,
                        f"{_sentence(error)} Fix the token: {API_TOKEN.how_to_set()}.",
                    )
                except OrganizationScopedError as error:
                    self._access = (ORGANIZATION_ID, str(error))
                except ConsoleError:
                    self._access = None
                self._access_asked = True
            return self._access

    @contextmanager
    def looking(self) -> Iterator[None]:
        """Walks on this thread only look: they remove no leftover. A preview changes
        nothing, so lookups and preview-time checks leave leftovers to the commands
        that change or refresh keys."""
        self._thread.looking = True
        try:
            yield
        finally:
            self._thread.looking = False

    def step(self) -> AbstractContextManager[Budget]:
        """Bound a lifecycle step (every request and retry in it) to the step deadline."""
        return step_budget(self.deadlines.step, _STEP_BUDGET)

    @contextmanager
    def rollback(self) -> Iterator[None]:
        """A budget of one request deadline for removing a key a step made but cannot
        report, even when the step's own budget is spent."""
        what = f"request deadline ({REQUEST_DEADLINE_ENV_VAR})"
        with step_budget(self.deadlines.request, what, replace=True):
            yield

    @contextmanager
    def writing(self) -> Iterator[Callable[[], None]]:
        """Wrap a create, update or delete. The first one of the process to succeed also
        sweeps the leftovers of interrupted creates, so that every command that changes a
        key removes them even when nothing else lists the keys: unless a walk of this
        process has ended or is under way, one walk of the shared list view (`directory`).
        It starts once the Console API has accepted a write of the step (so with
        credentials the step proved): when the step calls the function this yields (a
        create does as soon as its key is made, so that the walk overlaps its rename),
        else when the step has done its work. The step waits for it at most
        `SWEEP_WAIT` seconds, so a sweep that fails or hangs never fails the step nor
        holds it long; one still going on then finishes on its own (non-daemon) thread,
        which the provider server waits for when the engine interrupts it at the end of
        the command."""
        started: list[threading.Thread | None] = []

        def accepted() -> None:
            if not started:
                started.append(self._start_sweep())

        yield accepted
        accepted()
        sweeper = started[0]
        if sweeper is not None:
            sweeper.join(SWEEP_WAIT)

    def _start_sweep(self) -> threading.Thread | None:
        with self._removing_lock:
            if self._sweep_started or self._walked:
                return None
            self._sweep_started = True
        sweeper = threading.Thread(target=self._sweep, name="pulumi-edgee-sweep")
        sweeper.start()
        return sweeper

    def _sweep(self) -> None:
        """One walk, under a step's budget; a failure is reported and left to a later command."""
        try:
            with self.step():
                self.directory.walk_unless_walked()
                if not self._walked:  # the directory's walks only looked
                    self.client.list_api_keys()
        except ConsoleError as error:
            print(
                "pulumi-edgee: warning: could not list the keys to remove those left behind "
                f"by interrupted creates ({error}); a later command will try again",
                file=sys.stderr,
            )

    def _remove_leftovers(self, keys: KeyList, walk_started: float) -> None:
        """Delete the keys of this walk that are expired create markers. Safe whoever made
        them: a creator adopts its marked key only before the marker's expiry, and this
        walk began after expiry plus the grace, so a key still named by the marker when
        listed will never be adopted. A failure is left for a later walk. A walk that
        only looks removes nothing (see `looking`)."""
        if getattr(self._thread, "looking", False):
            return
        self._walked = True
        expired = [
            k.id for k in keys if markers.expired(k.name, walk_started, self.deadlines.grace)
        ]
        for key_id in expired:
            with self._removing_lock:
                if key_id in self._removing:
                    continue
                self._removing.add(key_id)
            try:
                self.client.delete_api_key(key_id)
                print(
                    f"pulumi-edgee: removed key {key_id}, left behind by an interrupted create",
                    file=sys.stderr,
                )
            except NotFoundError:
                pass
            except ConsoleError as error:
                print(
                    f"pulumi-edgee: could not remove key {key_id}, left behind by an "
                    f"interrupted create ({error}); a later command will try again",
                    file=sys.stderr,
                )
            finally:
                with self._removing_lock:
                    self._removing.discard(key_id)
            self.directory.discard(key_id)

    def __repr__(self) -> str:
        return f"Session(console_url={self.settings.console_url!r})"


def _sentence(error: Exception) -> str:
    """The error's text ending as a sentence, so that advice can follow it."""
    text = str(error).rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


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
    return _resolved_session(config, tuple(map(os.environ.get, _ENV_VARS)))


_ENV_VARS = tuple(source.env_var for source in CONFIG_SOURCES)


@functools.lru_cache(maxsize=32)
def _resolved_session(
    config: tuple[tuple[str, str | None], ...], environment: tuple[str | None, ...]
) -> Session:
    env = {s.env_var: v for s, v in zip(CONFIG_SOURCES, environment, strict=True) if v}
    return session_for(resolve(dict(config), env))
