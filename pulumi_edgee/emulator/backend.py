"""The emulator's state in one object: the key store, fault rules and request log.

Each part lives in its own module (store.py, faults.py, requestlog.py, persistence.py);
this facade composes them so that the HTTP layer and tests have one thing to hold, and
it knows nothing about HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime

from .faults import FaultDecision, FaultRule, FaultRules
from .keys import KeyPage, StoredKey
from .persistence import StateFile
from .requestlog import REQUEST_LOG_LIMIT, RequestLog, RequestRecord
from .store import DEFAULT_PAGE_SIZE, KeyStore, utc_now

__all__ = ["EmulatorBackend", "utc_now"]


class EmulatorBackend:
    """Keys of every organization, fault rules and the request log.

    `state_file`, when given, is locked and loaded at start (StateFileError when it is
    invalid, unwritable or held by another emulator) and rewritten atomically before
    each change to keys is applied (faults and the request log are not persisted);
    `close` releases it. `now` is the clock,
    injectable for tests; it must return an aware datetime (a naive one is taken as UTC).
    """

    def __init__(
        self,
        *,
        state_file: str | os.PathLike[str] | None = None,
        now: Callable[[], datetime] = utc_now,
        request_log_limit: int = REQUEST_LOG_LIMIT,
    ) -> None:
        self._state_file = None if state_file is None else StateFile(state_file)
        self.store = KeyStore(
            now=now,
            persist=None if self._state_file is None else self._state_file.save,
            initial=None if self._state_file is None else self._state_file.open(),
        )
        self.fault_rules = FaultRules()
        self.request_log = RequestLog(request_log_limit)

    def close(self) -> None:
        """Release the state file's lock, so that another emulator may use the file."""
        if self._state_file is not None:
            self._state_file.close()

    def __enter__(self) -> EmulatorBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def now(self) -> datetime:
        """The clock's time, in UTC."""
        return self.store.now()

    # ------------------------------------------------------------------ keys

    def create_key(self, organization_id: str, body: Mapping[str, object]) -> StoredKey:
        """Validate a create body and store the new key (raises ValidationFailed)."""
        return self.store.create(organization_id, body)

    def list_keys(
        self, organization_id: str, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> KeyPage:
        """One page in creation order; `limit` above the maximum is clamped."""
        return self.store.page(organization_id, limit=limit, cursor=cursor)

    def get_key(self, organization_id: str, key_id: str) -> StoredKey:
        """The live key with this id in this organization (raises KeyNotFound)."""
        return self.store.get(organization_id, key_id)

    def update_key(
        self, organization_id: str, key_id: str, body: Mapping[str, object]
    ) -> StoredKey:
        """Apply an update body; existence is checked before validation (404 before 422)."""
        return self.store.update(organization_id, key_id, body)

    def delete_key(self, organization_id: str, key_id: str) -> StoredKey:
        """Forget a key and return it as it was (raises KeyNotFound when already gone)."""
        return self.store.delete(organization_id, key_id)

    def mark_used(self, key_id: str) -> StoredKey:
        """Set `last_used_at` to now, as gateway traffic would; any organization."""
        return self.store.mark_used(key_id)

    def insert_key(self, fields: Mapping[str, object]) -> StoredKey:
        """Store a key as given, odd fields and all (see `KeyStore.insert`)."""
        return self.store.insert(fields)

    def all_keys(self) -> list[StoredKey]:
        """Every live key of every organization, in creation order."""
        return self.store.all()

    def organizations(self) -> list[str]:
        """The organizations served, the default first."""
        return self.store.organizations()

    def add_organization(self, organization_id: object) -> bool:
        """Serve one more organization; False when it was already served (ValidationFailed)."""
        return self.store.add_organization(organization_id)

    def clock_offset(self) -> float:
        """Seconds by which every stamped or compared time is shifted."""
        return self.store.clock_offset()

    def set_clock_offset(self, seconds: object) -> float:
        """Skew the clock, e.g. -300 for a server five minutes behind (ValidationFailed)."""
        return self.store.set_clock_offset(seconds)

    def reset(self) -> None:
        """Forget keys, the clock offset, faults and the request log.

        Issued ids and secrets stay retired; the organizations stay served.
        """
        self.store.reset()
        self.fault_rules.clear()
        self.request_log.clear()

    # ------------------------------------------------------------------ faults

    def add_fault(self, spec: Mapping[str, object]) -> FaultRule:
        """Arm a rule after the existing ones (raises ValidationFailed)."""
        return self.fault_rules.add(spec)

    def faults(self) -> list[FaultRule]:
        """The rules still armed, in the order added."""
        return self.fault_rules.armed()

    def clear_faults(self) -> None:
        """Disarm every rule."""
        self.fault_rules.clear()

    def match_faults(self, method: str, path: str) -> FaultDecision:
        """Consume the rules that apply to one request (see `FaultRules.match`)."""
        return self.fault_rules.match(method, path)

    # ------------------------------------------------------------------ request log

    def record_request(self, record: RequestRecord) -> None:
        """Append to the log; past the limit the oldest entries go."""
        self.request_log.append(record)

    def requests(self) -> list[RequestRecord]:
        """The logged requests, oldest first."""
        return self.request_log.records()

    def clear_requests(self) -> None:
        """Empty the log."""
        self.request_log.clear()
