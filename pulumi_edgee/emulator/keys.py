"""The stored key and its one JSON form (Console answers, admin view, state file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

KEY_OBJECT = "ai_gateway_api_key"


def format_timestamp(value: datetime | None) -> str | None:
    """ISO 8601, UTC, second precision, with a `Z`: the contract's one timestamp form."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class StoredKey:
    """One stored key; immutable, so snapshots can be handed out without copying."""

    seq: int
    id: str
    organization_id: str
    name: str
    type: str
    coding_assistant: str | None
    models: tuple[str, ...]
    max_usage: int | None
    active: bool
    debug_mode: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    email: str | None
    secret: str
    # Fields of a key inserted through the admin API, served exactly as given in place
    # of the typed ones (odd keys made by other tools or API versions); empty otherwise.
    as_given: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyPage:
    """One page of the list; `next_cursor` is None on the last page."""

    keys: tuple[StoredKey, ...]
    next_cursor: str | None


def key_json(key: StoredKey, *, secret: bool, email: bool = False) -> dict[str, object]:
    """The key object; `secret` adds `key`, `email` (admin view, state file) adds `email`."""
    payload: dict[str, object] = {
        "object": KEY_OBJECT,
        "id": key.id,
        "organization_id": key.organization_id,
        "name": key.name,
        "type": key.type,
        "coding_assistant": key.coding_assistant,
        "models": list(key.models),
        "max_usage": key.max_usage,
        "active": key.active,
        "debug_mode": key.debug_mode,
        "created_at": format_timestamp(key.created_at),
        "expires_at": format_timestamp(key.expires_at),
        "last_used_at": format_timestamp(key.last_used_at),
    }
    if email:
        payload["email"] = key.email
    payload.update((k, v) for k, v in key.as_given.items() if email or k != "email")
    if secret:
        payload["key"] = key.secret
    return payload
