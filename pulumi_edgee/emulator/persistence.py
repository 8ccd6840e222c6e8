"""The state file: the key store's snapshot as JSON, written atomically.

Each key is stored in its admin JSON form (`key_json`, secret and email included) plus
its creation sequence number, so there is one serialisation of a key, not two; a key
inserted as given also lists, under `as_given`, the fields served exactly as stored.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

from .errors import StateFileError
from .keys import StoredKey, key_json
from .store import StoreSnapshot, secret_digest, typed_from_given

STATE_VERSION = 1
_PLACEHOLDERS: dict[str, object] = {
    "name": "Inserted key",
    "type": "api",
    "coding_assistant": None,
    "models": [],
    "max_usage": None,
    "active": True,
    "debug_mode": False,
    "created_at": "1970-01-01T00:00:00Z",
    "expires_at": None,
    "last_used_at": None,
    "email": None,
}


def _parse_timestamp(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("timestamp must be a string")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _key_from_state(item: Mapping[str, object]) -> StoredKey:
    given_names = item.get("as_given", [])
    if not isinstance(given_names, list) or not all(isinstance(n, str) for n in given_names):
        raise TypeError("as_given must be a list of field names")
    given = {name: item[name] for name in given_names}
    # A field served as given is only a placeholder in the typed form.
    typed = {**_PLACEHOLDERS, **{k: v for k, v in item.items() if k not in given}}
    created_at = _parse_timestamp(typed["created_at"])
    if created_at is None:
        raise TypeError("created_at must be set")
    models = typed["models"]
    if not isinstance(models, list):
        raise TypeError("models must be a list")
    # Files written before keys were stored in their JSON form name the secret `secret`.
    secret = item["key"] if "key" in item else item["secret"]
    stored = StoredKey(
        seq=int(str(item["seq"])),
        id=str(item["id"]),
        organization_id=str(item["organization_id"]),
        name=str(typed["name"]),
        type=str(typed["type"]),
        coding_assistant=_optional_str(typed["coding_assistant"]),
        models=tuple(str(m) for m in models),
        max_usage=None if typed["max_usage"] is None else int(str(typed["max_usage"])),
        active=typed["active"] is True,
        debug_mode=typed["debug_mode"] is True,
        created_at=created_at,
        expires_at=_parse_timestamp(typed["expires_at"]),
        last_used_at=_parse_timestamp(typed["last_used_at"]),
        email=_optional_str(typed["email"]),
        secret=str(secret),
        as_given=given,
    )
    return typed_from_given(stored)


def _key_to_state(key: StoredKey) -> dict[str, object]:
    entry = {"seq": key.seq, **key_json(key, secret=True, email=True)}
    if key.as_given:
        entry["as_given"] = sorted(key.as_given)
    return entry


class StateFile:
    """One JSON file holding a `StoreSnapshot`; `save` is the store's `persist` callback."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def save(self, snapshot: StoreSnapshot) -> None:
        """Write atomically (temp file in the same folder, then replace)."""
        state = {
            "version": STATE_VERSION,
            "next_seq": snapshot.next_seq,
            "issued_ids": sorted(snapshot.issued_ids),
            "issued_secret_sha256": sorted(snapshot.issued_secret_digests),
            "keys": [_key_to_state(key) for key in snapshot.keys],
        }
        data = json.dumps(state, indent=2).encode()
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp_name)
            raise

    def load(self) -> StoreSnapshot | None:
        """The saved snapshot, None when there is no file (raises StateFileError)."""
        if not self.path.exists():
            return None
        try:
            state = json.loads(self.path.read_bytes())
            if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
                raise ValueError(f"not version {STATE_VERSION} emulator state")
            keys = [_key_from_state(item) for item in state["keys"]]
            next_seq = int(state["next_seq"])
            issued_ids = {str(item) for item in state["issued_ids"]}
            issued_secrets = {str(item) for item in state["issued_secret_sha256"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateFileError(f"cannot load emulator state from {self.path}: {exc}") from exc
        keys.sort(key=lambda key: key.seq)
        return StoreSnapshot(
            keys=tuple(keys),
            next_seq=max([next_seq, *(key.seq + 1 for key in keys)]),
            issued_ids=frozenset(issued_ids | {key.id for key in keys}),
            issued_secret_digests=frozenset(
                issued_secrets | {secret_digest(key.secret) for key in keys}
            ),
        )
