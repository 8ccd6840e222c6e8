"""The ApiKey lifecycle: what check, diff, create, read, update and delete do against the
Console API, in terms of wire-named property dicts.

`provider.py` adapts these functions to the engine; this module holds the decisions and
is imported only when the provider first runs, keeping `import pulumi_edgee` light.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, NoReturn

from pulumi.output import contains_unknowns
from pulumi.runtime.rpc import wrap_rpc_secret

from . import expiry, markers, rotation, takeover, times
from .checks import check as check
from .checks import inputs_of as _inputs_of
from .console import (
    ApiKeyCreate,
    ApiKeyObject,
    ApiKeyUpdate,
    ConsoleError,
    NotFoundError,
    OutcomeUnknownError,
    UnexpectedResponseError,
)
from .console.deadline import current_step
from .errors import EdgeeError
from .markers import Marker
from .properties import INPUT_PROPS, NEVER_RETURNED, PROPS, PYTHON_TO_WIRE, Change, Prop
from .results import Diff, Found, Kind, PropertyChange
from .session import Session
from .spec import ApiKeySpec, whole_number

# Creates attempted before giving up when each one's outcome stays unknown.
CREATE_ATTEMPTS = 3


class ApiKeyError(EdgeeError):
    """A lifecycle step that failed; the message says what and why, never a secret."""


# How the resource manages its key (adoption, rotation): kept in outputs, never sent.
_SETTING_NAMES = tuple(
    p.wire for p in INPUT_PROPS if p.change in (Change.STATE_ONLY, Change.CREATE_ONLY)
)


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


def changed_props(
    olds: Mapping[str, Any], news: Mapping[str, Any], props: Collection[Prop] = INPUT_PROPS
) -> list[Prop]:
    """Input properties (of `props`) whose new value differs from the old one, or is not
    known yet."""
    return [
        prop
        for prop in props
        if prop.change not in (Change.OUTPUT_ONLY, Change.CREATE_ONLY)
        and (
            contains_unknowns(news.get(prop.wire))
            or _comparable(prop, olds.get(prop.wire)) != _comparable(prop, news.get(prop.wire))
        )
    ]


def kind_of(prop: Prop, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Kind:
    if olds.get(prop.wire) is None and news.get(prop.wire) is not None:
        return Kind.ADD
    if news.get(prop.wire) is None and olds.get(prop.wire) is not None:
        return Kind.DELETE
    return Kind.UPDATE


def diff(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    key_id: str | None = None,
    session: Session | None = None,
    ignored: Collection[str] = (),
) -> Diff:
    """Compare old outputs with new inputs; only input properties can cause a change, and
    none in `ignored` (a resource's `ignoreChanges`, which the plugin is given).

    A key due for rotation is replaced too. Given the key's id and the session, adoption
    notes the key as held (and, when replaced, that its `adopt_id` must not be adopted
    again).
    """
    changes = {
        p.wire: PropertyChange(kind_of(p, olds, news), p.change is Change.REPLACE)
        for p in changed_props(olds, news)
        if p.wire not in ignored
    }
    due = rotation.replaces(key_id or "in state", olds, news)
    for prop in due:
        changes[prop] = PropertyChange(Kind.UPDATE, replaces=True)
    if not due and key_id is not None and olds.get("active", True):
        expiry.warn_if_expired(key_id, times.parse(olds.get("expiresAt")), expiry.REPLACE_IT)
    found = Diff(changes)
    if key_id is not None and session is not None:
        session.adoptions.note_diff(key_id, news, replaced=bool(found.replaces))
    return found


def _output_value(value: Any) -> Any:
    """A live value as state stores it: timestamps as ISO 8601 text, lists as lists."""
    if isinstance(value, datetime):
        return times.iso(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


# The rows `outputs` fills (every property but the management settings): those the
# key object does not echo come from the caller, the others from the object.
_ECHOED = tuple((p.wire, p.python) for p in PROPS if p.wire not in _SETTING_NAMES and p.echoed)
_GIVEN = tuple(p for p in PROPS if p.wire not in _SETTING_NAMES and not p.echoed)


def outputs(
    obj: ApiKeyObject,
    *,
    email: str | None,
    expires_in_days: int | None,
    key: str | None,
) -> dict[str, Any]:
    """Every output of the resource, one per row of the property table (the management
    settings aside): the live key object's value, else the input it does not echo (given
    here); the secret wrapped.

    The engine hands `diff` the old outputs, so every input must be here too.
    """
    values = {wire: _output_value(getattr(obj, python)) for wire, python in _ECHOED}
    given = {
        "email": email,
        "expires_in_days": expires_in_days,
        "key": key,
        "expired": expiry.is_expired(obj.expires_at),
    }
    for prop in _GIVEN:
        value = given[prop.python]
        values[prop.wire] = wrap_rpc_secret(value) if prop.secret and value is not None else value
    return values


def key_state(
    found: Mapping[str, Any], props: Mapping[str, Any], settings: Collection[str] = _SETTING_NAMES
) -> dict[str, Any]:
    """What the engine keeps for the resource: the key's outputs and the management
    settings, unset ones left out. The engine's property format has no null: the SDK's
    server drops every None when it encodes the answer, one costly call each, so the
    state is the same either way and cheaper this way (a read of a key with no email,
    expiry or rotation would otherwise encode eight Nones)."""
    state = {name: value for name, value in found.items() if value is not None}
    for name in settings:
        value = props.get(name)
        if value is not None:
            state[name] = whole_number(value)
    return state


def _secret(obj: ApiKeyObject) -> str | None:
    return obj.key.get_secret_value() if obj.key is not None else None


def create(session: Session, props: Mapping[str, Any]) -> Found:
    """Create the key under a one-time marker name, then give it its declared name (and
    disable it, if asked) in one update: only then is it reported (see `markers`)."""
    spec = ApiKeySpec.model_validate(_inputs_of(props))
    with session.writing() as accepted:
        return _create(session, spec, props, accepted)


def _create(
    session: Session, spec: ApiKeySpec, props: Mapping[str, Any], accepted: Callable[[], None]
) -> Found:
    live, secret = make_key(session, spec, accepted)
    found = outputs(live, email=spec.email, expires_in_days=spec.expires_in_days, key=secret)
    return Found(live.id, key_state(found, props))


def make_key(
    session: Session, spec: ApiKeySpec, accepted: Callable[[], None]
) -> tuple[ApiKeyObject, str | None]:
    """The key `spec` declares, with its secret: adopted when `adopt_id` says so, else
    made under a marker (see `markers`) and finished. `accepted` is `Session.writing`'s."""
    try:
        adopted = takeover.adopt(session, spec)
    except takeover.AdoptionError as error:
        raise ApiKeyError(str(error)) from None
    if adopted is not None:
        return adopted, _secret(adopted)
    with session.step():
        made, marker = _create_marked(session, spec)
        accepted()
        live, secret = _finish(session, spec, made, marker)
    session.directory.put(live)
    return live, secret


