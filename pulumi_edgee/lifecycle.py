"""The ApiKey lifecycle: what check, diff, create, read, update and delete do against the
Console API, in terms of wire-named property dicts.

`provider.py` adapts these functions to the engine; this module holds the decisions and
is imported only when the provider first runs, keeping `import pulumi_edgee` light.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult
from pulumi.output import contains_unknowns
from pulumi.runtime.rpc import wrap_rpc_secret

from . import adoption, rotation
from .console import (
    ApiKeyCreate,
    ApiKeyObject,
    ApiKeyUpdate,
    ConsoleError,
    NotFoundError,
    OutcomeUnknownError,
)
from .properties import INPUT_PROPS, PROPS, Change, Prop
from .session import Session
from .spec import ApiKeySpec, validate, whole_number

PROVIDER_KEY = "__provider"

# How far back a key found after an ambiguous create may have been made: covers the
# clock difference between this machine and the Console API.
CLOCK_SKEW = timedelta(minutes=2)
# Creates attempted before giving up when each one's outcome stays unknown.
CREATE_ATTEMPTS = 3


class ApiKeyError(Exception):
    """A lifecycle step that failed; the message says what and why, never a secret."""


_INPUT_NAMES = frozenset(p.wire for p in INPUT_PROPS)
# How the resource manages its key (adoption, rotation): kept in outputs, never sent.
_SETTING_NAMES = tuple(
    p.wire for p in INPUT_PROPS if p.change in (Change.STATE_ONLY, Change.CREATE_ONLY)
)


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """The input properties of a property bag (outputs and `__provider` left out)."""
    return {k: v for k, v in props.items() if k in _INPUT_NAMES}


def check(
    news: Mapping[str, Any],
    olds: Mapping[str, Any] | None = None,
    session: Session | None = None,
) -> CheckResult:
    """Validate the desired inputs; unknown values (preview) are judged once known.

    With a session, a new resource's `adopt_id` is checked against the live key.
    """
    inputs = {k: v for k, v in news.items() if k != PROVIDER_KEY}
    unknown = frozenset(k for k, v in inputs.items() if contains_unknowns(v))
    spec, failures = validate(_inputs_of(inputs), unknown)
    if spec is not None:
        inputs = spec.to_wire()
    found = [CheckFailure(f.property, f.reason) for f in failures]
    if spec is not None and session is not None and not _inputs_of(olds or {}):
        found += [CheckFailure(p, r) for p, r in adoption.check_failures(session, spec)]
    return CheckResult(inputs, found)


def _comparable(prop: Prop, value: Any) -> Any:
    """The value as far as the key cares: defaults filled, models as a set, numbers whole."""
    if value is None:
        value = prop.default
    if prop.wire == "models" and isinstance(value, (list, tuple, type(None))):
        try:
            return frozenset(value or ())
        except TypeError:  # items that are not strings: compare as given
            return tuple(map(repr, value or ()))
    return whole_number(value)


def changed_props(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[Prop]:
    """Input properties whose new value differs from the old one, or is not known yet."""
    return [
        prop
        for prop in INPUT_PROPS
        if prop.change is not Change.CREATE_ONLY
        and (
            contains_unknowns(news.get(prop.wire))
            or _comparable(prop, olds.get(prop.wire)) != _comparable(prop, news.get(prop.wire))
        )
    ]


def diff(
    session: Session, key_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> DiffResult:
    """Compare old outputs with new inputs; only input properties can cause a change.

    The key is claimed first: a replacement's create, which may follow, must never adopt
    the very key it replaces. A key due for rotation is replaced too.
    """
    session.claim(key_id)
    changed = changed_props(olds, news)
    replaces = [p.wire for p in changed if p.change is Change.REPLACE]
    replaces += rotation.replaces(key_id, olds, news)
    adoption.note_diff(key_id, news, replaced=bool(replaces))
    return DiffResult(
        changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False
    )


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _days_between(start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    return round((end - start).total_seconds() / 86400)


def outputs(
    obj: ApiKeyObject,
    *,
    email: str | None,
    expires_in_days: int | None,
    key: str | None,
) -> dict[str, Any]:
    """Every output of the resource: the live key object plus the inputs it does not echo.

    The engine hands `diff` the old outputs, so every input must be here too.
    """
    return {
        "name": obj.name,
        "type": obj.type,
        "codingAssistant": obj.coding_assistant,
        "models": list(obj.models),
        "maxUsage": obj.max_usage,
        "expiresInDays": expires_in_days,
        "email": email,
        "active": obj.active,
        "organizationId": obj.organization_id,
        "debugMode": obj.debug_mode,
        "createdAt": _timestamp(obj.created_at),
        "expiresAt": _timestamp(obj.expires_at),
        "lastUsedAt": _timestamp(obj.last_used_at),
        "key": wrap_rpc_secret(key) if key is not None else None,
    }


def settings_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """The management settings among `props`, to keep in outputs beside the key's."""
    return {name: whole_number(props.get(name)) for name in _SETTING_NAMES}


