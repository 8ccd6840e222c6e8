"""The RotatingApiKey lifecycle: a resource with an id of its own holding a current and a
previous key, so that a rotation leaves the old key working for `grace_days` while its
consumers move to the new one.

A replacement cannot do that (the engine deletes the old resource at the end of the same
`up`), so a rotation here is an update in place. Its time, `rotatedAt`, is the clock of the
machine running Pulumi, as is every decision's "now": a grace period is not shortened by
a Console clock that is off (only the idle rule reads a Console time, `last_used_at`).

Keys are made with `ApiKey`'s create (markers: a create whose outcome is unknown takes
exactly its own key) and deleted with its delete (a 404 believed only once the list
confirms it).

The order of writes keeps every key owned and the current one never lost. An update first
deletes the key it lets go of (the previous key, when its time is up or when a rotation
needs its place), then makes the new key, and only then changes the state: a failure
before the new key exists leaves the old state, whose current key is untouched (a
previous key it names that is gone by then is fine: deleting a gone key is what was
asked); a failure while making it removes what it made (see `lifecycle.make_key`). The
next `up` decides again and finishes.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pulumi.output import contains_unknowns
from pulumi.runtime.rpc import wrap_rpc_secret

from . import checks, expiry, lifecycle, notices, rotation, times
from .console import ApiKeyObject, ConsoleError
from .lifecycle import ApiKeyError
from .properties import ROTATING_PROPS, Change
from .results import Checked, Diff, Found, Kind, PropertyChange
from .session import Session
from .spec import RotatingApiKeySpec, whole_number

# A resource's own id: its keys change, it does not.
ID_PREFIX = "rotating-"

_INPUTS = tuple(p for p in ROTATING_PROPS if p.change is not Change.OUTPUT_ONLY)
_SETTINGS = tuple(p.wire for p in _INPUTS if p.change in (Change.STATE_ONLY, Change.CREATE_ONLY))
_ROTATES = tuple(p for p in _INPUTS if p.change is Change.ROTATE)
# The state of the previous key, empty outside a grace period.
PREVIOUS = ("previousKeyId", "previousKey", "previousRetiresAt", "previousLastUsedAt")
# What a rotation changes besides the secret: unknown in an update's preview.
_NEW_WITH_A_KEY = ("keyId", "key", "rotatedAt", "createdAt", "expiresAt", "lastUsedAt", "expired")

FIX_EXPIRED = (
    "set `rotate_before_expiry_days` so that keys rotate before they expire (a key past "
    "expiry is due), or `pulumi up` after lowering `rotate_every_days`"
)


def check(
    news: Mapping[str, Any],
    olds: Mapping[str, Any] | None = None,
    session: Session | None = None,
) -> Checked:
    return checks.check(news, olds, session, RotatingApiKeySpec)


@dataclass(frozen=True)
class Plan:
    """What the next update does, and why (for people): make a new current key, delete
    the previous key."""

    rotate: str | None = None
    retire: str | None = None


def plan(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    now: datetime,
    previous_last_used: datetime | None = None,
) -> Plan:
    """The rotation and the retirement due at `now`, from the state (`olds`) and the
    inputs; unknown inputs (a preview) decide nothing."""
    return Plan(_rotation(olds, news, now), _retirement(olds, news, now, previous_last_used))


def _rotation(olds: Mapping[str, Any], news: Mapping[str, Any], now: datetime) -> str | None:
    if not olds.get("keyId"):
        return "its current key no longer exists"
    changed = lifecycle.changed_props(olds, news, _ROTATES)
    known = [p.python for p in changed if not contains_unknowns(news.get(p.wire))]
    if known:
        named = ", ".join(f"`{name}`" for name in known)
        return f"{named} changed, which the Console API cannot change on a key"
    before, every = news.get(rotation.BEFORE_EXPIRY), news.get(rotation.EVERY)
    if contains_unknowns(before) or contains_unknowns(every):
        return None
    due = rotation.due(
        now,
        created_at=times.parse(olds.get("rotatedAt")),
        expires_at=times.parse(olds.get("expiresAt")),
        before_expiry_days=_whole(before),
        every_days=_whole(every),
    )
    return None if due is None else due.reason.replace("it was created", "it was made", 1)


def _retirement(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    now: datetime,
    previous_last_used: datetime | None,
) -> str | None:
    if not olds.get("previousKeyId"):
        return None
    retires_at = times.parse(olds.get("previousRetiresAt"))
    if retires_at is not None and retires_at <= now:
        return f"its grace period ended at {times.iso(retires_at)}"
    idle_hours = news.get("retireWhenIdleHours")
    rotated_at = times.parse(olds.get("rotatedAt"))
    if contains_unknowns(idle_hours) or _whole(idle_hours) is None or rotated_at is None:
        return None
    last_used = previous_last_used or times.parse(olds.get("previousLastUsedAt"))
    idle_since = max(rotated_at, last_used) if last_used is not None else rotated_at
    if now - idle_since < timedelta(hours=_whole(idle_hours) or 0):
        return None
    since = "the rotation" if idle_since == rotated_at else "its last use"
    return (
        f"it has not been used for {(now - idle_since).total_seconds() / 3600:.1f} hours, "
        f"since {since} at {times.iso(idle_since)} (retire_when_idle_hours is "
        f"{_whole(idle_hours)})"
    )


def _whole(value: Any) -> int | None:
    whole = whole_number(value)
    return whole if isinstance(whole, int) and not isinstance(whole, bool) and whole >= 1 else None


def _retires_at(rotated_at: datetime, grace_days: int, expires_at: datetime | None) -> datetime:
    """The end of the previous key's grace period; no later than its own expiry."""
    end = rotated_at + timedelta(days=grace_days)
    return end if expires_at is None else min(end, expires_at)


