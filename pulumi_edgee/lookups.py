"""Reading keys a stack does not manage: one key by id or name, or the keys matching a
filter. Shared by every front door (the plugin's functions, Python's lookups), so that a
lookup means the same thing in every language.
"""

from __future__ import annotations

from typing import Any

from .console import ApiKeyObject, ConsoleError, NotFoundError
from .lifecycle import outputs
from .session import Session


class LookupError(Exception):
    """A lookup that found no key, or not exactly one; the message says which and why."""


class NoMatchError(LookupError):
    """No key has the id or name asked for."""


class SeveralMatchesError(LookupError):
    """More than one key has the name asked for; the message lists their ids."""


def _result(obj: ApiKeyObject, *, reveal: bool) -> dict[str, Any]:
    """The key's outputs in wire names, with its id, and its secret only when revealed."""
    result = {"id": obj.id, **outputs(obj, email=None, expires_in_days=None, key=None)}
    del result["key"]
    if reveal and obj.key is not None:
        result["key"] = obj.key.get_secret_value()
    return result


def get_api_key(
    session: Session, *, id: str | None = None, name: str | None = None, reveal: bool = False
) -> dict[str, Any]:
    """The one key with this id, or the one key with this name."""
    if (id is None) == (name is None):
        raise LookupError("give exactly one of `id` and `name` to look up an API key")
    client = session.client
    try:
        if id is not None:
            return _result(
                client.reveal_api_key(id) if reveal else client.get_api_key(id), reveal=reveal
            )
        matches = [k for k in client.list_api_keys() if k.name == name]
        if not matches:
            raise NoMatchError(f"no API key is named {name!r}")
        if len(matches) > 1:
            ids = ", ".join(sorted(k.id for k in matches))
            raise SeveralMatchesError(
                f"{len(matches)} API keys are named {name!r} ({ids}): look one up by `id`"
            )
        found = client.reveal_api_key(matches[0].id) if reveal else matches[0]
    except NotFoundError:
        raise NoMatchError(f"no API key has id {id!r}") from None
    except ConsoleError as error:
        raise LookupError(f"looking up an API key failed: {error}") from None
    return _result(found, reveal=reveal)


def get_api_keys(
    session: Session, *, name_prefix: str | None = None, type: str | None = None
) -> list[dict[str, Any]]:
    """Every key whose name starts with `name_prefix` and whose type is `type` (each
    filter applies only when given), without secrets, ordered by name then id."""
    try:
        keys = session.client.list_api_keys()
    except ConsoleError as error:
        raise LookupError(f"listing API keys failed: {error}") from None
    return [
        _result(k, reveal=False)
        for k in sorted(keys, key=lambda k: (k.name, k.id))
        if (name_prefix is None or k.name.startswith(name_prefix))
        and (type is None or k.type == type)
    ]
