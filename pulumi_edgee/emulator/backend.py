"""State model of the Console API emulator: keys, validation, pagination, faults, log.

It knows nothing about HTTP so that the contract's rules (docs/console-api.md) read as
plain code and can be tested without a socket; the HTTP layer (app.py) maps the typed
errors raised here to statuses. Every public method takes one lock, so a threaded
server may call it from any thread.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import string
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal, get_args

KEY_OBJECT = "ai_gateway_api_key"
KEY_TYPES = ("api", "coding_agent")
CODING_ASSISTANTS = ("claude_code", "opencode", "codex")
IMMUTABLE_FIELDS = ("type", "coding_assistant", "expires_in_days")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_USAGE_RANGE = (1, 1_000_000_000)
EXPIRES_IN_DAYS_RANGE = (1, 3650)
MAX_EMAIL_LENGTH = 254
REQUEST_LOG_LIMIT = 10_000
DEFAULT_FAULT_PATH = "/v1/.*"
MAX_FAULT_DELAY_MS = 60_000

_ALPHANUMERIC = string.ascii_letters + string.digits
_MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:-]*")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DIGITS_RE = re.compile(r"[0-9]+")
_METHOD_RE = re.compile(r"[A-Za-z]+")
_STATE_VERSION = 1

FaultKind = Literal["latency", "rate_limit", "server_error", "drop_connection", "apply_then_fail"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
_FAULT_COMMON_FIELDS = frozenset({"kind", "method", "path", "count"})
_FAULT_KIND_FIELDS: dict[str, frozenset[str]] = {
    "latency": frozenset({"delay_ms"}),
    "rate_limit": frozenset({"retry_after"}),
    "server_error": frozenset({"status", "retry_after"}),
    "drop_connection": frozenset(),
    "apply_then_fail": frozenset({"status", "drop"}),
}


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- errors


class BackendError(Exception):
    """Base of the errors the HTTP layer maps to statuses."""


class KeyNotFound(BackendError):
    """No live key with this id in this organization (404)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"No API key with id {key_id}.")
        self.key_id = key_id


@dataclass(frozen=True)
class FieldError:
    """One failed rule, named by the top-level body field it concerns."""

    field: str
    message: str