def diff(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    key_id: str | None = None,
    session: Session | None = None,
    ignored: Collection[str] = (),
) -> Diff:
    """Changed inputs (never a replacement: what would replace an `ApiKey` rotates), a
    rotation as a change of `key`, and a retirement as the removal of `previousKey`; each
    with a notice saying why and what happens."""
    changes = {
        p.wire: PropertyChange(lifecycle.kind_of(p, olds, news), replaces=False)
        for p in lifecycle.changed_props(olds, news, _INPUTS)
        if p.wire not in ignored
    }
    now = datetime.now(timezone.utc)
    decided = plan(olds, news, now, _previous_last_used(session, olds, news))
    name = f"RotatingApiKey {key_id or 'in state'}"
    if decided.rotate is not None:
        changes["key"] = PropertyChange(Kind.UPDATE, replaces=False)
        grace = _whole(news.get("graceDays"))
        kept = (
            f"; its current key {olds['keyId']} stays valid as the previous key until "
            f"{times.iso(now + timedelta(days=grace))} (grace_days is {grace})"
            if olds.get("keyId") and grace is not None
            else ""
        )
        notices.notify("info", f"{name} rotates: {decided.rotate}{kept}")
    if olds.get("previousKeyId") and _lets_previous_go(decided, olds):
        changes["previousKey"] = PropertyChange(Kind.DELETE, replaces=False)
        why = decided.retire or "a rotation makes the current key the previous one"
        notices.notify("info", f"{name} deletes its previous key {olds['previousKeyId']}: {why}")
    current = olds.get("keyId")
    if decided.rotate is None and isinstance(current, str) and olds.get("active", True):
        expiry.warn_if_expired(current, times.parse(olds.get("expiresAt")), FIX_EXPIRED)
    if session is not None:
        for held in (current, olds.get("previousKeyId")):
            if isinstance(held, str) and held:
                session.adoptions.note_diff(held, {}, replaced=False)
    return Diff(changes)


def _lets_previous_go(decided: Plan, olds: Mapping[str, Any]) -> bool:
    """Whether the update deletes the previous key: its time is up, or a rotation makes
    the current key the previous one (with the current key gone, the previous stays)."""
    return decided.retire is not None or (decided.rotate is not None and bool(olds.get("keyId")))


