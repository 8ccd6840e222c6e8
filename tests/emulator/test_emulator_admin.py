"""The /_emulator/ admin API: health, keys, mark_used, request log, reset."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import httpx
import pytest

from pulumi_edgee.testing import EmulatorAdminError, EmulatorHandle, run_emulator


def test_health(emulator: EmulatorHandle) -> None:
    response = httpx.get(emulator.url + "/_emulator/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_keys_shows_every_organization_with_secret_and_email(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    mine = emulator_api.post("/api_keys", json={"name": "mine", "email": "a@example.com"}).json()
    emulator.backend.create_key("org_2", {"name": "theirs"})
    keys = emulator.keys()
    assert [(k["organization_id"], k["name"]) for k in keys] == [
        ("org_1", "mine"),
        ("org_2", "theirs"),
    ]
    assert keys[0]["key"] == mine["key"]
    assert (keys[0]["email"], keys[1]["email"]) == ("a@example.com", None)


def test_mark_used_sets_last_used_at() -> None:
    times = iter(
        [
            datetime(2026, 4, 8, 10, 0, 0, tzinfo=timezone.utc),
            datetime(2026, 4, 9, 12, 30, 15, 500000, tzinfo=timezone.utc),
        ]
    )
    with run_emulator(token="t", organization_id="org_1", now=lambda: next(times)) as emu:
        key = emu.backend.create_key("org_1", {"name": "x"})
        used = emu.mark_used(key.id)
        assert used["last_used_at"] == "2026-04-09T12:30:15Z"
        assert used["created_at"] == "2026-04-08T10:00:00Z"
        with pytest.raises(EmulatorAdminError, match="404"):
            emu.mark_used("key_missing")


def test_request_log_records_console_requests_only(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator_api.get("/api_keys", params={"limit": "5", "cursor": ""})
    emulator_api.post("/api_keys", json={"name": ""})
    emulator.keys()
    httpx.get(emulator.organization_url + "/api_keys")
    log = emulator.requests()
    assert [(r["method"], r["path"], r["query"], r["status"], r["fault"]) for r in log] == [
        ("GET", "/v1/organizations/org_1/api_keys", {"limit": "5", "cursor": ""}, 200, None),
        ("POST", "/v1/organizations/org_1/api_keys", {}, 422, None),
        ("GET", "/v1/organizations/org_1/api_keys", {}, 401, None),
    ]
    for record in log:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["started_at"])
        assert isinstance(record["duration_ms"], float | int)
    emulator.clear_requests()
    assert emulator.requests() == []


def test_reset_forgets_keys_faults_and_log(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator_api.post("/api_keys", json={"name": "x"})
    emulator.add_fault("latency", delay_ms=1, count=None)
    emulator.reset()
    assert (emulator.keys(), emulator.faults(), emulator.requests()) == ([], [], [])
    assert emulator_api.get("/api_keys").json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/_emulator", 404),
        ("GET", "/_emulator/", 404),
        ("GET", "/_emulator/nope", 404),
        ("GET", "/_emulator/keys/key_x", 404),
        ("POST", "/_emulator/health", 405),
        ("GET", "/_emulator/reset", 405),
        ("PUT", "/_emulator/faults", 405),
        ("GET", "/_emulator/keys/key_x/use", 405),
    ],
)
def test_unknown_admin_paths_and_methods(
    emulator: EmulatorHandle, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, emulator.url + path)
    assert response.status_code == status
    assert set(response.json()) == {"error", "message"}


def test_a_fault_rule_must_be_a_json_object(emulator: EmulatorHandle) -> None:
    response = httpx.post(
        emulator.url + "/_emulator/faults",
        content=b"[]",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