class ValidationFailed(BackendError):
    """A body broke one or more rules (422); every failing field is reported at once."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("Validation failed: " + "; ".join(e.message for e in errors))
        self.errors: tuple[FieldError, ...] = tuple(errors)


class Immutable(ValidationFailed):
    """An update named a field that cannot change after creation (422)."""

    def __init__(self, fields: Sequence[str], errors: Sequence[FieldError]) -> None:
        super().__init__(errors)
        self.fields: tuple[str, ...] = tuple(fields)


class InvalidPageRequest(BackendError):
    """A bad `limit` or an unknown `cursor` on the list (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class StateFileError(Exception):
    """The state file exists but cannot be read as emulator state."""


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ApiKey:
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


@dataclass(frozen=True)
class KeyPage:
    """One page of the list; `next_cursor` is None on the last page."""

    keys: tuple[ApiKey, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class FaultRule:
    """An armed fault; `remaining` is None for a rule that lasts until cleared."""

    id: str
    kind: FaultKind
    method: str
    path: str
    count: int | None
    remaining: int | None
    delay_ms: int | None = None
    retry_after: int | None = None
    status: int | None = None
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule concerns a request (path must match as a whole)."""
        if self.method not in ("*", method.upper()):
            return False
        return re.fullmatch(self.path, path) is not None


@dataclass(frozen=True)
class FaultDecision:
    """What the armed rules do to one request: a total delay, then at most one rule."""

    delay_ms: int = 0
    delayed: bool = False
    rule: FaultRule | None = None

    @property
    def label(self) -> str | None:
        """The name the request log shows: the deciding kind, else `latency` if delayed."""
        if self.rule is not None:
            return self.rule.kind
        return "latency" if self.delayed else None


@dataclass(frozen=True)
class RequestRecord:
    """One answered Console API request; `status` is None for a dropped connection."""

    method: str
    path: str
    query: Mapping[str, str]
    status: int | None
    fault: str | None
    started_at: datetime
    duration_ms: float


# --------------------------------------------------------------------------- validation


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name_error(value: object) -> str | None:
    if not isinstance(value, str):
        return "name must be a string."
    if not 1 <= len(value) <= 255:
        return "name must be 1 to 255 characters long."
    if not value.strip():
        return "name must not be only white space."
    return None


def _models_error(value: object) -> str | None:
    if not isinstance(value, list):
        return "models must be a list of '{author}/{model}' strings."
    seen: set[str] = set()
    for index, model in enumerate(value):
        if not isinstance(model, str) or _MODEL_RE.fullmatch(model) is None:
            return (
                f"models[{index}] must be an '{{author}}/{{model}}' string"
                " such as 'openai/gpt-5.2'."
            )
        if model in seen:
            return f"models[{index}] repeats {model!r}; models must be distinct."
        seen.add(model)
    return None


def _int_range_error(field: str, value: object, bounds: tuple[int, int]) -> str | None:
    low, high = bounds
    if not _is_int(value):
        return f"{field} must be an integer."
    assert isinstance(value, int)
    if not low <= value <= high:
        return f"{field} must be between {low} and {high}."
    return None


def _email_error(value: object) -> str | None:
    if not isinstance(value, str):
        return "email must be a string."
    if len(value) > MAX_EMAIL_LENGTH:
        return f"email must be at most {MAX_EMAIL_LENGTH} characters long."
    if _EMAIL_RE.fullmatch(value) is None:
        return "email must be an email address such as 'ops@example.com'."
    return None


def _coding_assistant_error(key_type: object, value: object) -> str | None:
    if value is not None and value not in CODING_ASSISTANTS:
        return "coding_assistant must be one of: " + ", ".join(CODING_ASSISTANTS) + "."
    if key_type == "coding_agent" and value is None:
        return "coding_assistant is required when type is coding_agent."
    if key_type == "api" and value is not None:
        return "coding_assistant must be absent or null when type is api."
    return None


@dataclass(frozen=True)
class _CreateFields:
    name: str
    type: str
    coding_assistant: str | None
    models: tuple[str, ...]
    max_usage: int | None
    expires_in_days: int | None
    email: str | None


def _validate_create(body: Mapping[str, object]) -> _CreateFields:
    """Apply the create rules; null counts as absent for every optional field."""
    errors: list[FieldError] = []

    def check(field: str, message: str | None) -> None:
        if message is not None:
            errors.append(FieldError(field, message))

    name = body.get("name")
    check("name", "name is required." if name is None else _name_error(name))
    key_type = body.get("type")
    if key_type is None:
        key_type = "api"
    elif key_type not in KEY_TYPES:
        check("type", "type must be one of: " + ", ".join(KEY_TYPES) + ".")
    assistant = body.get("coding_assistant")
    check("coding_assistant", _coding_assistant_error(key_type, assistant))
    models = body.get("models")
    if models is not None:
        check("models", _models_error(models))
    max_usage = body.get("max_usage")
    if max_usage is not None:
        check("max_usage", _int_range_error("max_usage", max_usage, MAX_USAGE_RANGE))
    days = body.get("expires_in_days")
    if days is not None:
        check(
            "expires_in_days",
            _int_range_error("expires_in_days", days, EXPIRES_IN_DAYS_RANGE),
        )
    email = body.get("email")
    if email is not None:
        check("email", _email_error(email))
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(name, str)
    assert isinstance(key_type, str)
    return _CreateFields(
        name=name,
        type=key_type,
        coding_assistant=assistant if isinstance(assistant, str) else None,
        models=tuple(models) if isinstance(models, list) else (),
        max_usage=max_usage if isinstance(max_usage, int) else None,
        expires_in_days=days if isinstance(days, int) else None,
        email=email if isinstance(email, str) else None,
    )


def _validate_update(key: ApiKey, body: Mapping[str, object]) -> ApiKey:
    """Apply the update rules and return the updated key (not yet stored).

    null on `models`, `max_usage` or `email` removes the restriction, limit or address.
    """
    immutable = [field for field in IMMUTABLE_FIELDS if field in body]
    errors = [FieldError(field, f"{field} cannot change after creation.") for field in immutable]

    def check(field: str, message: str | None) -> bool:
        if message is not None:
            errors.append(FieldError(field, message))
        return message is None

    updated = key
    name = body.get("name")
    if "name" in body and check("name", _name_error(name)) and isinstance(name, str):
        updated = replace(updated, name=name)
    active = body.get("active")
    if "active" in body:
        if isinstance(active, bool):
            updated = replace(updated, active=active)
        else:
            check("active", "active must be a boolean.")
    models = body.get("models")
    if "models" in body and (models is None or check("models", _models_error(models))):
        updated = replace(updated, models=tuple(models) if isinstance(models, list) else ())
    max_usage = body.get("max_usage")
    if "max_usage" in body and (
        max_usage is None
        or check("max_usage", _int_range_error("max_usage", max_usage, MAX_USAGE_RANGE))
    ):
        updated = replace(updated, max_usage=max_usage if isinstance(max_usage, int) else None)
    email = body.get("email")
    if "email" in body and (email is None or check("email", _email_error(email))):
        updated = replace(updated, email=email if isinstance(email, str) else None)
    if immutable:
        raise Immutable(immutable, errors)
    if errors:
        raise ValidationFailed(errors)
    return updated


def _fault_int(
    spec: Mapping[str, object],
    field: str,
    default: int | None,
    bounds: tuple[int, int],
    errors: list[FieldError],
) -> int | None:
    value = spec.get(field, default)
    if value is None:
        return None
    message = _int_range_error(field, value, bounds)
    if message is not None:
        errors.append(FieldError(field, message))
        return None
    assert isinstance(value, int)
    return value


def _parse_fault(spec: Mapping[str, object], rule_id: str) -> FaultRule:
    """Validate a fault rule as posted to /_emulator/faults; unknown fields are errors."""
    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise ValidationFailed(
            [FieldError("kind", "kind must be one of: " + ", ".join(FAULT_KINDS) + ".")]
        )
    allowed = _FAULT_COMMON_FIELDS | _FAULT_KIND_FIELDS[kind]
    errors = [
        FieldError(field, f"{field} is not a field of a {kind} rule.")
        for field in sorted(set(spec) - allowed)
    ]
    method = spec.get("method", "*")
    if not isinstance(method, str) or (method != "*" and _METHOD_RE.fullmatch(method) is None):
        errors.append(FieldError("method", "method must be an HTTP method or '*'."))
        method = "*"
    path = spec.get("path", DEFAULT_FAULT_PATH)
    if not isinstance(path, str):
        errors.append(FieldError("path", "path must be a regular expression string."))
        path = DEFAULT_FAULT_PATH
    else:
        try:
            re.compile(path)
        except re.error as exc:
            errors.append(FieldError("path", f"path is not a valid regular expression: {exc}."))
    count = spec.get("count", 1)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        errors.append(FieldError("count", "count must be a positive integer or null."))
        count = 1
    delay_ms = retry_after = status = None
    drop = False
    if kind == "latency":
        if spec.get("delay_ms") is None:
            errors.append(FieldError("delay_ms", "delay_ms is required for a latency rule."))
        delay_ms = _fault_int(spec, "delay_ms", None, (0, MAX_FAULT_DELAY_MS), errors)
    elif kind == "rate_limit":
        retry_after = _fault_int(spec, "retry_after", 1, (0, 86_400), errors)
    elif kind == "server_error":
        status = _fault_int(spec, "status", 503, (500, 599), errors)
        retry_after = _fault_int(spec, "retry_after", None, (0, 86_400), errors)
    elif kind == "apply_then_fail":
        status = _fault_int(spec, "status", 500, (400, 599), errors)
        raw_drop = spec.get("drop", False)
        if not isinstance(raw_drop, bool):
            errors.append(FieldError("drop", "drop must be a boolean."))
        drop = raw_drop is True
    if errors:
        raise ValidationFailed(errors)
    return FaultRule(
        id=rule_id,
        kind=kind,
        method=method.upper(),
        path=path,
        count=count if isinstance(count, int) else None,
        remaining=count if isinstance(count, int) else None,
        delay_ms=delay_ms,
        retry_after=retry_after,
        status=status,
        drop=drop,
    )


# --------------------------------------------------------------------------- persistence


def format_timestamp(value: datetime | None) -> str | None:
    """ISO 8601, UTC, second precision, with a `Z`: the contract's one timestamp form."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_timestamp(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("timestamp must be a string")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _key_to_state(key: ApiKey) -> dict[str, object]:
    return {
        "seq": key.seq,
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
        "email": key.email,
        "secret": key.secret,
    }


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _key_from_state(item: Mapping[str, object]) -> ApiKey:
    created_at = _parse_timestamp(item["created_at"])
    if created_at is None:
        raise TypeError("created_at must be set")
    models = item["models"]
    if not isinstance(models, list):
        raise TypeError("models must be a list")
    return ApiKey(
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
        secret=str(item["secret"]),
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --------------------------------------------------------------------------- backend


class EmulatorBackend:
    """All emulator state behind one lock: keys of every organization, faults, request log.

    `state_file`, when given, is loaded at start and rewritten atomically after each
    change to keys (faults and the request log are not persisted). `now` is the clock,
    injectable for tests; it must return an aware datetime (a naive one is taken as UTC).
    """

    def __init__(
        self,
        *,
        state_file: str | os.PathLike[str] | None = None,
        now: Callable[[], datetime] = utc_now,
        request_log_limit: int = REQUEST_LOG_LIMIT,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = now
        self._state_file = None if state_file is None else Path(state_file)
        self._keys: dict[str, ApiKey] = {}
        self._next_seq = 1
        # Every id and (digest of a) secret ever issued, so that none is issued twice,
        # even after a delete or a reset.
        self._issued_ids: set[str] = set()
        self._issued_secrets: set[str] = set()
        self._faults: list[FaultRule] = []
        self._next_fault = 1
        self._requests: deque[RequestRecord] = deque(maxlen=request_log_limit)
        if self._state_file is not None and self._state_file.exists():
            self._load(self._state_file)

    # ------------------------------------------------------------------ clock

    def now(self) -> datetime:
        """The injected clock's time, in UTC."""
        value = self._clock()
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    # ------------------------------------------------------------------ keys

    def create_key(self, organization_id: str, body: Mapping[str, object]) -> ApiKey:
        """Validate a create body and store the new key (raises ValidationFailed)."""
        fields = _validate_create(body)
        with self._lock:
            created_at = self.now().replace(microsecond=0)
            key = ApiKey(
                seq=self._next_seq,
                id=self._new_id(),
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
                secret=self._new_secret(),
            )
            self._next_seq += 1
            self._keys[key.id] = key
            self._save()
            return key

    def list_keys(
        self,
        organization_id: str,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> KeyPage:
        """One page in creation order; `limit` above MAX_PAGE_SIZE is clamped."""
        if limit < 1:
            raise InvalidPageRequest("limit", "limit must be a positive integer.")
        limit = min(limit, MAX_PAGE_SIZE)
        with self._lock:
            after = 0 if cursor is None else self._decode_cursor(organization_id, cursor)
            found: list[ApiKey] = []
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

    def get_key(self, organization_id: str, key_id: str) -> ApiKey:
        """The live key with this id in this organization (raises KeyNotFound)."""
        with self._lock:
            key = self._keys.get(key_id)
            if key is None or key.organization_id != organization_id:
                raise KeyNotFound(key_id)
            return key

    def update_key(self, organization_id: str, key_id: str, body: Mapping[str, object]) -> ApiKey:
        """Apply an update body; existence is checked before validation (404 before 422)."""
        with self._lock:
            key = _validate_update(self.get_key(organization_id, key_id), body)
            self._keys[key.id] = key
            self._save()
            return key

    def delete_key(self, organization_id: str, key_id: str) -> ApiKey:
        """Forget a key and return it as it was (raises KeyNotFound when already gone)."""
        with self._lock:
            key = self.get_key(organization_id, key_id)
            del self._keys[key_id]
            self._save()
            return key

    def mark_used(self, key_id: str) -> ApiKey:
        """Set `last_used_at` to now, as gateway traffic would; any organization."""
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                raise KeyNotFound(key_id)
            key = replace(key, last_used_at=self.now().replace(microsecond=0))
            self._keys[key_id] = key
            self._save()
            return key

    def all_keys(self) -> list[ApiKey]:
        """Every live key of every organization, in creation order."""
        with self._lock:
            return list(self._keys.values())

    def reset(self) -> None:
        """Forget keys, faults and the request log (issued ids and secrets stay retired)."""
        with self._lock:
            self._keys.clear()
            self._faults.clear()
            self._requests.clear()
            self._save()

    # ------------------------------------------------------------------ faults

    def add_fault(self, spec: Mapping[str, object]) -> FaultRule:
        """Arm a rule after the existing ones (raises ValidationFailed)."""
        with self._lock:
            rule = _parse_fault(spec, f"fault_{self._next_fault}")
            self._next_fault += 1
            self._faults.append(rule)
            return rule

    def faults(self) -> list[FaultRule]:
        """The rules still armed, in the order added."""
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._faults.clear()

    def match_faults(self, method: str, path: str) -> FaultDecision:
        """Consume the rules that apply to one request, in order.

        Latency rules add their delay and let checking go on; the first other matching
        rule decides and stops it. Each matched rule's count goes down by one.
        """
        with self._lock:
            delay_ms = 0
            delayed = False
            decider: FaultRule | None = None
            for index, rule in enumerate(self._faults):
                if not rule.matches(method, path):
                    continue
                if rule.remaining is not None:
                    self._faults[index] = replace(rule, remaining=rule.remaining - 1)
                if rule.kind != "latency":
                    decider = rule
                    break
                delay_ms += rule.delay_ms or 0
                delayed = True
            self._faults = [rule for rule in self._faults if rule.remaining != 0]
            return FaultDecision(delay_ms=delay_ms, delayed=delayed, rule=decider)

    # ------------------------------------------------------------------ request log

    def record_request(self, record: RequestRecord) -> None:
        """Append to the log; past the limit the oldest entries go."""
        with self._lock:
            self._requests.append(record)

    def requests(self) -> list[RequestRecord]:
        """The logged requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Empty the log."""
        with self._lock:
            self._requests.clear()

    # ------------------------------------------------------------------ internals

    def _new_id(self) -> str:
        while True:
            key_id = "key_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))
            if key_id not in self._issued_ids:
                self._issued_ids.add(key_id)
                return key_id

    def _new_secret(self) -> str:
        while True:
            secret = "ek_test_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))
            digest = _digest(secret)
            if digest not in self._issued_secrets:
                self._issued_secrets.add(digest)
                return secret

    @staticmethod
    def _encode_cursor(organization_id: str, seq: int) -> str:
        raw = f"{organization_id}\n{seq}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def _decode_cursor(self, organization_id: str, cursor: str) -> int:
        """The sequence number a cursor points after; it need not be a live key's."""
        unknown = InvalidPageRequest("cursor", "cursor is unknown.")
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            text = base64.urlsafe_b64decode(padded).decode()
        except ValueError:
            raise unknown from None
        cursor_org, _, seq_text = text.rpartition("\n")
        if cursor_org != organization_id or _DIGITS_RE.fullmatch(seq_text) is None:
            raise unknown
        seq = int(seq_text)
        if seq >= self._next_seq or self._encode_cursor(organization_id, seq) != cursor:
            raise unknown
        return seq

    def _save(self) -> None:
        """Write the state file atomically (temp file in the same folder, then replace)."""
        if self._state_file is None:
            return
        state = {
            "version": _STATE_VERSION,
            "next_seq": self._next_seq,
            "issued_ids": sorted(self._issued_ids),
            "issued_secret_sha256": sorted(self._issued_secrets),
            "keys": [_key_to_state(key) for key in self._keys.values()],
        }
        data = json.dumps(state, indent=2).encode()
        folder = self._state_file.parent
        fd, temp_name = tempfile.mkstemp(prefix=f".{self._state_file.name}.", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self._state_file)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp_name)
            raise

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_bytes())
            if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
                raise ValueError(f"not version {_STATE_VERSION} emulator state")
            keys = [_key_from_state(item) for item in state["keys"]]
            next_seq = int(state["next_seq"])
            issued_ids = {str(item) for item in state["issued_ids"]}
            issued_secrets = {str(item) for item in state["issued_secret_sha256"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateFileError(f"cannot load emulator state from {path}: {exc}") from exc
        keys.sort(key=lambda key: key.seq)
        self._keys = {key.id: key for key in keys}
        self._next_seq = max([next_seq, *(key.seq + 1 for key in keys)])
        self._issued_ids = issued_ids | set(self._keys)
        self._issued_secrets = issued_secrets | {_digest(key.secret) for key in keys}