def _secret(obj: ApiKeyObject) -> str | None:
    return obj.key.get_secret_value() if obj.key is not None else None


def create(session: Session, props: Mapping[str, Any]) -> CreateResult:
    """Create the key; a key asked to start disabled is disabled before it is reported."""
    spec = ApiKeySpec.model_validate(_inputs_of(props))
    try:
        adopted = adoption.adopt(session, spec)
    except adoption.AdoptionError as error:
        raise ApiKeyError(str(error)) from None
    if adopted is not None:
        found = outputs(
            adopted,
            email=spec.email,
            expires_in_days=spec.expires_in_days,
            key=_secret(adopted),
        )
        return CreateResult(adopted.id, {**found, **settings_of(props)})
    with session.creating(_fingerprint(spec)):
        created = _create_reconciled(session, spec)
        session.claim(created.id)
    session.directory.put(created)
    try:
        secret = _secret_or_reveal(session, created.id, _secret(created))
    except ApiKeyError as error:
        _abandon(session, created.id, str(error))
    live = created
    if not spec.active:
        live = _disable_new_key(session, created)
    found = outputs(live, email=spec.email, expires_in_days=spec.expires_in_days, key=secret)
    return CreateResult(created.id, {**found, **settings_of(props)})


def _fingerprint(spec: ApiKeySpec) -> tuple[object, ...]:
    """What reconciliation matches on; identical creates in one process take turns, so
    one cannot adopt the key another is still making."""
    return (
        spec.name,
        spec.type,
        spec.coding_assistant,
        frozenset(spec.models),
        spec.max_usage,
        spec.expires_in_days,
    )


def _create_reconciled(session: Session, spec: ApiKeySpec) -> ApiKeyObject:
    """Create once, never twice: the Console API has no idempotency key, so when a
    create's outcome is unknown, look for the key it may have made before trying again.

    A candidate has the same settings, was not in the key list read before the first
    attempt (the shared list view, at most its reuse window old), was created since the
    first attempt began (less CLOCK_SKEW) and is not claimed by another resource this
    process knows. One candidate is adopted, its secret recovered through reveal; none
    means the create did not happen and it is retried; several stop with their ids, for
    a person to decide.
    """
    body = ApiKeyCreate(**spec.model_dump(exclude={"active"}))
    client = session.client
    try:
        existing = session.directory.ids()
    except ConsoleError as error:
        raise ApiKeyError(f"creating API key {spec.name!r} failed: {error}") from None
    started = datetime.now(timezone.utc) - CLOCK_SKEW
    for _ in range(CREATE_ATTEMPTS):
        try:
            return client.create_api_key(body)
        except OutcomeUnknownError:
            pass
        except ConsoleError as error:
            raise ApiKeyError(f"creating API key {spec.name!r} failed: {error}") from None
        try:
            candidates = [
                k.id
                for k in client.list_api_keys()
                if k.id not in existing and _made_by(k, spec, started)
            ]
            adopted = session.claim_sole_unclaimed(candidates)
        except LookupError as several:
            raise ApiKeyError(
                f"creating API key {spec.name!r} had an unknown outcome and several keys "
                f"match it ({several}): delete the extra ones in the Edgee Console, then run "
                "`pulumi refresh` and `pulumi up`"
            ) from None
        except ConsoleError as error:
            raise ApiKeyError(
                f"creating API key {spec.name!r} had an unknown outcome and checking for the "
                f"key failed ({error}): look for a key named {spec.name!r} created since "
                f"{_timestamp(started)} in the Edgee Console and delete it before running "
                "`pulumi up` again"
            ) from None
        if adopted is not None:
            return _adopt(session, spec, adopted)
    raise ApiKeyError(
        f"creating API key {spec.name!r} failed: {CREATE_ATTEMPTS} attempts had an unknown "
        "outcome and none made a key; run `pulumi up` again"
    )


def _adopt(session: Session, spec: ApiKeySpec, key_id: str) -> ApiKeyObject:
    """The key an ambiguous create made, with its secret."""
    try:
        return session.client.reveal_api_key(key_id)
    except ConsoleError as error:
        _abandon(
            session,
            key_id,
            f"creating API key {spec.name!r} made key {key_id}, but revealing its secret "
            f"failed ({error})",
        )


def _abandon(session: Session, key_id: str, reason: str) -> NoReturn:
    """Delete a key this step made but cannot hand to the stack (no secret, or it could
    not be made as declared), then fail: the stack never learns of it, so leaving it
    would orphan it, and the next `up` starts clean."""
    session.directory.discard(key_id)
    try:
        session.client.delete_api_key(key_id)
    except NotFoundError:
        pass
    except ConsoleError as error:
        raise ApiKeyError(
            f"{reason}; removing key {key_id} failed too ({error}): delete it in the Edgee "
            "Console, it is not managed by this stack, then run `pulumi up` again"
        ) from None
    raise ApiKeyError(f"{reason}; key {key_id} was removed, run `pulumi up` again") from None