def _create_marked(session: Session, spec: ApiKeySpec) -> tuple[ApiKeyObject, Marker]:
    """Create once, never twice: the Console API has no idempotency key, so every attempt
    carries a marker of its own, and when an attempt's outcome is unknown the keys are
    listed for this create's markers before trying again. A marked key found is this
    create's, whatever the clocks and whatever other stacks do; none found means the
    attempt did not happen (yet): a later application leaves a marked key that no stack
    takes and that the next walk past its expiry removes."""
    client = session.client
    tried: list[Marker] = []
    for _ in range(CREATE_ATTEMPTS):
        marker = Marker.new(_remaining(session))
        tried.append(marker)
        body = ApiKeyCreate(**spec.model_dump(exclude={"active"}) | {"name": marker.name})
        try:
            return client.create_api_key(body), marker
        except OutcomeUnknownError:
            pass
        except ConsoleError as error:
            raise ApiKeyError(f"creating API key {spec.name!r} failed: {error}") from None
        found = _find_marked(session, spec, tried)
        if found is not None:
            return found
    raise ApiKeyError(
        f"creating API key {spec.name!r} failed: {CREATE_ATTEMPTS} attempts had an unknown "
        "outcome and none made a key; run `pulumi up` again (a key the Console API makes "
        f"from them later is named {markers.PREFIX}... and removed by a later command "
        "that lists or changes keys)"
    )


def _remaining(session: Session) -> float:
    """Seconds left in this step: a marker expires when its creator's step must end."""
    step = current_step()
    return session.deadlines.step if step is None else max(step.remaining(), 0.0)


