"""Taking an existing key under management: `ApiKey(..., adopt_id="key_...")`.

Instead of creating a key, the resource's create reads the key, recovers its secret
through the reveal endpoint and applies the declared settings that can change in place.
Settings that cannot (`type`, `coding_assistant`, `expires_in_days` against the key's
real expiry) stop the preview (`check`) or the step, saying what differs and the two
ways out. Nothing is ever created or deleted on the way: a refused adoption leaves the
key as it was.

`adopt_id` matters only when the resource is created. Once the key is the resource's,
changing or removing it is not a change; and when the resource is replaced later (a
replacement property changed, or a rotation), the new key is created, not adopted again:
`diff` records the replacement here so that the `check` and `create` that follow know.

Bookkeeping is per session, one per process and settings, and the engine starts a
process per command (see `Adoptions`): so that a key is never adopted twice, a
replaced resource's key is not adopted again, and a resource that gives its key up in
the same command, renamed in the program, does not delete it from under its new owner.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import expiry, markers, times
from .console import ApiKeyObject, ApiKeyUpdate, ConsoleError, NotFoundError
from .errors import EdgeeError
from .spec import ApiKeySpec

if TYPE_CHECKING:  # the session holds this module's `Adoptions`
    from .session import Session


class AdoptionError(EdgeeError):
    """An adoption refused or failed; the message says why and what to do, no secret."""


class Adoptions:
    """What one process knows of this command's adoptions (the engine starts a process
    per command): the keys held by resources it has diffed or adopted (so one key is
    never adopted twice), the adopt ids of resources being replaced, and the keys
    adopted here. Kept on the session, so a test harness that plays several commands in
    one process with a session each sees what the CLI's processes see."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._replacing: set[str] = set()
        self._adopted: set[str] = set()
        self._lock = threading.Lock()

    def note_diff(self, key_id: str, news: Mapping[str, Any], replaced: bool) -> None:
        """A resource of the stack holds `key_id`; when it is being replaced, its
        `adopt_id` (if any) must not be adopted again by the create that follows."""
        adopt_id = news.get("adoptId")
        with self._lock:
            self._held.add(key_id)
            if replaced and isinstance(adopt_id, str):
                self._replacing.add(adopt_id)

    def wanted(self, adopt_id: str | None) -> bool:
        """Whether a create with this `adopt_id` adopts (rather than creates a new key)."""
        with self._lock:
            return adopt_id is not None and adopt_id not in self._replacing

    def adopted_here(self, key_id: str) -> bool:
        """Whether another resource adopted the key in this command: a delete of it by the
        resource that held it before (renamed in the program) must leave it to its new
        owner. A key being replaced is deleted as usual."""
        with self._lock:
            return key_id in self._adopted and key_id not in self._replacing

    def hold(self, key_id: str) -> bool:
        """Take the key for the adopting resource; False when another resource holds it."""
        with self._lock:
            if key_id in self._held:
                return False
            self._held.add(key_id)
            return True

    def release(self, key_id: str) -> None:
        """A key not taken after all: free for a later attempt."""
        with self._lock:
            self._held.discard(key_id)

    def taken(self, key_id: str) -> None:
        with self._lock:
            self._adopted.add(key_id)


def check_failures(session: Session, spec: ApiKeySpec) -> list[tuple[str, str]]:
    """Preview-time refusals for a new resource with `adopt_id` (its inputs all known):
    the key is missing, or differs in a setting that cannot change in place. A Console
    API that cannot be reached decides nothing here; `create` checks again."""
    if not session.adoptions.wanted(spec.adopt_id):
        return []
    assert spec.adopt_id is not None
    try:
        with session.looking():
            live = session.directory.get(spec.adopt_id)
    except ConsoleError:
        return []
    if live is None:
        return [("adoptId", _missing(session, spec.adopt_id))]
    if markers.parse(live.name) is not None:
        return [("adoptId", _in_flight(live))]
    problems = differences(spec, live)
    return [("adoptId", _refusal(spec.adopt_id, problems))] if problems else []


