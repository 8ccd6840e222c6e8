"""The state file: the key store's snapshot as JSON, written atomically.

Each key is stored in its admin JSON form (`key_json`, secret and email included) plus
its creation sequence number, so there is one serialisation of a key, not two.
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
from .store import StoreSnapshot, secret_digest

STATE_VERSION = 1


def _parse_timestamp(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("timestamp must be a string")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _key_from_state(item: Mapping[str, object]) -> StoredKey:
    created_at = _parse_timestamp(item["created_at"])
    if created_at is None:
        raise TypeError("created_at must be set")
    models = item["models"]
    if not isinstance(models, list):
        raise TypeError("models must be a list")
    # Files written before keys were stored in their JSON form name the secret `secret`.
    secret = item["key"] if "key" in item else item["secret"]
    return StoredKey(
        seq=int(str(item["seq"])),
        id=str(item["id"]),
        organization_id=str(item["organization_id"]),
        name=str(item["name"]),
        type=str(item["type"]),
        coding_assistant=_optional_str(item["coding_assistant"]),
        models=tuple(str(m) for m in models),
        max_usage=None if item["max_usage"] is None else int(str(item["max_usage"])),
        active=item["active"] is True,
        debug_mode=item["debug_mode"] is True,
        created_at=created_at,
        expires_at=_parse_timestamp(item["expires_at"]),
        last_used_at=_parse_timestamp(item["last_used_at"]),
        email=_optional_str(item["email"]),
        secret=str(secret),
    )


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
            "keys": [
                {"seq": key.seq, **key_json(key, secret=True, email=True)} for key in snapshot.keys
            ],
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
