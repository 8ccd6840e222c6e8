"""The key store: keys of every organization, creation order, cursors, issued ids.

It knows nothing about HTTP or files: a write is validated, handed to the optional
`persist` callback as the whole new state, and only then applied in memory, so that
a write that cannot be saved is not applied either. One lock guards everything, so a
threaded server may call it from any thread.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from .errors import FieldError, InvalidPageRequest, KeyNotFound, StateNotSaved, ValidationFailed
from .keys import KeyPage, StoredKey
from .validation import KEY_TYPES, validate_create, validate_update

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_ALPHANUMERIC = string.ascii_letters + string.digits
_DIGITS_RE = re.compile(r"[0-9]+")
MAX_CURSOR_LENGTH = 2048
MAX_CLOCK_OFFSET_SECONDS = 10 * 366 * 86_400
# Fields of an inserted key that the store needs as they are, not served as given.
_INSERT_IDENTITY = ("id", "organization_id", "key")


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(timezone.utc)


def secret_digest(secret: str) -> str:
    """What is kept of a secret once its key is gone: enough to never issue it again."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _is_segment(text: str) -> bool:
    return bool(text) and "/" not in text


def _without_given(key: StoredKey, names: Iterable[str]) -> StoredKey:
    """The key once the store has set `names` itself: their given values no longer apply."""
    if not key.as_given:
        return key
    dropped = set(names)
    return replace(key, as_given={k: v for k, v in key.as_given.items() if k not in dropped})


def typed_from_given(key: StoredKey) -> StoredKey:
    """Copy given values of the right type into the typed fields (for in-process use)."""
    given = key.as_given
    name, key_type, active = given.get("name"), given.get("type"), given.get("active")
    models, max_usage, email = given.get("models"), given.get("max_usage"), given.get("email")
    return replace(
        key,
        name=name if isinstance(name, str) else key.name,
        type=key_type if isinstance(key_type, str) and key_type in KEY_TYPES else key.type,
        active=active if isinstance(active, bool) else key.active,
        models=(
            tuple(models)
            if isinstance(models, list) and all(isinstance(m, str) for m in models)
            else key.models
        ),
        max_usage=(
            max_usage
            if isinstance(max_usage, int) and not isinstance(max_usage, bool)
            else key.max_usage
        ),
        email=email if isinstance(email, str) else key.email,
    )


@dataclass(frozen=True)
class StoreSnapshot:
    """The whole persistent state: live keys in creation order, and what was issued."""

    keys: tuple[StoredKey, ...] = ()
    next_seq: int = 1
    issued_ids: frozenset[str] = field(default_factory=frozenset)
    issued_secret_digests: frozenset[str] = field(default_factory=frozenset)


Persist = Callable[[StoreSnapshot], None]


