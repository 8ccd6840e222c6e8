"""401, 403, 404, 405 and 413 answers, their bodies, and the order of the checks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pulumi_edgee.emulator import ConsoleApp, EmulatorBackend, EmulatorServer
from pulumi_edgee.testing import EmulatorHandle, run_emulator

UNAUTHORIZED = {"error": "Unauthorized", "message": "Invalid or expired API token"}
FORBIDDEN = {
    "error": "Forbidden",
    "message": "Your token does not have permission to access this resource",
}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """A client without base URL or token, built once (each client builds a TLS context)."""
    with httpx.Client(verify=False) as client:  # noqa: S501 - plain HTTP to loopback
        yield client


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dG9rX3Rlc3Q="},
        {"Authorization": "tok_test_secret_0123456789"},
    ],
)
def test_missing_or_wrong_token_is_401(
    emulator: EmulatorHandle, http: httpx.Client, headers: dict[str, str]
) -> None:
    for method, path in [
        ("GET", "/api_keys"),
        ("POST", "/api_keys"),
        ("GET", "/api_keys/key_x/reveal"),
        ("GET", "/unknown"),
    ]:
        response = http.request(method, emulator.organization_url + path, headers=headers)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert emulator.keys() == []


def test_bearer_scheme_is_case_insensitive(emulator: EmulatorHandle, http: httpx.Client) -> None:
    response = http.get(
        emulator.organization_url + "/api_keys",
        headers={"authorization": f"bearer {emulator.token}"},
    )
    assert response.status_code == 200


@pytest.fixture
def read_only() -> Iterator[tuple[EmulatorHandle, httpx.Client]]:
    with (
        run_emulator(
            token="full", organization_id="org_1", read_only_token="ro", serve_key_get=True
        ) as emu,
        httpx.Client(base_url=emu.organization_url, headers={"Authorization": "Bearer ro"}) as ro,
    ):
        yield emu, ro


def test_read_only_token_may_read_but_not_write_or_reveal(
    read_only: tuple[EmulatorHandle, httpx.Client],
) -> None:
    emu, ro = read_only
    key = emu.backend.create_key("org_1", {"name": "existing"})
    assert ro.get("/api_keys").status_code == 200
    assert ro.get(f"/api_keys/{key.id}").status_code == 200
    for response in [
        ro.post("/api_keys", json={"name": "new"}),
        ro.post(f"/api_keys/{key.id}", json={"name": "renamed"}),
        ro.delete(f"/api_keys/{key.id}"),
        ro.get(f"/api_keys/{key.id}/reveal"),
        ro.delete("/api_keys/key_missing"),
    ]:
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    stored = emu.keys()
    assert [k["name"] for k in stored] == ["existing"]


def test_read_only_token_gets_404_and_405_before_403(
    read_only: tuple[EmulatorHandle, httpx.Client],
) -> None:
    _, ro = read_only
    assert ro.put("/api_keys").status_code == 405
    assert ro.post("/v1/organizations/org_2/api_keys", json={"name": "x"}).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/organizations/org_2/api_keys",
        "/v1/organizations/org_2/api_keys/key_x/reveal",
        "/v1/organizations/org_1/api_keys/",
        "/v1/organizations/org_1/api_keys/key_x/other",
        "/v1/organizations/org_1/api_keys/key_x/reveal/more",
        "/v1/organizations/org_1/provider-keys",
        "/v1/organizations/org_1",
        "/v1/api_keys",
        "/",
        "/_emulatorx",
    ],
)
def test_unknown_and_other_organizations_paths_are_404(
    emulator: EmulatorHandle, http: httpx.Client, path: str
) -> None:
    response = http.get(emulator.url + path, headers={"Authorization": f"Bearer {emulator.token}"})
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "message": f"No resource at {path}."}


def test_other_organizations_keys_are_invisible(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    other = emulator.backend.create_key("org_2", {"name": "theirs"})
    assert emulator_api.get("/api_keys").json()["data"] == []
    assert emulator_api.get(f"/api_keys/{other.id}/reveal").status_code == 404
    assert emulator_api.delete(f"/api_keys/{other.id}").status_code == 404
    assert emulator_api.post(f"/api_keys/{other.id}", json={"name": "x"}).status_code == 404
    assert len(emulator.keys()) == 1


def test_unknown_key_is_404(emulator_api: httpx.Client) -> None:
    response = emulator_api.get("/api_keys/key_nope/reveal")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "message": "No API key with id key_nope."}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api_keys", "GET, POST"),
        ("DELETE", "/api_keys", "GET, POST"),
        ("PATCH", "/api_keys/key_x", "DELETE, POST"),
        ("POST", "/api_keys/key_x/reveal", "GET"),
        ("OPTIONS", "/api_keys", "GET, POST"),
    ],
)
def test_unserved_method_is_405_with_allow(
    emulator_api: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = emulator_api.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.json()["error"] == "Method Not Allowed"
    assert isinstance(response.json()["message"], str)


def test_head_is_answered_without_a_body(emulator_api: httpx.Client) -> None:
    response = emulator_api.head("/api_keys")
    assert response.status_code == 405
    assert response.content == b""


def test_every_answer_has_a_content_length(emulator_api: httpx.Client) -> None:
    for response in [
        emulator_api.get("/api_keys"),
        emulator_api.post("/api_keys", json={}),
        emulator_api.get("/api_keys/x/reveal"),
    ]:
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert response.headers["Content-Type"] == "application/json"


def test_oversized_and_chunked_bodies_are_refused(emulator_api: httpx.Client) -> None:
    too_big = emulator_api.post("/api_keys", content=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert too_big.headers["Connection"] == "close"
    chunked = emulator_api.post("/api_keys", content=iter([b'{"name": "x"}']))
    assert chunked.status_code == 411
    assert emulator_api.get("/api_keys").json()["data"] == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])  # noqa: S104
def test_server_refuses_non_loopback_hosts(host: str) -> None:
    app = ConsoleApp(EmulatorBackend(), token="t", organization_id="org_1")
    with pytest.raises(ValueError, match="loopback"):
        EmulatorServer(app, host=host)


def test_app_rejects_unusable_configuration() -> None:
    backend = EmulatorBackend()
    with pytest.raises(ValueError, match="token"):
        ConsoleApp(backend, token="", organization_id="org_1")
    with pytest.raises(ValueError, match="read-only"):
        ConsoleApp(backend, token="t", organization_id="org_1", read_only_token="t")
    with pytest.raises(ValueError, match="organization"):
        ConsoleApp(backend, token="t", organization_id="a/b")