def _find_marked(
    session: Session, spec: ApiKeySpec, tried: list[Marker]
) -> tuple[ApiKeyObject, Marker] | None:
    """This create's key, if one of its attempts made one; the secret recovered through
    reveal. Should several attempts have been applied, the extra keys are removed."""
    by_name = {m.name: m for m in tried}
    try:
        found = [k for k in session.client.list_api_keys() if k.name in by_name]
    except ConsoleError as error:
        raise ApiKeyError(
            f"creating API key {spec.name!r} had an unknown outcome and checking for the "
            f"key failed ({error}); run `pulumi up` again: a key it made is named "
            f"{markers.PREFIX}... and is removed by a later command that lists or changes keys"
        ) from None
    if not found:
        return None
    adopted, *extra = found
    for key in extra:
        with contextlib.suppress(ConsoleError):  # else a leftover, removed by a later walk
            _remove(session, key.id)
    try:
        revealed = session.client.reveal_api_key(adopted.id)
    except ConsoleError as error:
        _abandon(
            session,
            adopted.id,
            f"creating API key {spec.name!r} made key {adopted.id}, but revealing its "
            f"secret failed ({error})",
            by_name[adopted.name],
        )
    return revealed, by_name[adopted.name]


def _finish(
    session: Session, spec: ApiKeySpec, made: ApiKeyObject, marker: Marker
) -> tuple[ApiKeyObject, str]:
    """Give the marked key its declared name (and disable it when declared inactive) in
    one update, and make sure of its secret; a key that cannot be finished is removed
    rather than left outside the stack."""
    changes: dict[str, Any] = {"name": spec.name}
    if not spec.active:
        changes["active"] = False
    try:
        secret = secret_or_reveal(session, made.id, _secret(made))
    except ApiKeyError as error:
        reason = f"finishing new API key {made.id} ({spec.name!r}) failed: {error}"
        _abandon(session, made.id, reason, marker)
    try:
        live = _update_key(session, made.id, changes)
    except ConsoleError as error:
        # An attempt whose answer was lost may still be applied, up to a request
        # deadline after it was sent: the key's last name is known only after that.
        settled = time.monotonic() + session.deadlines.request
        reason = f"finishing new API key {made.id} ({spec.name!r}) failed: {error}"
        _abandon(session, made.id, reason, marker, settled)
    report_odd(live)
    return live, secret


def _update_key(session: Session, key_id: str, changes: Mapping[str, Any]) -> ApiKeyObject:
    """Apply `changes` with one update, and make sure the key shows them (`email` is not
    echoed: the 2xx stands for it). An answer that shows the key without them was not
    applied, whatever its status says: the step fails and the next `up` applies them. A
    2xx answer whose body cannot be read was applied all the same, so the key is read
    back and taken when it shows the changes; it fails only when that cannot be
    confirmed."""
    try:
        answered = session.client.update_api_key(key_id, ApiKeyUpdate(**changes))
    except UnexpectedResponseError as unreadable:
        answer = unreadable
    else:
        differ = _unshown(answered, changes)
        if differ:
            path = f"/v1/organizations/{session.settings.organization_id}/api_keys/{key_id}"
            raise UnexpectedResponseError(
                "POST",
                path,
                f"the update was acknowledged, but the key it returned does not show it "
                f"({differ} differ): not applied",
            )
        return answered
    try:
        live = session.client.get_api_key(key_id)
    except NotFoundError:
        raise
    except ConsoleError as error:
        raise UnexpectedResponseError(
            answer.method,
            answer.path,
            f"the update was answered 2xx with a body that cannot be read ({answer}), and "
            f"reading the key back to confirm it failed ({error})",
        ) from None
    differ = _unshown(live, changes)
    if differ:
        raise UnexpectedResponseError(
            answer.method,
            answer.path,
            f"the update was answered 2xx with a body that cannot be read ({answer}), and "
            f"the key read back does not show it ({differ} differ)",
        )
    return live


def _unshown(live: ApiKeyObject, changes: Mapping[str, Any]) -> str:
    """The update fields the live key does not show, comma-separated ('' when none)."""
    return ", ".join(
        sorted(name for name, value in changes.items() if not _shows(live, name, value))
    )


