"""The emulator as a trustworthy server: web pages, state file, odd paths, bursts."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from pulumi_edgee.console import ApiKeyCreate, ConsoleClient
from pulumi_edgee.emulator import ConsoleApp, EmulatorBackend, EmulatorServer, StateFileError
from pulumi_edgee.emulator.transport import EmulatorTransport
from pulumi_edgee.testing import EmulatorHandle, run_emulator, spawn_emulator

TOKEN = "tok_hard_secret_0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id="org_1", serve_key_get=True) as handle:
        yield handle


@pytest.fixture
def api(emu: EmulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.organization_url, headers=AUTH, timeout=10.0) as client:
        yield client


# --------------------------------------------------------------------------- web pages


def test_a_web_page_cannot_reset_or_read_the_emulator(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    api.post("/api_keys", json={"name": "kept"})
    reset = emu.url + "/_emulator/reset"
    page = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    assert httpx.post(reset, headers=page, content=b"{}").status_code == 403
    assert httpx.post(reset, headers={**JSON, "Origin": "http://evil.example"}).status_code == 403
    assert httpx.post(reset, headers={**JSON, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert httpx.get(emu.url + "/_emulator/keys", headers={"Origin": "null"}).status_code == 403
    # Without a JSON body a write is refused even when no Origin is sent.
    plain = httpx.post(reset, headers={"Content-Type": "text/plain"}, content=b"{}")
    assert plain.status_code == 415
    assert httpx.post(reset).status_code == 415
    assert [k["name"] for k in emu.keys()] == ["kept"]
    # A same-origin JSON request, and any tool that sends no Origin, are served.
    same = {**JSON, "Origin": emu.url, "Sec-Fetch-Site": "same-origin"}
    assert httpx.post(reset, headers=same).status_code == 200
    assert emu.keys() == []


def test_a_rebound_name_cannot_reset_read_or_use_the_emulator(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    """DNS rebinding: a page whose name now resolves to loopback is same-origin to itself."""
    secret = api.post("/api_keys", json={"name": "kept"}).json()["key"]
    port = emu.url.rsplit(":", 1)[1]
    rebound = f"evil.example:{port}"
    page = {**JSON, "Host": rebound, "Origin": f"http://{rebound}"}
    refused = httpx.post(emu.url + "/_emulator/reset", headers=page)
    assert refused.status_code == 421
    assert "Host must be localhost or a loopback address" in refused.json()["message"]
    keys = httpx.get(emu.url + "/_emulator/keys", headers=page)
    assert keys.status_code == 421
    assert secret not in keys.text
    assert api.get("/api_keys", headers={"Host": rebound}).status_code == 421
    for host in ("localhost:1", "127.0.0.1:x", "", "evil.example", "127.0.0.1.evil.example"):
        assert httpx.get(emu.url + "/_emulator/health", headers={"Host": host}).status_code == 421
    assert [k["name"] for k in emu.keys()] == ["kept"]
    # Loopback names and addresses, on this port or none, are the emulator's own.
    for host in (f"localhost:{port}", "LOCALHOST.", f"127.0.0.1:{port}", "127.8.8.8", "[::1]"):
        assert httpx.get(emu.url + "/_emulator/health", headers={"Host": host}).status_code == 200


def test_the_in_process_transport_is_not_host_checked() -> None:
    """Its `Host: emulator` comes from a test's httpx client, never from a browser."""
    app = ConsoleApp(EmulatorBackend(), token=TOKEN, organization_id="org_1")
    transport = EmulatorTransport(app)
    with httpx.Client(transport=transport, base_url="http://emulator", headers=AUTH) as client:
        assert client.get("/v1/organizations/org_1/api_keys").status_code == 200
        assert client.get("/_emulator/health").status_code == 200


