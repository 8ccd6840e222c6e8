"""Fault injection: each kind, matching by method and path, counts, and rule validation."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from pulumi_edgee.testing import EmulatorAdminError, EmulatorHandle

CREATE = "/v1/organizations/[^/]+/api_keys"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """A client without base URL or token, built once (each client builds a TLS context)."""
    with httpx.Client(verify=False) as client:  # noqa: S501 - plain HTTP to loopback
        yield client


def test_latency_delays_then_answers_normally(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator.add_fault("latency", delay_ms=300)
    started = time.perf_counter()
    response = emulator_api.get("/api_keys")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed >= 0.3
    started = time.perf_counter()
    emulator_api.get("/api_keys")
    assert time.perf_counter() - started < 0.2
    log = emulator.requests()
    assert [(r["status"], r["fault"]) for r in log] == [(200, "latency"), (200, None)]
    assert log[0]["duration_ms"] >= 300


def test_latency_lets_the_next_rule_decide(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator.add_fault("latency", delay_ms=100)
    emulator.add_fault("latency", delay_ms=100)
    emulator.add_fault("rate_limit", retry_after=3)
    started = time.perf_counter()
    response = emulator_api.get("/api_keys")
    assert time.perf_counter() - started >= 0.2
    assert response.status_code == 429
    assert emulator.faults() == []
    assert emulator.requests()[0]["fault"] == "rate_limit"


def test_rate_limit_is_429_with_retry_after_and_not_applied(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator.add_fault("rate_limit", method="POST", path=CREATE, count=2, retry_after=2)
    statuses = []
    for _ in range(3):
        response = emulator_api.post("/api_keys", json={"name": "x"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "2"
            assert response.json()["error"] == "Too Many Requests"
    assert statuses == [429, 429, 201]
    assert len(emulator.keys()) == 1


def test_rate_limit_default_retry_after_is_1(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    rule = emulator.add_fault("rate_limit")
    assert rule["retry_after"] == 1
    assert emulator_api.get("/api_keys").headers["Retry-After"] == "1"


def test_server_error_default_503_and_custom_status(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator.add_fault("server_error")
    emulator.add_fault("server_error", status=502, retry_after=4)
    first = emulator_api.post("/api_keys", json={"name": "x"})
    second = emulator_api.post("/api_keys", json={"name": "x"})
    assert first.status_code == 503
    assert first.json()["error"] == "Service Unavailable"
    assert "Retry-After" not in first.headers
    assert (second.status_code, second.headers["Retry-After"]) == (502, "4")
    assert second.json()["error"] == "Bad Gateway"
    assert emulator.keys() == []


def test_drop_connection_raises_in_httpx_and_is_not_applied(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator.add_fault("drop_connection", method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        emulator_api.post("/api_keys", json={"name": "x"})
    assert emulator.keys() == []
    assert emulator_api.get("/api_keys").status_code == 200
    log = emulator.requests()
    assert [(r["method"], r["status"], r["fault"]) for r in log] == [
        ("POST", None, "drop_connection"),
        ("GET", 200, None),
    ]


def test_apply_then_fail_commits_then_answers_500(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    emulator.add_fault("apply_then_fail", method="POST", path=CREATE)
    response = emulator_api.post("/api_keys", json={"name": "committed"})
    assert response.status_code == 500
    assert response.json()["error"] == "Internal Server Error"
    stored = emulator.keys()
    assert [key["name"] for key in stored] == ["committed"]


def test_apply_then_fail_with_drop_commits_then_closes(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    key = emulator_api.post("/api_keys", json={"name": "doomed"}).json()
    emulator.add_fault("apply_then_fail", method="DELETE", drop=True, status=502)
    with pytest.raises(httpx.RemoteProtocolError):
        emulator_api.delete(f"/api_keys/{key['id']}")
    assert emulator.keys() == []
    assert emulator.requests()[-1]["status"] is None


def test_rules_match_method_and_whole_path(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    key = emulator_api.post("/api_keys", json={"name": "x"}).json()
    emulator.add_fault("server_error", method="get", path=r".*/reveal", count=None)
    assert emulator_api.get("/api_keys").status_code == 200  # path must match whole
    assert emulator_api.post(f"/api_keys/{key['id']}", json={}).status_code == 200
    assert emulator_api.get(f"/api_keys/{key['id']}/reveal").status_code == 503
    assert emulator_api.get(f"/api_keys/{key['id']}/reveal").status_code == 503
    assert emulator.faults()[0]["remaining"] is None
    emulator.clear_faults()
    assert emulator.faults() == []
    assert emulator_api.get(f"/api_keys/{key['id']}/reveal").status_code == 200


def test_faults_list_counts_down_and_disarms(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    rule = emulator.add_fault("server_error", count=2)
    assert (rule["id"], rule["count"], rule["remaining"]) == ("fault_1", 2, 2)
    assert rule["method"] == "*"
    assert rule["path"] == "/v1/.*"
    emulator_api.get("/api_keys")
    assert emulator.faults()[0]["remaining"] == 1
    emulator_api.get("/api_keys")
    assert emulator.faults() == []


def test_faults_come_before_authentication_and_spare_the_admin_api(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    emulator.add_fault("rate_limit", path=".*", count=None)
    response = http.get(emulator.organization_url + "/api_keys")
    assert response.status_code == 429
    assert emulator.keys() == []  # admin calls are not affected
    assert [r["status"] for r in emulator.requests()] == [429]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "explode"}, "kind"),
        ({"kind": "latency"}, "delay_ms"),
        ({"kind": "latency", "delay_ms": -1}, "delay_ms"),
        ({"kind": "latency", "delay_ms": 100, "status": 500}, "status"),
        ({"kind": "rate_limit", "retry_after": "soon"}, "retry_after"),
        ({"kind": "server_error", "status": 302}, "status"),
        ({"kind": "server_error", "body": 5}, "body"),
        ({"kind": "apply_then_fail", "status": 302}, "status"),
        ({"kind": "apply_then_fail", "drop": "yes"}, "drop"),
        ({"kind": "drop_connection", "path": "("}, "path"),
        ({"kind": "drop_connection", "method": "GET POST"}, "method"),
        ({"kind": "drop_connection", "count": 0}, "count"),
        ({"kind": "drop_connection", "count": True}, "count"),
        ({"kind": "drop_connection", "paths": ".*"}, "paths"),
    ],
)
def test_invalid_rules_are_422_naming_the_field(
    emulator: EmulatorHandle, http: httpx.Client, rule: dict[str, object], field: str
) -> None:
    response = http.post(emulator.url + "/_emulator/faults", json=rule)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert emulator.faults() == []


def test_add_fault_helper_raises_on_a_refused_rule(emulator: EmulatorHandle) -> None:
    with pytest.raises(EmulatorAdminError, match="422"):
        emulator.add_fault("latency")