class KeyStore:
    """Keys behind one lock; `now` is the clock (a naive time is taken as UTC)."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] = utc_now,
        persist: Persist | None = None,
        initial: StoreSnapshot | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = now
        self._persist = persist
        initial = initial or StoreSnapshot()
        self._keys: dict[str, StoredKey] = {key.id: key for key in initial.keys}
        self._next_seq = initial.next_seq
        # Every id and (digest of a) secret ever issued, so that none is issued twice,
        # even after a delete or a reset.
        self._issued_ids: set[str] = set(initial.issued_ids)
        self._issued_secrets: set[str] = set(initial.issued_secret_digests)
        self._offset = timedelta(0)
        # Served organizations, the first being the default; they are not persisted.
        self._organizations: list[str] = []

    def now(self) -> datetime:
        """The clock's time, in UTC, shifted by the clock offset."""
        value = self._clock()
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) + self._offset

    # ------------------------------------------------------------------ clock, organizations

    def clock_offset(self) -> float:
        """Seconds added to every time the store stamps (negative: a clock behind)."""
        return self._offset.total_seconds()

    def set_clock_offset(self, seconds: object) -> float:
        """Skew the clock (raises ValidationFailed for anything but a bounded number)."""
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not abs(seconds) <= MAX_CLOCK_OFFSET_SECONDS  # also refuses NaN
        ):
            message = (
                "offset_seconds must be a number between"
                f" -{MAX_CLOCK_OFFSET_SECONDS} and {MAX_CLOCK_OFFSET_SECONDS}."
            )
            raise ValidationFailed([FieldError("offset_seconds", message)])
        with self._lock:
            self._offset = timedelta(seconds=seconds)
            return self.clock_offset()

    def organizations(self) -> list[str]:
        """The organizations served, the default first."""
        with self._lock:
            return list(self._organizations)

    def add_organization(self, organization_id: object) -> bool:
        """Serve one more organization; False when it was already served."""
        if not isinstance(organization_id, str) or not _is_segment(organization_id):
            message = "id must be a non-empty string without '/'."
            raise ValidationFailed([FieldError("id", message)])
        with self._lock:
            if organization_id in self._organizations:
                return False
            self._organizations.append(organization_id)
            return True

    # ------------------------------------------------------------------ reads

    def get(self, organization_id: str, key_id: str) -> StoredKey:
        """The live key with this id in this organization (raises KeyNotFound)."""
        with self._lock:
            key = self._keys.get(key_id)
            if key is None or key.organization_id != organization_id:
                raise KeyNotFound(key_id)
            return key

    def all(self) -> list[StoredKey]:
        """Every live key of every organization, in creation order."""
        with self._lock:
            return list(self._keys.values())

    def page(
        self, organization_id: str, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> KeyPage:
        """One page in creation order; `limit` above MAX_PAGE_SIZE is clamped."""
        if limit < 1:
            raise InvalidPageRequest("limit", "limit must be a positive integer.")
        limit = min(limit, MAX_PAGE_SIZE)
        with self._lock:
            after = 0 if cursor is None else self._decode_cursor(organization_id, cursor)
            found: list[StoredKey] = []
            for key in self._keys.values():  # insertion order is creation order
                if key.organization_id == organization_id and key.seq > after:
                    found.append(key)
                    if len(found) > limit:
                        break
            page = tuple(found[:limit])
            next_cursor = (
                self._encode_cursor(organization_id, page[-1].seq) if len(found) > limit else None
            )
            return KeyPage(keys=page, next_cursor=next_cursor)

    # ------------------------------------------------------------------ writes

    def create(self, organization_id: str, body: Mapping[str, object]) -> StoredKey:
        """Validate a create body and store the new key (raises ValidationFailed)."""
        fields = validate_create(body)
        with self._lock:
            created_at = self.now().replace(microsecond=0)
            key_id, secret = self._new_id(), self._new_secret()
            key = StoredKey(
                seq=self._next_seq,
                id=key_id,
                organization_id=organization_id,
                name=fields.name,
                type=fields.type,
                coding_assistant=fields.coding_assistant,
                models=fields.models,
                max_usage=fields.max_usage,
                active=True,
                debug_mode=False,
                created_at=created_at,
                expires_at=(
                    None
                    if fields.expires_in_days is None
                    else created_at + timedelta(days=fields.expires_in_days)
                ),
                last_used_at=None,
                email=fields.email,
                secret=secret,
            )
            self._commit(
                {**self._keys, key.id: key},
                self._next_seq + 1,
                issued_id=key_id,
                issued_secret=secret_digest(secret),
            )
            return key

    def update(self, organization_id: str, key_id: str, body: Mapping[str, object]) -> StoredKey:
        """Apply an update body; existence is checked before validation (404 before 422)."""
        with self._lock:
            key = validate_update(self.get(organization_id, key_id), body)
            key = _without_given(key, body)
            self._commit({**self._keys, key.id: key}, self._next_seq)
            return key

    def delete(self, organization_id: str, key_id: str) -> StoredKey:
        """Forget a key and return it as it was (raises KeyNotFound when already gone)."""
        with self._lock:
            key = self.get(organization_id, key_id)
            self._commit({k: v for k, v in self._keys.items() if k != key_id}, self._next_seq)
            return key

    def mark_used(self, key_id: str) -> StoredKey:
        """Set `last_used_at` to now, as gateway traffic would; any organization."""
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                raise KeyNotFound(key_id)
            key = replace(key, last_used_at=self.now().replace(microsecond=0))
            key = _without_given(key, ("last_used_at",))
            self._commit({**self._keys, key_id: key}, self._next_seq)
            return key

    def insert(self, fields: Mapping[str, object]) -> StoredKey:
        """Store a key as given, as another tool or API version might have made it.

        `id`, `organization_id` (default: the first organization) and `key` (the
        secret) must be usable if given; every other given field is served as given,
        and missing ones get valid generated values. Raises ValidationFailed.
        """
        with self._lock:
            errors: list[FieldError] = []
            organization_id = fields.get("organization_id", next(iter(self._organizations), None))
            if organization_id not in self._organizations:
                message = "organization_id must be one of the organizations served."
                errors.append(FieldError("organization_id", message))
            key_id = fields.get("id", None)
            if key_id is None:
                key_id = self._new_id()
            elif not isinstance(key_id, str) or not _is_segment(key_id):
                errors.append(FieldError("id", "id must be a non-empty string without '/'."))
            elif key_id in self._issued_ids:
                errors.append(FieldError("id", f"id {key_id} was already issued."))
            secret = fields.get("key", None)
            if secret is None:
                secret = self._new_secret()
            elif not isinstance(secret, str) or not secret:
                errors.append(FieldError("key", "key must be a non-empty string."))
            elif secret_digest(secret) in self._issued_secrets:
                errors.append(FieldError("key", "key was already issued."))
            if errors:
                raise ValidationFailed(errors)
            assert isinstance(organization_id, str)
            assert isinstance(key_id, str)
            assert isinstance(secret, str)
            key = typed_from_given(
                StoredKey(
                    seq=self._next_seq,
                    id=key_id,
                    organization_id=organization_id,
                    name=f"Inserted key {self._next_seq}",
                    type="api",
                    coding_assistant=None,
                    models=(),
                    max_usage=None,
                    active=True,
                    debug_mode=False,
                    created_at=self.now().replace(microsecond=0),
                    expires_at=None,
                    last_used_at=None,
                    email=None,
                    secret=secret,
                    as_given={k: v for k, v in fields.items() if k not in _INSERT_IDENTITY},
                )
            )
            self._commit(
                {**self._keys, key.id: key},
                self._next_seq + 1,
                issued_id=key_id,
                issued_secret=secret_digest(secret),
            )
            return key

    def reset(self) -> None:
        """Forget every key and the clock offset (issued ids and secrets stay retired)."""
        with self._lock:
            self._commit({}, self._next_seq)
            self._offset = timedelta(0)

    # ------------------------------------------------------------------ internals

    def _commit(
        self,
        keys: dict[str, StoredKey],
        next_seq: int,
        *,
        issued_id: str | None = None,
        issued_secret: str | None = None,
    ) -> None:
        """Persist the new state first; only a saved state replaces the one in memory."""
        issued_ids = self._issued_ids if issued_id is None else self._issued_ids | {issued_id}
        issued_secrets = (
            self._issued_secrets
            if issued_secret is None
            else self._issued_secrets | {issued_secret}
        )
        if self._persist is not None:
            snapshot = StoreSnapshot(
                keys=tuple(keys.values()),
                next_seq=next_seq,
                issued_ids=frozenset(issued_ids),
                issued_secret_digests=frozenset(issued_secrets),
            )
            try:
                self._persist(snapshot)
            except OSError as exc:
                raise StateNotSaved(exc) from exc
        self._keys = keys
        self._next_seq = next_seq
        self._issued_ids = issued_ids
        self._issued_secrets = issued_secrets

    def _new_id(self) -> str:
        while True:
            key_id = "key_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))
            if key_id not in self._issued_ids:
                return key_id

    def _new_secret(self) -> str:
        while True:
            secret = "ek_test_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))
            if secret_digest(secret) not in self._issued_secrets:
                return secret

    @staticmethod
    def _encode_cursor(organization_id: str, seq: int) -> str:
        raw = f"{organization_id}\n{seq}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def _decode_cursor(self, organization_id: str, cursor: str) -> int:
        """The sequence number a cursor points after; it need not be a live key's."""
        unknown = InvalidPageRequest("cursor", "cursor is unknown.")
        if len(cursor) > MAX_CURSOR_LENGTH:  # no cursor this store issues is that long
            raise unknown
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            text = base64.urlsafe_b64decode(padded).decode()
        except ValueError:
            raise unknown from None
        cursor_org, _, seq_text = text.rpartition("\n")
        if (
            cursor_org != organization_id
            or len(seq_text) > 18
            or _DIGITS_RE.fullmatch(seq_text) is None
        ):
            raise unknown
        seq = int(seq_text)
        if seq >= self._next_seq or self._encode_cursor(organization_id, seq) != cursor:
            raise unknown
        return seq
