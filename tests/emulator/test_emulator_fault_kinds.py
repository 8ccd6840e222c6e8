"""The hostile-server fault kinds, clock skew, several organizations and keys as given."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from pulumi_edgee.emulator import ConsoleApp, EmulatorBackend, EmulatorServer
from pulumi_edgee.testing import EmulatorAdminError, EmulatorHandle, run_emulator, spawn_emulator

CREATE = "/v1/organizations/[^/]+/api_keys"
TOKEN = "tok_kinds_secret_0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with run_emulator(
        token=TOKEN, organization_id="org_1", extra_organization_ids=("org_2",)
    ) as handle:
        yield handle


@pytest.fixture
def api(emu: EmulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.organization_url, headers=AUTH, timeout=10.0) as client:
        yield client


def wait_for(condition: object, timeout: float = 20.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


# --------------------------------------------------------------------------- late_apply


@pytest.mark.slow
def test_late_apply_applies_after_the_client_gave_up_without_blocking_others(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    emu.add_fault("late_apply", method="POST", path=CREATE, delay_ms=1500)
    with pytest.raises(httpx.ReadTimeout):
        api.post("/api_keys", json={"name": "late"}, timeout=0.3)
    # The held create has not been applied yet, and the server answers other requests.
    assert api.get("/api_keys").json()["data"] == []
    wait_for(lambda: len(emu.keys()) == 1)
    assert emu.keys()[0]["name"] == "late"
    held = [r for r in emu.requests() if r["method"] == "POST"]
    assert [(r["status"], r["fault"]) for r in held] == [(201, "late_apply")]
    assert held[0]["duration_ms"] >= 1500
    assert api.get("/api_keys").status_code == 200  # the failed answer broke nothing


def test_late_apply_requires_delay_ms(emu: EmulatorHandle) -> None:
    with pytest.raises(EmulatorAdminError, match="delay_ms is required"):
        emu.add_fault("late_apply")


# --------------------------------------------------------------------------- apply_then_garble


def test_apply_then_garble_commits_then_answers_an_unreadable_body(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    rule = emu.add_fault("apply_then_garble", method="POST", path=CREATE)
    assert (rule["status"], len(rule["body"])) == (201, 50_000)
    response = api.post("/api_keys", json={"name": "garbled"})
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == b"[" * 50_000
    with pytest.raises((ValueError, RecursionError)):
        response.json()
    assert [k["name"] for k in emu.keys()] == ["garbled"]


def test_apply_then_garble_with_a_given_status_and_body(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    key = api.post("/api_keys", json={"name": "a"}).json()
    emu.add_fault("apply_then_garble", method="DELETE", status=200, body='{"id": ')
    response = api.delete(f"/api_keys/{key['id']}")
    assert (response.status_code, response.text) == (200, '{"id": ')
    assert emu.keys() == []


# --------------------------------------------------------------------------- slow_drip


@pytest.mark.slow
def test_slow_drip_sends_the_whole_answer_byte_by_byte_and_applies(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    emu.add_fault("slow_drip", method="POST", path=CREATE, interval_ms=2)
    started = time.monotonic()
    response = api.post("/api_keys", json={"name": "dripped"})
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert response.json()["name"] == "dripped"
    assert [k["name"] for k in emu.keys()] == ["dripped"]
    # Status line and headers are dripped too: every byte but the first waits 2 ms.
    raw_size = len(response.content) + sum(
        len(f"{k}: {v}\r\n") for k, v in response.headers.items()
    )
    assert elapsed >= (raw_size - 1) * 0.002


def test_slow_drip_starts_with_one_byte_and_stops_when_the_client_goes() -> None:
    backend = EmulatorBackend()
    backend.add_fault({"kind": "slow_drip", "interval_ms": 100})
    app = ConsoleApp(backend, token=TOKEN, organization_id="org_1")
    # One worker: the next connection is served only once the dripping one has ended.
    with EmulatorServer(app, max_workers=1) as server:
        with socket.create_connection((server.host, server.port), timeout=10) as connection:
            connection.sendall(
                b"GET /v1/organizations/org_1/api_keys HTTP/1.1\r\nHost: localhost\r\n\r\n"
            )
            assert connection.recv(1024) == b"H"
        # The whole answer would take 20 s or more at 100 ms a byte.
        started = time.monotonic()
        response = httpx.get(server.url + "/_emulator/health", timeout=15)
        assert response.status_code == 200
        assert time.monotonic() - started < 10


# --------------------------------------------------------------------------- endless_pages


def test_endless_pages_never_end_and_each_cursor_is_fresh(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    api.post("/api_keys", json={"name": "hidden"})
    rule = emu.add_fault("endless_pages", count=None)
    assert (rule["method"], rule["path"]) == ("GET", CREATE)
    cursors = set()
    cursor = None
    for _ in range(30):
        page = api.get("/api_keys", params={} if cursor is None else {"cursor": cursor}).json()
        assert (page["data"], page["has_more"]) == ([], True)
        cursor = page["next_cursor"]
        cursors.add(cursor)
    assert len(cursors) == 30
    assert api.post("/api_keys", json={"name": "writes unaffected"}).status_code == 201
    emu.clear_faults()
    assert len(api.get("/api_keys").json()["data"]) == 2


def test_growing_pages_hold_one_new_key_each(emu: EmulatorHandle, api: httpx.Client) -> None:
    rule = emu.add_fault("growing_pages", count=None)
    assert (rule["method"], rule["path"]) == ("GET", CREATE)
    ids = set()
    cursor = None
    for _ in range(20):
        page = api.get("/api_keys", params={} if cursor is None else {"cursor": cursor}).json()
        assert page["has_more"] is True
        [key] = page["data"]
        assert key["organization_id"] == emu.organization_id
        ids.add(key["id"])
        cursor = page["next_cursor"]
    assert len(ids) == 20
    emu.clear_faults()
    assert api.get("/api_keys").json()["data"] == [], "the made-up keys are stored nowhere"


def test_answer_unapplied_acknowledges_an_update_it_does_not_apply(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    made = api.post("/api_keys", json={"name": "before"}).json()
    emu.add_fault("answer_unapplied", method="POST", path=CREATE + "/[^/]+")
    answer = api.post(f"/api_keys/{made['id']}", json={"name": "after"})
    assert answer.status_code == 200
    assert answer.json()["name"] == "before"
    assert "key" not in answer.json()
    assert api.get("/api_keys").json()["data"][0]["name"] == "before", "not applied"
    assert api.post(f"/api_keys/{made['id']}", json={"name": "after"}).json()["name"] == "after"


# --------------------------------------------------------------------------- clock


def test_clock_offset_shifts_every_stamp_and_reset_clears_it() -> None:
    fixed = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    with (
        run_emulator(token=TOKEN, organization_id="org_1", now=lambda: fixed) as emu,
        httpx.Client(base_url=emu.organization_url, headers=AUTH) as api,
    ):
        assert emu.clock_offset() == 0
        emu.set_clock_offset(-300)
        assert emu.clock_offset() == -300
        key = api.post("/api_keys", json={"name": "x", "expires_in_days": 1}).json()
        assert (key["created_at"], key["expires_at"]) == (
            "2026-01-01T11:55:00Z",
            "2026-01-02T11:55:00Z",
        )
        assert emu.mark_used(key["id"])["last_used_at"] == "2026-01-01T11:55:00Z"
        emu.reset()
        assert emu.clock_offset() == 0
        assert api.post("/api_keys", json={"name": "y"}).json()["created_at"] == (
            "2026-01-01T12:00:00Z"
        )


@pytest.mark.parametrize("body", [{"offset_seconds": "soon"}, {"offset_seconds": 1e12}, {}])
def test_invalid_clock_offsets_are_422(emu: EmulatorHandle, body: dict[str, object]) -> None:
    response = httpx.post(emu.url + "/_emulator/clock", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["offset_seconds"]
    assert emu.clock_offset() == 0


# --------------------------------------------------------------------------- organizations


def test_keys_live_in_their_organization_and_unknown_ones_are_404(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    assert emu.organizations() == ["org_1", "org_2"]
    mine = api.post("/api_keys", json={"name": "mine"}).json()
    org_2 = emu.url + "/v1/organizations/org_2/api_keys"
    theirs = httpx.post(org_2, json={"name": "theirs"}, headers=AUTH).json()
    assert theirs["organization_id"] == "org_2"
    assert [k["id"] for k in api.get("/api_keys").json()["data"]] == [mine["id"]]
    assert [k["id"] for k in httpx.get(org_2, headers=AUTH).json()["data"]] == [theirs["id"]]
    assert api.delete(f"/api_keys/{theirs['id']}").status_code == 404
    org_3 = emu.url + "/v1/organizations/org_3/api_keys"
    assert httpx.get(org_3, headers=AUTH).status_code == 404
    emu.add_organization("org_3")
    assert httpx.get(org_3, headers=AUTH).json()["data"] == []
    assert emu.organizations() == ["org_1", "org_2", "org_3"]
    response = httpx.post(emu.url + "/_emulator/organizations", json={"id": "a/b"})
    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "id")


def test_spawned_emulator_serves_repeated_organization_ids() -> None:
    with spawn_emulator(
        token=TOKEN, organization_id="org_a", extra_organization_ids=("org_b",)
    ) as emu:
        assert emu.organizations() == ["org_a", "org_b"]
        url = emu.url + "/v1/organizations/org_b/api_keys"
        assert httpx.post(url, json={"name": "b"}, headers=AUTH).status_code == 201
        assert [k["organization_id"] for k in emu.keys()] == ["org_b"]


# --------------------------------------------------------------------------- keys as given

ODD = {"name": "odd", "max_usage": 12.5, "models": "x", "surprise": {"a": [1]}}


def test_inserted_keys_are_served_as_given_everywhere(emu: EmulatorHandle) -> None:
    inserted = emu.insert_key(**ODD)
    for field, value in ODD.items():
        assert inserted[field] == value
    assert inserted["organization_id"] == "org_1"
    assert inserted["id"].startswith("key_")
    assert inserted["key"].startswith("ek_test_")
    assert (inserted["type"], inserted["active"]) == ("api", True)
    with run_emulator(
        token=TOKEN, organization_id="org_1", serve_key_get=True, backend=emu.backend
    ) as again:
        base = again.organization_url + "/api_keys"
        listed = httpx.get(base, headers=AUTH).json()["data"]
        single = httpx.get(f"{base}/{inserted['id']}", headers=AUTH).json()
        revealed = httpx.get(f"{base}/{inserted['id']}/reveal", headers=AUTH).json()
    public = {k: v for k, v in inserted.items() if k not in ("key", "email")}
    assert listed == [public]
    assert single == public
    assert revealed == {**public, "key": inserted["key"]}


def test_inserted_key_fields_and_refusals(emu: EmulatorHandle, api: httpx.Client) -> None:
    given = emu.insert_key(id="key_given", key="ek_given", organization_id="org_2", active=False)
    assert (given["id"], given["key"], given["organization_id"]) == (
        "key_given",
        "ek_given",
        "org_2",
    )
    assert given["active"] is False
    for body, field in [
        ({"id": "key_given"}, "id"),
        ({"key": "ek_given"}, "key"),
        ({"organization_id": "org_9"}, "organization_id"),
        ({"id": 5}, "id"),
    ]:
        response = httpx.post(emu.url + "/_emulator/keys", json=body)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]
    odd = emu.insert_key(**ODD)
    updated = api.post(f"/api_keys/{odd['id']}", json={"name": "renamed"}).json()
    assert (updated["name"], updated["max_usage"], updated["models"]) == ("renamed", 12.5, "x")


def test_inserted_keys_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with run_emulator(token=TOKEN, organization_id="org_1", state_file=state) as emu:
        odd = emu.insert_key(**ODD, active=False)
    assert json.loads(state.read_text())["keys"][0]["as_given"] == sorted([*ODD, "active"])
    with run_emulator(token=TOKEN, organization_id="org_1", state_file=state) as emu:
        assert emu.keys() == [odd]
        assert emu.backend.all_keys()[0].active is False


def test_admin_bodies_must_be_json_objects(emu: EmulatorHandle) -> None:
    for path in ("keys", "organizations", "clock"):
        response = httpx.post(
            f"{emu.url}/_emulator/{path}",
            content=b"[]",
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, path
