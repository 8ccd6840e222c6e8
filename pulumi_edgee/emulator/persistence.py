"""The state file: the key store's snapshot as JSON, written atomically.

Each key is stored in its admin JSON form (`key_json`, secret and email included) plus
its creation sequence number, so there is one serialisation of a key, not two; a key
inserted as given also lists, under `as_given`, the fields served exactly as stored.
"""

from __future__ import annotations

import fcntl
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
from .validation import stored_key_errors

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


def _check_state(state: object) -> None:
    """Refuse a state file that would lose or duplicate keys once loaded (ValueError)."""
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ValueError(f"not version {STATE_VERSION} emulator state")
    items = state["keys"]
    if not isinstance(items, list):
        raise ValueError("keys must be a list")
    # Where each seq, id and secret first appeared.
    firsts: dict[str, dict[object, int]] = {}
    for index, item in enumerate(items):
        where = f"keys[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is not an object")
        seq, key_id = item.get("seq"), item.get("id")
        secret = item.get("key", item.get("secret"))
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ValueError(f"{where}.seq must be a positive integer, not {seq!r}")
        if not isinstance(key_id, str) or not key_id or "/" in key_id:
            raise ValueError(f"{where}.id must be a non-empty string without '/'")
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"{where}.key must be a non-empty string")
        organization_id = item.get("organization_id")
        if not isinstance(organization_id, str) or not organization_id:
            raise ValueError(f"{where}.organization_id must be a non-empty string")
        for field, value in (("seq", seq), ("id", key_id), ("key", secret)):
            seen = firsts.setdefault(field, {})
            if value in seen:
                raise ValueError(f"{where}.{field} repeats the {field} of keys[{seen[value]}]")
            seen[value] = index
        exempt = item.get("as_given", [])
        errors = stored_key_errors(item, exempt if isinstance(exempt, list) else [])
        if errors:
            raise ValueError(f"{where} ({key_id}): {' '.join(errors)}")
    highest = max((seq for seq in firsts.get("seq", {}) if isinstance(seq, int)), default=0)
    next_seq = state["next_seq"]
    if not _is_int(next_seq) or next_seq <= highest:
        raise ValueError(f"next_seq must be an integer above every key's seq ({highest})")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class StateFile:
    """One JSON file holding a `StoreSnapshot`, held by one emulator at a time.

    `open` takes an exclusive lock (flock) on the file and keeps it: a second emulator
    on the same file refuses to start instead of silently overwriting the first. Each
    save writes a new file and renames it over the old one, so the lock moves to the
    new file before the old one is released. `save` is the store's `persist` callback.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    def open(self) -> StoreSnapshot:
        """Lock and load the file (or start empty), and prove it writable by saving.

        Raises StateFileError with the reason and the fix.
        """
        snapshot = StoreSnapshot()
        if self.path.exists():
            self._lock_fd = self._lock_existing()
            snapshot = self._read(self._lock_fd)
        try:
            self.save(snapshot)
            if os.fstat(self._held()).st_ino != os.stat(self.path).st_ino:
                raise StateFileError(self._in_use())
        except OSError as exc:
            self.close()
            raise StateFileError(
                f"cannot write the emulator state file {self.path}:"
                f" {exc.strerror or exc}; choose a writable --state-file"
            ) from exc
        except StateFileError:
            self.close()
            raise
        return snapshot

    def close(self) -> None:
        """Release the lock; idempotent."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def save(self, snapshot: StoreSnapshot) -> None:
        """Write atomically (temp file in the same folder, locked, then renamed over)."""
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
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: never contended
            _write_all(fd, data)
            os.fsync(fd)
            os.replace(temp_name, self.path)
        except BaseException:
            os.close(fd)
            with suppress(OSError):
                os.unlink(temp_name)
            raise
        self.close()
        self._lock_fd = fd

    def _held(self) -> int:
        assert self._lock_fd is not None
        return self._lock_fd

    def _in_use(self) -> str:
        return (
            f"the emulator state file {self.path} is in use by another emulator (it holds"
            " the file's lock); stop that emulator or choose another --state-file"
        )

    def _lock_existing(self) -> int:
        """A locked descriptor of the file now at `path` (raises StateFileError)."""
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except OSError as exc:
                raise StateFileError(f"cannot open {self.path}: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise StateFileError(self._in_use()) from None
            # The holder may have renamed a new file over this one meanwhile: retry.
            if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                return fd
            os.close(fd)
        raise StateFileError(self._in_use())

    def _read(self, fd: int) -> StoreSnapshot:
        """The snapshot in the locked file, validated (raises StateFileError)."""
        try:
            with open(fd, "rb", closefd=False) as handle:
                state = json.loads(handle.read())
            _check_state(state)
            keys = [_key_from_state(item) for item in state["keys"]]
            next_seq = int(state["next_seq"])
            issued_ids = {str(item) for item in state["issued_ids"]}
            issued_secrets = {str(item) for item in state["issued_secret_sha256"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.close()
            raise StateFileError(f"cannot load emulator state from {self.path}: {exc}") from exc
        keys.sort(key=lambda key: key.seq)
        return StoreSnapshot(
            keys=tuple(keys),
            next_seq=next_seq,
            issued_ids=frozenset(issued_ids | {key.id for key in keys}),
            issued_secret_digests=frozenset(
                issued_secrets | {secret_digest(key.secret) for key in keys}
            ),
        )