def _previous_last_used(
    session: Session | None, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> datetime | None:
    """The previous key's live `last_used_at`, when the idle rule needs it and the Console
    can say (else the state's, from the last `up` or refresh, decides)."""
    previous = olds.get("previousKeyId")
    if session is None or not previous or _whole(news.get("retireWhenIdleHours")) is None:
        return None
    try:
        with session.step(), session.looking():
            live = session.directory.find(str(previous))
    except ConsoleError:
        return None
    return None if live is None else live.last_used_at


def preview_update(olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    """An update's outputs in a preview: a rotation's new key and its fields are not known
    yet (dependents preview as changed); a retired previous key is gone."""
    merged = {**olds, **{p.wire: news.get(p.wire) for p in _INPUTS}}
    decided = plan(olds, news, datetime.now(timezone.utc))
    if decided.rotate is not None:
        from pulumi.runtime import rpc

        merged.update(dict.fromkeys(_NEW_WITH_A_KEY, rpc.UNKNOWN))
        if olds.get("keyId"):
            merged.update(
                previousKeyId=olds["keyId"],
                previousKey=olds.get("key"),
                previousRetiresAt=rpc.UNKNOWN,
                previousLastUsedAt=olds.get("lastUsedAt"),
            )
    elif decided.retire is not None:
        for name in PREVIOUS:
            merged.pop(name, None)
    return merged


def _state(
    props: Mapping[str, Any],
    live: ApiKeyObject | None,
    secret: str | None,
    rotated_at: str | None,
    previous: Mapping[str, Any],
    expires_in_days: Any = None,
) -> dict[str, Any]:
    """The resource's state: the current key's outputs (or, when it is gone, the inputs),
    the previous key's, and the settings."""
    if live is not None:
        days = props.get("expiresInDays") if expires_in_days is None else expires_in_days
        found = lifecycle.outputs(
            live, email=props.get("email"), expires_in_days=whole_number(days), key=secret
        )
        found["keyId"] = live.id
    else:
        found = {p.wire: props.get(p.wire) for p in _INPUTS if p.wire not in _SETTINGS}
        found["organizationId"] = props.get("organizationId")
    found["rotatedAt"] = rotated_at
    found.update(previous)
    return lifecycle.key_state(found, props, _SETTINGS)


def _previous_of(props: Mapping[str, Any]) -> dict[str, Any]:
    previous = {name: props.get(name) for name in PREVIOUS if props.get(name) is not None}
    if "previousKey" in previous:
        previous["previousKey"] = wrap_rpc_secret(lifecycle.plain(previous["previousKey"]))
    return previous


def _spec(props: Mapping[str, Any]) -> RotatingApiKeySpec:
    return RotatingApiKeySpec.model_validate(checks.inputs_of(props, RotatingApiKeySpec))


def create(session: Session, props: Mapping[str, Any]) -> Found:
    """Make (or adopt) the first current key; the resource's id is its own."""
    spec = _spec(props)
    with session.writing() as accepted:
        live, secret = lifecycle.make_key(session, spec, accepted)
    state = _state(props, live, secret, times.iso(datetime.now(timezone.utc)), {})
    return Found(f"{ID_PREFIX}{secrets.token_hex(8)}", state)


def read(session: Session, resource_id: str, props: Mapping[str, Any]) -> Found:
    """Refresh both keys from the Console: a key deleted or disabled there is named in a
    warning. With the current key gone the resource stays (the next `up` makes a new
    one) while its previous key lives; with both gone it leaves the stack."""
    if "rotatedAt" not in props:
        raise ApiKeyError(
            f"RotatingApiKey {resource_id!r} cannot be imported or read by id alone: its "
            "keys are known only to the stack that made it. To take an existing key under "
            "a RotatingApiKey, declare one with `adopt_id` set to the key's id"
        )
    current, previous = props.get("keyId"), props.get("previousKeyId")
    lifecycle.guard_organization(session, "reading", str(current or previous), props)
    try:
        with session.step():
            live = session.directory.find(str(current)) if current else None
            earlier = session.directory.find(str(previous)) if previous else None
            secret = (
                lifecycle.secret_or_reveal(session, live.id, lifecycle.plain(props.get("key")))
                if live is not None
                else None
            )
    except ConsoleError as error:
        raise ApiKeyError(f"reading RotatingApiKey {resource_id} failed: {error}") from None
    name = f"RotatingApiKey {resource_id}"
    kept = _previous_of(props)
    if previous and earlier is None:
        notices.notify(
            "warning",
            f"{name}: its previous key {previous} no longer exists in the Console (it was to "
            f"stay valid until {props.get('previousRetiresAt')}): consumers still using it "
            "are refused",
        )
        kept = {}
    elif earlier is not None:
        kept["previousLastUsedAt"] = (
            times.iso(earlier.last_used_at) if earlier.last_used_at else None
        )
        if not earlier.active:
            notices.notify(
                "warning",
                f"{name}: its previous key {previous} is disabled in the Console: consumers "
                "still using it are refused",
            )
    if live is None:
        if not kept:
            notices.notify(
                "warning",
                f"{name}: its keys no longer exist in the Console; it leaves the stack, and "
                "the next `pulumi up` makes a new one",
            )
            return Found(None)
        notices.notify(
            "warning",
            f"{name}: its current key {current} no longer exists in the Console; the next "
            f"`pulumi up` makes a new one (the previous key {previous} stays as it is)",
        )
        return Found(resource_id, _state(props, None, None, props.get("rotatedAt"), kept))
    lifecycle.report_odd(live)
    if not live.active and props.get("active", True):
        notices.notify(
            "warning",
            f"{name}: its current key {live.id} is disabled in the Console; the next "
            "`pulumi up` enables it again (`active` is true)",
        )
    if live.active:
        expiry.warn_if_expired(live.id, live.expires_at, FIX_EXPIRED)
    days = props.get("expiresInDays")
    if days is None:
        days = times.days_between(live.created_at, live.expires_at)
    state = _state(props, live, secret, props.get("rotatedAt"), kept, expires_in_days=days)
    return Found(resource_id, state)


def update(
    session: Session, resource_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> dict[str, Any]:
    """Retire, rotate or update in place, as `plan` decides at this moment."""
    current = olds.get("keyId")
    lifecycle.guard_organization(session, "updating", str(current or resource_id), olds)
    spec = _spec(news)
    now = datetime.now(timezone.utc)
    decided = plan(olds, news, now, _previous_last_used(session, olds, news))
    previous = _previous_of(olds)
    if previous and _lets_previous_go(decided, olds):
        lifecycle.delete(session, str(previous["previousKeyId"]), olds)
        previous = {}
    if decided.rotate is not None:
        with session.writing() as accepted:
            fresh = spec.model_copy(update={"adopt_id": None})
            live, secret = lifecycle.make_key(session, fresh, accepted)
        rotated_at = datetime.now(timezone.utc)
        if current:
            expires_at = times.parse(olds.get("expiresAt"))
            previous = {
                "previousKeyId": current,
                "previousKey": wrap_rpc_secret(lifecycle.plain(olds.get("key"))),
                "previousRetiresAt": times.iso(
                    _retires_at(rotated_at, spec.grace_days, expires_at)
                ),
                "previousLastUsedAt": olds.get("lastUsedAt"),
            }
        return _state(news, live, secret, times.iso(rotated_at), previous)
    kept = lifecycle.update(session, str(current), olds, news)
    kept.update({"keyId": current, "rotatedAt": olds.get("rotatedAt"), **previous})
    return lifecycle.key_state(kept, news, _SETTINGS)


def delete(session: Session, resource_id: str, props: Mapping[str, Any]) -> None:
    """Delete both keys, the previous one first: a failure leaves the resource, and the
    keys it still names, in the stack for `pulumi destroy` to finish."""
    for key_id in (props.get("previousKeyId"), props.get("keyId")):
        if isinstance(key_id, str) and key_id:
            lifecycle.delete(session, key_id, props)
