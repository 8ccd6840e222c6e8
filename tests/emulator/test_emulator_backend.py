"""Backend properties that HTTP tests cannot pin down easily: threads and the clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from pulumi_edgee.emulator import EmulatorBackend, FaultDecision, Immutable, KeyNotFound


def test_concurrent_creates_and_deletes_stay_consistent() -> None:
    backend = EmulatorBackend()
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for i in range(50):
            key = backend.create_key("org_1", {"name": f"k{i}"})
            if i % 2:
                backend.delete_key("org_1", key.id)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = backend.all_keys()
    assert len(keys) == 200
    seqs = [key.seq for key in keys]
    assert seqs == sorted(set(seqs))
    walked = []
    cursor = None
    while True:
        page = backend.list_keys("org_1", limit=30, cursor=cursor)
        walked += [key.id for key in page.keys]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == [key.id for key in keys]


def test_naive_clock_is_taken_as_utc() -> None:
    backend = EmulatorBackend(now=lambda: datetime(2026, 1, 31, 23, 59, 59, 999999))
    key = backend.create_key("org_1", {"name": "x", "expires_in_days": 1})
    assert key.created_at.isoformat() == "2026-01-31T23:59:59+00:00"
    assert key.expires_at is not None
    assert key.expires_at - key.created_at == timedelta(days=1)


def test_typed_errors() -> None:
    backend = EmulatorBackend()
    with pytest.raises(KeyNotFound) as missing:
        backend.get_key("org_1", "key_x")
    assert missing.value.key_id == "key_x"
    key = backend.create_key("org_1", {"name": "x"})
    with pytest.raises(Immutable) as immutable:
        backend.update_key("org_1", key.id, {"type": "api", "expires_in_days": 2, "name": ""})
    assert immutable.value.fields == ("type", "expires_in_days")
    assert [e.field for e in immutable.value.errors] == ["type", "expires_in_days", "name"]


def test_fault_decision_label() -> None:
    assert FaultDecision().label is None
    assert FaultDecision(delay_ms=5, delayed=True).label == "latency"
    backend = EmulatorBackend()
    backend.add_fault({"kind": "latency", "delay_ms": 0, "method": "GET"})
    backend.add_fault({"kind": "drop_connection"})
    decision = backend.match_faults("GET", "/v1/organizations/o/api_keys")
    assert (decision.delayed, decision.label) == (True, "drop_connection")
    assert backend.faults() == []
