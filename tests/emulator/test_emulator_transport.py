"""The in-process httpx transport gives the same answers as the socket server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pulumi_edgee.emulator import ConsoleApp, EmulatorBackend, EmulatorTransport


@pytest.fixture
def app() -> ConsoleApp:
    return ConsoleApp(EmulatorBackend(), token="t", organization_id="org_1")


@pytest.fixture
def api(app: ConsoleApp) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=EmulatorTransport(app),
        base_url="http://emulator/v1/organizations/org_1",
        headers={"Authorization": "Bearer t"},
    ) as client:
        yield client


def test_round_trip_without_a_socket(api: httpx.Client) -> None:
    created = api.post("/api_keys", json={"name": "in process", "models": ["a/b"]})
    assert created.status_code == 201
    key = created.json()
    page = api.get("/api_keys", params={"limit": 1})
    assert [k["id"] for k in page.json()["data"]] == [key["id"]]
    assert api.get(f"/api_keys/{key['id']}/reveal").json()["key"] == key["key"]
    assert created.headers["Content-Length"] == str(len(created.content))


def test_errors_and_percent_encoded_paths(api: httpx.Client) -> None:
    assert api.get("/api_keys", headers={"Authorization": "Bearer no"}).status_code == 401
    assert api.get("http://emulator/v1/organizations/org%5F1/api_keys").status_code == 200
    assert api.put("/api_keys").status_code == 405


def test_drop_becomes_remote_protocol_error(app: ConsoleApp, api: httpx.Client) -> None:
    app.backend.add_fault({"kind": "apply_then_fail", "drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/api_keys", json={"name": "applied"})
    assert [key.name for key in app.backend.all_keys()] == ["applied"]
    assert app.backend.requests()[0].status is None


def test_admin_api_through_the_transport(api: httpx.Client) -> None:
    response = api.post("http://emulator/_emulator/faults", json={"kind": "rate_limit"})
    assert response.status_code == 201
    assert api.get("/api_keys").status_code == 429