def test_admin_routes_of_other_groups_are_guarded_too(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    key = api.post("/api_keys", json={"name": "k", "max_usage": 10}).json()
    spend = f"{emu.url}/_emulator/keys/{key['id']}/spend"
    body = b'{"spent_usd": 10}'
    page = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    assert httpx.post(spend, headers=page, content=body).status_code == 403
    assert (
        httpx.post(spend, headers={"Content-Type": "text/plain"}, content=body).status_code == 415
    )
    assert emu.gateway_spend(key["id"])["spent_usd"] == 0
    assert httpx.post(spend, headers=JSON, content=body).status_code == 200


# --------------------------------------------------------------------------- state file


def test_a_write_that_cannot_be_saved_is_not_applied(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    with (
        run_emulator(token=TOKEN, organization_id="org_1", state_file=folder / "s.json") as emu,
        httpx.Client(base_url=emu.organization_url, headers=AUTH) as api,
    ):
        key = api.post("/api_keys", json={"name": "saved"}).json()
        shutil.rmtree(folder)  # every later save fails
        refused = api.post("/api_keys", json={"name": "unsaved"})
        assert refused.status_code == 503
        assert "not applied" in refused.json()["message"]
        assert api.delete(f"/api_keys/{key['id']}").status_code == 503
        assert api.post(f"/api_keys/{key['id']}", json={"name": "x"}).status_code == 503
        assert httpx.post(emu.url + "/_emulator/reset", headers=JSON).status_code == 503
        assert [k["name"] for k in api.get("/api_keys").json()["data"]] == ["saved"]
        folder.mkdir()
        assert api.post("/api_keys", json={"name": "later"}).status_code == 201
    saved = json.loads((folder / "s.json").read_text())
    assert [k["name"] for k in saved["keys"]] == ["saved", "later"]


def test_an_unwritable_state_path_refuses_to_start(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(StateFileError, match="cannot write the emulator state file"):
        EmulatorBackend(state_file=not_a_folder / "state.json")
    with (
        pytest.raises(RuntimeError, match="cannot write the emulator state file"),
        spawn_emulator(token=TOKEN, organization_id="o", state_file=not_a_folder / "s.json"),
    ):
        pass


def test_a_state_file_held_by_another_emulator_refuses_to_start(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with run_emulator(token=TOKEN, organization_id="org_1", state_file=state) as first:
        first.insert_key(name="first's")
        with pytest.raises(StateFileError, match="in use by another emulator"):
            EmulatorBackend(state_file=state)
        with (
            pytest.raises(RuntimeError, match="in use by another emulator"),
            spawn_emulator(token=TOKEN, organization_id="org_1", state_file=state),
        ):
            pass
        first.insert_key(name="still first's")  # the lock follows each save
        with pytest.raises(StateFileError, match="in use"):
            EmulatorBackend(state_file=state)
    with EmulatorBackend(state_file=state) as second:
        assert [k.name for k in second.all_keys()] == ["first's", "still first's"]


def _state_with_two_keys(path: Path) -> dict[str, object]:
    with EmulatorBackend(state_file=path) as backend:
        backend.create_key("org_1", {"name": "a"})
        backend.create_key("org_1", {"name": "b"})
    state: dict[str, object] = json.loads(path.read_text())
    return state


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s["keys"][1].update(seq=1), "seq repeats"),
        (lambda s: s["keys"][1].update(seq=0), "seq must be a positive integer"),
        (lambda s: s["keys"][1].update(seq="2"), "seq must be a positive integer"),
        (lambda s: s.update(next_seq=2), "next_seq must be an integer above"),
        (lambda s: s["keys"][1].update(id=s["keys"][0]["id"]), "id repeats"),
        (lambda s: s["keys"][1].update(key=s["keys"][0]["key"]), "key repeats"),
        (lambda s: s["keys"][1].update(max_usage=12.5), "max_usage must be an integer"),
        (lambda s: s["keys"][0].update(models="x"), "models must be a list"),
        (lambda s: s["keys"][0].update(id="a/b"), "id must be a non-empty string"),
    ],
)
def test_an_invalid_state_file_is_refused_with_the_reason(
    tmp_path: Path, change: object, reason: str
) -> None:
    path = tmp_path / "state.json"
    state = _state_with_two_keys(path)
    assert callable(change)
    change(state)
    path.write_text(json.dumps(state))
    with pytest.raises(StateFileError, match=reason):
        EmulatorBackend(state_file=path)


def test_fields_of_a_key_inserted_as_given_are_exempt_on_load(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with run_emulator(token=TOKEN, organization_id="org_1", state_file=path) as emu:
        emu.insert_key(max_usage=12.5, models="x", type="future")
    with EmulatorBackend(state_file=path) as backend:
        assert len(backend.all_keys()) == 1


# --------------------------------------------------------------------------- odd paths


def test_oversized_cursors_are_400(api: httpx.Client) -> None:
    digits = "9" * 5000
    forged = base64.urlsafe_b64encode(f"org_1\n{digits}".encode()).decode().rstrip("=")
    for cursor in (digits, forged):
        response = api.get("/api_keys", params={"cursor": cursor})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "cursor"


def test_an_encoded_slash_stays_inside_its_segment(emu: EmulatorHandle, api: httpx.Client) -> None:
    key = api.post("/api_keys", json={"name": "x"}).json()
    for method, path in [
        ("GET", f"/api_keys/{key['id']}%2Freveal"),
        ("GET", f"/api_keys/{key['id']}%2f"),
        ("DELETE", f"/api_keys/{key['id']}%2Fx"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 404, path
        assert "key" not in response.json()
    response = httpx.post(emu.url + "/_emulator%2Freset", headers=JSON)
    assert response.status_code == 404
    assert len(emu.keys()) == 1


# --------------------------------------------------------------------------- bursts


def _server(max_workers: int = 256, read_deadline: float = 10.0) -> EmulatorServer:
    app = ConsoleApp(EmulatorBackend(), token=TOKEN, organization_id="org_1")
    return EmulatorServer(app, max_workers=max_workers, read_deadline=read_deadline)


HEALTH = b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n\r\n"


def test_a_burst_of_300_connects_is_queued_not_dropped() -> None:
    server = _server()
    with ExitStack() as stack:
        stack.callback(server.stop)
        # Not accepting yet: every connect must fit in the listen backlog.
        clients = [
            stack.enter_context(socket.create_connection((server.host, server.port), timeout=3))
            for _ in range(300)
        ]
        server.start()
        for client in clients:
            client.sendall(HEALTH.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        for client in clients:
            client.settimeout(30)
            assert client.recv(64).startswith(b"HTTP/1.1 200")
        assert server.worker_threads <= 256


def test_connections_beyond_the_worker_pool_wait_for_a_free_worker() -> None:
    with _server(max_workers=2) as server, ExitStack() as stack:
        clients = [
            stack.enter_context(socket.create_connection((server.host, server.port), timeout=10))
            for _ in range(3)
        ]
        for client in clients:
            client.sendall(HEALTH)  # keep-alive: each holds its worker until it closes
        assert clients[0].recv(64).startswith(b"HTTP/1.1 200")
        assert clients[1].recv(64).startswith(b"HTTP/1.1 200")
        clients[2].settimeout(0.5)
        with pytest.raises(TimeoutError):
            clients[2].recv(64)
        assert server.worker_threads == 2
        clients[0].close()
        clients[2].settimeout(10)
        assert clients[2].recv(64).startswith(b"HTTP/1.1 200")
        assert server.worker_threads == 2


@pytest.mark.slow
def test_slow_and_silent_clients_cannot_hold_the_workers() -> None:
    """300 connections (more than the workers) that never finish a request, half of
    them silent, half stopped in the middle of their headers: each is closed once its
    read deadline passes, health checks and the provider's client go on meanwhile."""
    with _server(read_deadline=2.0) as server, ExitStack() as stack:
        held = [
            stack.enter_context(socket.create_connection((server.host, server.port), timeout=10))
            for _ in range(300)
        ]
        for client in held[::2]:
            client.sendall(HEALTH[:30])  # the request line and half a header
        started = time.monotonic()
        with httpx.Client(base_url=f"http://{server.host}:{server.port}", timeout=10) as probe:
            assert probe.get("/_emulator/health").status_code == 200
        with ConsoleClient(server.url, "org_1", TOKEN, request_deadline=10) as client:
            made = client.create_api_key(ApiKeyCreate(name="still served"))
            assert [k.id for k in client.list_api_keys()] == [made.id]
        assert time.monotonic() - started < 8
        for client in held:
            client.settimeout(10)
            assert client.recv(64) == b"", "a late request's connection is closed"
