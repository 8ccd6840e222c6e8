"""Reading keys a stack does not manage: one key by id or name, or the keys matching a
filter. Shared by every front door (Python's `functions`, the plugin's invokes), so that
a lookup means the same thing in every language.

Results use the resource's wire names plus `id`, without `email` (the Console API never
returns it); the secret `key` is present only when revealed. Reads go through the
session's shared list view, so many lookups in one program cost about one list walk.
"""

from __future__ import annotations

from typing import Any

from .console import ApiKeyObject, ConsoleError, NotFoundError
from .errors import EdgeeError
from .lifecycle import outputs
from .properties import KEY_TYPES, NEVER_RETURNED
from .session import Session
from .takeover import expiry_days


class KeyLookupError(EdgeeError):
    """A lookup that failed; the message says which key and why, never a secret."""


class NoMatchError(KeyLookupError):
    """No key has the id or name asked for."""


class SeveralMatchesError(KeyLookupError):
    """More than one key has the name asked for; the message lists their ids."""


def _result(obj: ApiKeyObject, *, reveal: bool) -> dict[str, Any]:
    """The key's outputs in wire names, with its id, and its secret only when revealed."""
    found = outputs(obj, email=None, expires_in_days=expiry_days(obj), key=None)
    for name in (*NEVER_RETURNED, "key"):  # nothing to say, and the secret only if asked
        del found[name]
    if reveal and obj.key is not None:
        found["key"] = obj.key.get_secret_value()
    return {"id": obj.id, **found}


def _failed(what: str, error: ConsoleError) -> KeyLookupError:
    return KeyLookupError(f"{what} failed: {error}")


def get_api_key(
    session: Session,
    *,
    id: str | None = None,
    name: str | None = None,
    reveal: bool = False,
) -> dict[str, Any]:
    """The one key with this id, or the one key with this name. Lookups only look: their
    walks remove no leftover (see `Session.looking`)."""
    with session.looking():
        return _get_api_key(session, id=id, name=name, reveal=reveal)


def _get_api_key(
    session: Session, *, id: str | None, name: str | None, reveal: bool
) -> dict[str, Any]:
    if (id is None) == (name is None):
        raise KeyLookupError("give exactly one of `id` and `name` to look up an API key")
    organization = session.settings.organization_id
    try:
        if id is not None:
            found = session.directory.get(id) or session.client.get_api_key(id)
        else:
            matches = [k for k in session.client.list_api_keys() if k.name == name]
            if not matches:
                raise NoMatchError(f"organization {organization} has no API key named {name!r}")
            if len(matches) > 1:
                ids = ", ".join(sorted(k.id for k in matches))
                raise SeveralMatchesError(
                    f"{len(matches)} API keys of organization {organization} are named "
                    f"{name!r} ({ids}): look one up by `id`"
                )
            found = matches[0]
        if reveal:
            found = session.client.reveal_api_key(found.id)
    except NotFoundError:
        raise NoMatchError(f"organization {organization} has no API key with id {id!r}") from None
    except ConsoleError as error:
        raise _failed("looking up an API key", error) from None
    return _result(found, reveal=reveal)


def get_api_keys(
    session: Session,
    *,
    name_prefix: str | None = None,
    type: str | None = None,
) -> list[dict[str, Any]]:
    """Every key whose name starts with `name_prefix` and whose type is `type` (each
    filter applies only when given), without secrets, ordered by name then id."""
    if type is not None and type not in KEY_TYPES:
        allowed = ", ".join(f"{t!r}" for t in KEY_TYPES)
        raise KeyLookupError(f"`type` must be one of {allowed}, not {type!r}")
    try:
        with session.looking():
            keys = session.client.list_api_keys()
    except ConsoleError as error:
        raise _failed("listing API keys", error) from None
    return [
        _result(k, reveal=False)
        for k in sorted(keys, key=lambda k: (k.name, k.id))
        if (name_prefix is None or k.name.startswith(name_prefix))
        and (type is None or k.type == type)
    ]
