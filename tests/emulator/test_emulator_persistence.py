"""The state file: atomic saves after each change, and loading by a second server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from pulumi_edgee.emulator import EmulatorBackend, StateFileError
from pulumi_edgee.testing import run_emulator


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": "Bearer t"})


def test_keys_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with run_emulator(token="t", organization_id="org_1", state_file=state) as emu:
        with client(emu.organization_url) as api:
            created = [
                api.post("/api_keys", json={"name": f"k{i}", "email": "a@example.com"}).json()
                for i in range(5)
            ]
            api.post(f"/api_keys/{created[0]['id']}", json={"name": "renamed", "active": False})
            api.delete(f"/api_keys/{created[1]['id']}")
            cursor = api.get("/api_keys", params={"limit": 2}).json()["next_cursor"]
            emu.mark_used(created[2]["id"])
        before = emu.keys()
    assert json.loads(state.read_text())["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left over

    with run_emulator(token="t", organization_id="org_1", state_file=state) as emu:
        assert emu.keys() == before
        with client(emu.organization_url) as api:
            revealed = api.get(f"/api_keys/{created[0]['id']}/reveal").json()
            assert (revealed["key"], revealed["name"]) == (created[0]["key"], "renamed")
            page = api.get("/api_keys", params={"limit": 2, "cursor": cursor}).json()
            assert [k["id"] for k in page["data"]] == [created[3]["id"], created[4]["id"]]
            new = api.post("/api_keys", json={"name": "new"}).json()
            listed = api.get("/api_keys").json()["data"]
    assert listed[-1]["id"] == new["id"]  # creation order continues after the loaded keys
    assert new["id"] not in {k["id"] for k in created}


def test_ids_of_deleted_keys_are_not_reissued_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = EmulatorBackend(state_file=state)
    key = first.create_key("org_1", {"name": "x"})
    first.delete_key("org_1", key.id)
    stored = json.loads(state.read_text())
    assert key.id in stored["issued_ids"]
    assert key.secret not in state.read_text()  # only a digest of a deleted key's secret


def test_reset_is_persisted(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with EmulatorBackend(state_file=state) as backend:
        backend.create_key("org_1", {"name": "x"})
    with EmulatorBackend(state_file=state) as backend:
        backend.reset()
    with EmulatorBackend(state_file=state) as backend:
        assert backend.all_keys() == []


@pytest.mark.parametrize("content", ["{", "[]", '{"version": 99}', '{"version": 1}'])
def test_an_unreadable_state_file_is_refused(tmp_path: Path, content: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    with pytest.raises(StateFileError, match="cannot load"):
        EmulatorBackend(state_file=state)


def test_a_backend_can_be_served_again_by_a_new_server() -> None:
    backend = EmulatorBackend()
    with (
        run_emulator(token="t", organization_id="org_1", backend=backend) as first,
        client(first.organization_url) as api,
    ):
        key = api.post("/api_keys", json={"name": "kept"}).json()
    with run_emulator(token="t2", organization_id="org_1", backend=backend) as second:
        stored = second.keys()
    assert second.backend is backend
    assert [k["id"] for k in stored] == [key["id"]]
    with (
        pytest.raises(ValueError, match="either"),
        run_emulator(token="t", organization_id="o", backend=backend, state_file="x"),
    ):
        pass