def _shows(live: ApiKeyObject, name: str, value: Any) -> bool:
    """Whether the live key has `value` for the update field `name` (a field the key
    object never carries cannot be seen, and counts as shown)."""
    if PYTHON_TO_WIRE.get(name, name) in NEVER_RETURNED:
        return True
    if name == "models":
        return set(live.models) == set(value or ())
    return bool(getattr(live, name) == value)


def _abandon(
    session: Session, key_id: str, reason: str, marker: Marker, settled: float | None = None
) -> NoReturn:
    """Delete a key this step made but cannot hand to the stack (no secret, or it could
    not be made as declared), then fail: the stack never learns of it, so leaving it
    would orphan it, and the next `up` starts clean. The removal gets a budget of its
    own, since the step's may be what ran out. When it fails, the key is given its
    create `marker` name (again: a rename whose outcome is unknown may have given it the
    declared one), which makes it a leftover the next walk past the marker's expiry
    removes (no stack adopts it: its creator is this failing step). A rename of this
    step that may still be applied would undo that, so the step first waits until the
    monotonic time `settled`, by which any such rename has landed or never will (the
    assumption the marker's expiry makes too: a request lands within its deadline)."""
    try:
        _remove(session, key_id)
    except ConsoleError as error:
        _wait_until_settled(key_id, settled)
        if _mark_again(session, key_id, marker):
            raise ApiKeyError(
                f"{reason}; removing key {key_id} failed too ({error}), so it is named "
                f"{marker.name!r} again: the next command that lists or changes keys "
                "removes it; run `pulumi up` again"
            ) from None
        raise ApiKeyError(
            f"{reason}; removing key {key_id} failed too ({error}): delete it in the Edgee "
            "Console, it is not managed by this stack, then run `pulumi up` again"
        ) from None
    raise ApiKeyError(f"{reason}; key {key_id} was removed, run `pulumi up` again") from None