def _secret_or_reveal(session: Session, key_id: str, known: str | None) -> str:
    """The key's secret: the one already known, else fetched through reveal, so that no
    step ever writes a state without it."""
    if known is not None:
        return known
    try:
        revealed = _secret(session.client.reveal_api_key(key_id))
    except ConsoleError as error:
        raise ApiKeyError(f"revealing API key {key_id} failed: {error}") from None
    if revealed is None:
        raise ApiKeyError(f"revealing API key {key_id} returned no secret")
    return revealed


def _made_by(key: ApiKeyObject, spec: ApiKeySpec, since: datetime) -> bool:
    """Whether `key` could be the one an ambiguous create of `spec` made."""
    return (
        key.created_at >= since
        and key.name == spec.name
        and key.type == spec.type
        and key.coding_assistant == spec.coding_assistant
        and frozenset(key.models) == frozenset(spec.models)
        and key.max_usage == spec.max_usage
        and _days_between(key.created_at, key.expires_at) == spec.expires_in_days
    )


def _disable_new_key(session: Session, created: ApiKeyObject) -> ApiKeyObject:
    """The create body has no `active`: disable the new key, or remove it rather than
    leave a working key the stack does not know about."""
    try:
        disabled = session.client.update_api_key(created.id, ApiKeyUpdate(active=False))
    except ConsoleError as error:
        _abandon(session, created.id, f"disabling new API key {created.id} failed: {error}")
    session.directory.put(disabled)
    return disabled


def read(session: Session, key_id: str, props: Mapping[str, Any]) -> ReadResult:
    """Refresh from the live key; a key deleted out of band leaves the stack.

    Reads share one list walk (see `directory`); a key the walk did not list is
    confirmed gone by a direct read before it is dropped.
    """
    client = session.client
    try:
        live = session.directory.get(key_id) or client.get_api_key(key_id)
    except NotFoundError:
        session.directory.discard(key_id)
        return ReadResult(None, {})
    except ConsoleError as error:
        raise ApiKeyError(f"reading API key {key_id} failed: {error}") from None
    session.claim(key_id)
    secret = _secret_or_reveal(session, key_id, _plain(props.get("key")))
    expires_in_days = props.get("expiresInDays")
    if expires_in_days is None:
        expires_in_days = _days_between(live.created_at, live.expires_at)
    return ReadResult(
        key_id,
        {
            **outputs(
                live,
                email=props.get("email"),
                expires_in_days=whole_number(expires_in_days),
                key=secret,
            ),
            **settings_of(props),
        },
    )


def update(
    session: Session, key_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply the in-place changes and return the full outputs, keeping the secret."""
    spec = ApiKeySpec.model_validate(_inputs_of(news))
    changes = {
        p.python: getattr(spec, p.python)
        for p in changed_props(olds, news)
        if p.change is Change.IN_PLACE
    }
    if "models" in changes:
        changes["models"] = list(spec.models)
    session.claim(key_id)
    if not changes:
        # Only how the resource manages its key changed (rotation settings): no request.
        secret = _secret_or_reveal(session, key_id, _plain(olds.get("key")))
        kept = {p.wire: olds.get(p.wire) for p in PROPS if not p.secret}
        return {**kept, "key": wrap_rpc_secret(secret), **settings_of(news)}
    try:
        live = session.client.update_api_key(key_id, ApiKeyUpdate(**changes))
    except NotFoundError:
        raise ApiKeyError(
            f"updating API key {key_id} failed: it no longer exists; run `pulumi refresh` to "
            "drop it from the stack, then `pulumi up` to create it again"
        ) from None
    except ConsoleError as error:
        raise ApiKeyError(f"updating API key {key_id} failed: {error}") from None
    session.directory.put(live)
    found = outputs(
        live,
        email=spec.email,
        expires_in_days=spec.expires_in_days,
        key=_secret_or_reveal(session, key_id, _plain(olds.get("key"))),
    )
    return {**found, **settings_of(news)}


def delete(session: Session, key_id: str) -> None:
    """Delete the key; one that is already gone is what was asked for.

    A 404 is believed only once the key list confirms it: with a wrong organization
    every key answers 404, and taking that as success would orphan every key. A key
    another resource adopted in this same command is its now, and is left alone.
    """
    if adoption.adopted_here(key_id):
        return
    sent_at = session.directory.now()
    try:
        session.client.delete_api_key(key_id)
    except NotFoundError:
        try:
            still_listed = session.directory.get(key_id, taken_after=sent_at)
        except ConsoleError as error:
            raise ApiKeyError(f"deleting API key {key_id} failed: {error}") from None
        if still_listed is not None:
            raise ApiKeyError(
                f"deleting API key {key_id} failed: the Console API answered 404 but still "
                "lists the key; run `pulumi destroy` again"
            ) from None
    except ConsoleError as error:
        raise ApiKeyError(f"deleting API key {key_id} failed: {error}") from None
    session.directory.discard(key_id)


def _plain(value: Any) -> Any:
    """Old outputs arrive unwrapped from the engine, but tolerate a wrapped secret."""
    if isinstance(value, Mapping) and "value" in value:
        return value["value"]
    return value