def adopt(session: Session, spec: ApiKeySpec) -> ApiKeyObject | None:
    """The adopted key with its secret and the declared settings applied, or None when
    this create does not adopt. Raises `AdoptionError` when the key is missing, held by
    another resource, or differs in what cannot change (nothing changed then), or when
    applying the settings failed (the next `up` tries again)."""
    if not session.adoptions.wanted(spec.adopt_id):
        return None
    key_id = spec.adopt_id
    assert key_id is not None
    if not session.adoptions.hold(key_id):
        raise AdoptionError(
            f"API key {key_id} cannot be adopted: another resource of this stack already "
            "manages it; remove `adopt_id` from one of them"
        )
    try:
        live = _take(session, spec, key_id)
    except AdoptionError:
        session.adoptions.release(key_id)
        raise
    session.adoptions.taken(key_id)
    session.directory.put(live)
    expiry.warn_if_expired(
        key_id,
        live.expires_at,
        "the stack now holds a key that does not work: " + expiry.REPLACE_IT,
    )
    return live


def _take(session: Session, spec: ApiKeySpec, key_id: str) -> ApiKeyObject:
    """The key with its secret, once it is known to match and the settings are applied."""
    try:
        live = session.client.reveal_api_key(key_id)
    except NotFoundError:
        raise AdoptionError(_missing(session, key_id)) from None
    except ConsoleError as error:
        raise AdoptionError(f"adopting API key {key_id} failed: {error}") from None
    if live.key is None:
        raise AdoptionError(f"adopting API key {key_id} failed: reveal returned no secret")
    if markers.parse(live.name) is not None:
        raise AdoptionError(_in_flight(live))
    problems = differences(spec, live)
    if problems:
        raise AdoptionError(_refusal(key_id, problems))
    changes = in_place_changes(spec, live)
    if not changes:
        return live
    try:
        updated = session.client.update_api_key(key_id, ApiKeyUpdate(**changes))
    except ConsoleError as error:
        raise AdoptionError(
            f"adopting API key {key_id} failed while applying the declared "
            f"{', '.join(sorted(changes))} ({error}); the key is not managed yet, run "
            "`pulumi up` again"
        ) from None
    return updated.model_copy(update={"key": live.key})


def expiry_days(key: ApiKeyObject) -> int | None:
    """The key's lifetime in whole days (as `expires_in_days` would have made it)."""
    return times.days_between(key.created_at, key.expires_at)


def differences(spec: ApiKeySpec, live: ApiKeyObject) -> list[str]:
    """The declared settings that differ from the key and cannot change in place."""
    problems = []
    if spec.type != live.type:
        problems.append(f"`type` is declared {spec.type!r}, the key's is {live.type!r}")
    if spec.coding_assistant != live.coding_assistant:
        problems.append(
            f"`coding_assistant` is declared {spec.coding_assistant!r}, the key's is "
            f"{live.coding_assistant!r}"
        )
    days = expiry_days(live)
    if spec.expires_in_days != days:
        real = (
            "the key does not expire"
            if live.expires_at is None
            else f"the key expires {days} days after creation, at {times.iso(live.expires_at)}"
        )
        problems.append(f"`expires_in_days` is declared {spec.expires_in_days!r}, {real}")
    return problems


def in_place_changes(spec: ApiKeySpec, live: ApiKeyObject) -> dict[str, Any]:
    """The declared settings to apply to the key (email always, when declared: the
    Console API does not return it, so it cannot be compared)."""
    changes: dict[str, Any] = {}
    if spec.name != live.name:
        changes["name"] = spec.name
    if frozenset(spec.models) != frozenset(live.models):
        changes["models"] = list(spec.models)
    if spec.max_usage != live.max_usage:
        changes["max_usage"] = spec.max_usage
    if spec.active != live.active:
        changes["active"] = spec.active
    if spec.email is not None:
        changes["email"] = spec.email
    return changes


def _missing(session: Session, key_id: str) -> str:
    organization = session.settings.organization_id
    return (
        f"API key {key_id} cannot be adopted: organization {organization} has no key with "
        "that id (a key of another organization cannot be adopted with this "
        "organizationId); `python -m pulumi_edgee.adopt` lists the organization's keys. "
        "Nothing was created."
    )


def _in_flight(live: ApiKeyObject) -> str:
    return (
        f"API key {live.id} cannot be adopted: it still bears a create marker name "
        f"({live.name}), so it is a create of some stack in progress (which will take it) "
        "or interrupted (a later command removes it). Adopt a key that has its declared "
        "name. Nothing was changed."
    )


def _refusal(key_id: str, problems: list[str]) -> str:
    return (
        f"API key {key_id} cannot be adopted as declared: {'; '.join(problems)}. These "
        "cannot change on an existing key: declare the key as it is, or remove `adopt_id` "
        "to create a new key instead. Nothing was changed."
    )