def _wait_until_settled(key_id: str, settled: float | None) -> None:
    wait = 0.0 if settled is None else settled - time.monotonic()
    if wait > 0:
        print(
            f"pulumi-edgee: waiting {wait:.0f} s for a rename of API key {key_id} that may "
            "still be applied, before naming it for removal",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(wait)


def _mark_again(session: Session, key_id: str, marker: Marker) -> bool:
    """Give an abandoned key its create marker back; whether that is sure to be applied
    (a 2xx says so, even with a body that cannot be read)."""
    try:
        with session.rollback():
            session.client.update_api_key(key_id, ApiKeyUpdate(name=marker.name))
    except UnexpectedResponseError:
        return True
    except ConsoleError:
        return False
    return True


def _remove(session: Session, key_id: str) -> None:
    """Delete a key only this step knows of; gone already is fine."""
    session.directory.discard(key_id)
    with session.rollback(), contextlib.suppress(NotFoundError):
        session.client.delete_api_key(key_id)


def secret_or_reveal(session: Session, key_id: str, known: str | None) -> str:
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


def read(session: Session, key_id: str, props: Mapping[str, Any]) -> Found:
    """Refresh from the live key; a key deleted out of band leaves the stack.

    Reads share one list walk (see `directory`); a key the walk did not list is
    confirmed gone by a second walk, shared by every read that needs one, before it is
    dropped. A key without old outputs (an import, `ApiKey.get`) is named by an id that
    existed before the command began: any walk of this process, which the engine starts
    per command, can say it is gone.
    """
    guard_organization(session, "reading", key_id, props)
    asked_at = None if "createdAt" in props else session.directory.opened_at
    # A read that carries only an id (`ApiKey.get`, which a preview makes too, or an
    # import) only looks; a refresh's read may sweep (see `Session.looking`).
    looking = session.looking() if asked_at is not None else contextlib.nullcontext()
    try:
        with session.step(), looking:
            live = session.directory.find(key_id, asked_at=asked_at)
            if live is None:
                session.directory.discard(key_id)
                return Found(None)
            secret = secret_or_reveal(session, key_id, plain(props.get("key")))
    except ConsoleError as error:
        raise ApiKeyError(f"reading API key {key_id} failed: {error}") from None
    report_odd(live)
    if live.active:
        expiry.warn_if_expired(key_id, live.expires_at, expiry.REPLACE_IT)
    expires_in_days = props.get("expiresInDays")
    if expires_in_days is None:
        expires_in_days = times.days_between(live.created_at, live.expires_at)
    found = outputs(
        live, email=props.get("email"), expires_in_days=whole_number(expires_in_days), key=secret
    )
    return Found(key_id, key_state(found, props))


def update(
    session: Session, key_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply the in-place changes and return the full outputs, keeping the secret."""
    guard_organization(session, "updating", key_id, olds)
    spec = ApiKeySpec.model_validate(_inputs_of(news))
    changes = {
        p.python: getattr(spec, p.python)
        for p in changed_props(olds, news)
        if p.change is Change.IN_PLACE
    }
    if "models" in changes:
        changes["models"] = list(spec.models)
    if not changes:
        # Only how the resource manages its key changed (rotation settings): no request.
        secret = secret_or_reveal(session, key_id, plain(olds.get("key")))
        kept = {p.wire: olds.get(p.wire) for p in PROPS if p.wire not in _SETTING_NAMES}
        return key_state({**kept, "key": wrap_rpc_secret(secret)}, news)
    try:
        with session.writing(), session.step():
            live = _update_key(session, key_id, changes)
            secret = secret_or_reveal(session, key_id, plain(olds.get("key")))
    except NotFoundError:
        raise ApiKeyError(
            f"updating API key {key_id} failed: it no longer exists; run `pulumi refresh` to "
            "drop it from the stack, then `pulumi up` to create it again"
        ) from None
    except ConsoleError as error:
        raise ApiKeyError(f"updating API key {key_id} failed: {error}") from None
    session.directory.put(live)
    report_odd(live)
    found = outputs(live, email=spec.email, expires_in_days=spec.expires_in_days, key=secret)
    return key_state(found, news)


def preview_update(olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    """An update's outputs in a preview: the new inputs, and the key keeps its secret, so
    dependents do not preview as changed."""
    return {**olds, **{p.wire: news.get(p.wire) for p in INPUT_PROPS}}


def delete(session: Session, key_id: str, props: Mapping[str, Any]) -> None:
    """Delete the key; one that is already gone is what was asked for.

    A 404 is believed only once the key list confirms it: with a wrong organization
    every key answers 404, and taking that as success would orphan every key. A key
    another resource adopted in this same command is its now, and is left alone.
    """
    guard_organization(session, "deleting", key_id, props)
    if session.adoptions.adopted_here(key_id):
        return
    try:
        with session.writing(), session.step():
            try:
                session.client.delete_api_key(key_id)
            except NotFoundError:
                # Only a walk begun after the 404 counts (not one under way beside the
                # delete, such as the process's sweep, which may predate its application).
                answered_at = session.directory.now()
                if session.directory.get(key_id, taken_after=answered_at) is not None:
                    raise ApiKeyError(
                        f"deleting API key {key_id} failed: the Console API answered 404 but "
                        "still lists the key; run `pulumi destroy` again"
                    ) from None
    except ConsoleError as error:
        raise ApiKeyError(f"deleting API key {key_id} failed: {error}") from None
    session.directory.discard(key_id)


def guard_organization(session: Session, doing: str, key_id: str, props: Mapping[str, Any]) -> None:
    """Refuse to act on a key that state places in another organization than the one
    configured: there every key would read as deleted and every delete "succeed"
    while the keys keep working."""
    recorded = props.get("organizationId")
    configured = session.settings.organization_id
    if isinstance(recorded, str) and recorded and recorded != configured:
        raise ApiKeyError(
            f"{doing} API key {key_id} refused: the stack's state says it belongs to "
            f"organization {recorded!r}, but the provider is configured for organization "
            f"{configured!r}. Set `edgee:organizationId` (or EDGEE_ORGANIZATION_ID) back to "
            f"{recorded!r}; to move keys to {configured!r}, remove them from this stack "
            f"with `pulumi state delete` under {recorded!r} first and declare new ones"
        )


def report_odd(key: ApiKeyObject) -> None:
    """Say which fields of the key could not be read (they are shown as unset, so the
    next `pulumi up` sets them as declared); the engine shows the provider's stderr."""
    if key.odd_fields:
        print(
            f"pulumi-edgee: warning: API key {key.id} has fields the provider cannot read "
            f"({', '.join(key.odd_fields)}); they are shown as unset",
            file=sys.stderr,
        )


def plain(value: Any) -> Any:
    """Old outputs arrive unwrapped from the engine, but tolerate a wrapped secret."""
    if isinstance(value, Mapping) and "value" in value:
        return value["value"]
    return value
