"""Every Console API endpoint of the emulator, over real HTTP on loopback."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

import httpx
import pytest

from pulumi_edgee.testing import EmulatorHandle, run_emulator

KEY_ID = re.compile(r"key_[A-Za-z0-9]{24}")
SECRET = re.compile(r"ek_test_[A-Za-z0-9]{40}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
PUBLIC_FIELDS = [
    "object",
    "id",
    "organization_id",
    "name",
    "type",
    "coding_assistant",
    "models",
    "max_usage",
    "active",
    "debug_mode",
    "created_at",
    "expires_at",
    "last_used_at",
]


def create(api: httpx.Client, **body: object) -> dict[str, object]:
    response = api.post("/api_keys", json={"name": "Production Backend", **body})
    assert response.status_code == 201, response.text
    key: dict[str, object] = response.json()
    return key


def test_create_answers_the_full_key_object_with_its_secret(emulator_api: httpx.Client) -> None:
    key = create(
        emulator_api,
        type="api",
        models=["anthropic/claude-opus-4-6", "openai/gpt-5.2"],
        max_usage=1000,
        expires_in_days=90,
        email="ops@example.com",
        unknown_field="ignored",
    )
    assert list(key) == [*PUBLIC_FIELDS, "key"]
    assert key["object"] == "ai_gateway_api_key"
    assert KEY_ID.fullmatch(str(key["id"]))
    assert SECRET.fullmatch(str(key["key"]))
    assert key["organization_id"] == "org_1"
    assert key["name"] == "Production Backend"
    assert key["models"] == ["anthropic/claude-opus-4-6", "openai/gpt-5.2"]
    assert key["max_usage"] == 1000
    assert (key["active"], key["debug_mode"], key["last_used_at"]) == (True, False, None)
    assert TIMESTAMP.fullmatch(str(key["created_at"]))
    assert TIMESTAMP.fullmatch(str(key["expires_at"]))


def test_create_defaults(emulator_api: httpx.Client) -> None:
    key = create(emulator_api)
    assert key["type"] == "api"
    assert key["coding_assistant"] is None
    assert key["models"] == []
    assert key["max_usage"] is None
    assert key["expires_at"] is None


def test_create_coding_agent(emulator_api: httpx.Client) -> None:
    key = create(emulator_api, type="coding_agent", coding_assistant="claude_code")
    assert (key["type"], key["coding_assistant"]) == ("coding_agent", "claude_code")


def test_expires_at_is_created_at_plus_days_with_second_precision() -> None:
    def clock() -> datetime:
        return datetime(2026, 4, 8, 10, 0, 0, 987654, tzinfo=timezone.utc)

    with (
        run_emulator(token="t", organization_id="org_1", now=clock) as emu,
        httpx.Client(base_url=emu.organization_url, headers={"Authorization": "Bearer t"}) as api,
    ):
        key = create(api, expires_in_days=90)
        one_day = create(api, expires_in_days=1)
    assert key["created_at"] == "2026-04-08T10:00:00Z"
    assert key["expires_at"] == "2026-07-07T10:00:00Z"
    assert one_day["expires_at"] == "2026-04-09T10:00:00Z"


def test_list_omits_secrets_and_keeps_creation_order(emulator_api: httpx.Client) -> None:
    ids = [create(emulator_api, name=f"k{i}")["id"] for i in range(3)]
    page = emulator_api.get("/api_keys").json()
    assert page["object"] == "list"
    assert [key["id"] for key in page["data"]] == ids
    assert all(list(key) == PUBLIC_FIELDS for key in page["data"])
    assert (page["has_more"], page["next_cursor"]) == (False, None)


def test_reveal_answers_the_same_secret(emulator_api: httpx.Client) -> None:
    key = create(emulator_api)
    revealed = emulator_api.get(f"/api_keys/{key['id']}/reveal")
    assert revealed.status_code == 200
    assert revealed.json() == key


def test_update_changes_the_mutable_fields(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    key = create(emulator_api, models=["openai/gpt-5.2"], max_usage=10, email="a@example.com")
    response = emulator_api.post(
        f"/api_keys/{key['id']}",
        json={"name": "Renamed", "active": False, "models": ["openai/o3"], "max_usage": 20},
    )
    assert response.status_code == 200
    updated = response.json()
    assert "key" not in updated
    assert (updated["name"], updated["active"]) == ("Renamed", False)
    assert (updated["models"], updated["max_usage"]) == (["openai/o3"], 20)
    assert updated["created_at"] == key["created_at"]
    assert emulator.keys()[0]["email"] == "a@example.com"


def test_update_with_null_or_empty_removes_limits(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    key = create(emulator_api, models=["openai/gpt-5.2"], max_usage=10, email="a@example.com")
    response = emulator_api.post(
        f"/api_keys/{key['id']}", json={"models": [], "max_usage": None, "email": None}
    )
    assert response.status_code == 200
    assert (response.json()["models"], response.json()["max_usage"]) == ([], None)
    assert emulator.keys()[0]["email"] is None


def test_update_with_an_empty_body_changes_nothing(emulator_api: httpx.Client) -> None:
    key = create(emulator_api)
    response = emulator_api.post(f"/api_keys/{key['id']}", json={})
    assert response.status_code == 200
    assert response.json() == {k: v for k, v in key.items() if k != "key"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "api"), ("type", "coding_agent"), ("coding_assistant", None), ("expires_in_days", 5)],
)
def test_update_of_an_immutable_field_is_422_naming_it(
    emulator_api: httpx.Client, field: str, value: object
) -> None:
    key = create(emulator_api)
    response = emulator_api.post(f"/api_keys/{key['id']}", json={"name": "ok", field: value})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": field, "message": f"{field} cannot change after creation."}
    ]
    assert emulator_api.get("/api_keys").json()["data"][0]["name"] == "Production Backend"


def test_update_of_a_missing_key_is_404_even_with_a_bad_body(emulator_api: httpx.Client) -> None:
    missing = "key_" + "x" * 24
    for body in ({"name": "x"}, {"name": ""}, {"type": "api"}):
        response = emulator_api.post(f"/api_keys/{missing}", json=body)
        assert response.status_code == 404
    assert emulator_api.post(f"/api_keys/{missing}", content=b"{").status_code == 404


def test_delete_answers_the_deleted_marker_then_404(emulator_api: httpx.Client) -> None:
    key = create(emulator_api)
    response = emulator_api.delete(f"/api_keys/{key['id']}")
    assert response.status_code == 200
    assert response.json() == {"id": key["id"], "object": "ai_gateway_api_key", "deleted": True}
    assert emulator_api.delete(f"/api_keys/{key['id']}").status_code == 404
    assert emulator_api.get(f"/api_keys/{key['id']}/reveal").status_code == 404
    assert emulator_api.post(f"/api_keys/{key['id']}", json={"name": "x"}).status_code == 404
    assert emulator_api.get("/api_keys").json()["data"] == []


def test_get_one_key_is_405_unless_served(emulator_api: httpx.Client) -> None:
    key = create(emulator_api)
    response = emulator_api.get(f"/api_keys/{key['id']}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, POST"
    assert response.json()["error"] == "Method Not Allowed"
    assert emulator_api.get("/api_keys/key_missing").status_code == 405


def test_get_one_key_with_serve_key_get() -> None:
    with (
        run_emulator(token="t", organization_id="org_1", serve_key_get=True) as emu,
        httpx.Client(base_url=emu.organization_url, headers={"Authorization": "Bearer t"}) as api,
    ):
        key = create(api)
        response = api.get(f"/api_keys/{key['id']}")
        assert response.status_code == 200
        assert response.json() == {k: v for k, v in key.items() if k != "key"}
        missing = api.get("/api_keys/key_missing")
        assert missing.status_code == 404
        assert missing.json() == {
            "error": "Not Found",
            "message": "No API key with id key_missing.",
        }


def test_ids_and_secrets_are_unique(emulator_api: httpx.Client, emulator: EmulatorHandle) -> None:
    keys = [create(emulator_api) for _ in range(20)]
    for _ in range(200):
        emulator.backend.create_key("org_2", {"name": "bulk"})
    everything = emulator.keys()
    assert len({key["id"] for key in everything}) == 220
    assert len({key["key"] for key in everything}) == 220
    assert {key["key"] for key in keys} <= {key["key"] for key in everything}


@pytest.fixture
def repeating_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the random source produce the same characters for the first two draws."""
    draws = {"n": 0}
    real_choice = secrets.choice

    def choice(alphabet: str) -> str:
        draws["n"] += 1
        # Key 1's id and secret use draws 1..64, key 2's first attempts 65..128:
        # the same characters again, so the emulator must draw a third time.
        return "a" if draws["n"] <= 128 else real_choice(alphabet)

    monkeypatch.setattr(secrets, "choice", choice)


@pytest.mark.usefixtures("repeating_randomness")
def test_an_id_or_secret_is_never_issued_twice(emulator: EmulatorHandle) -> None:
    first = emulator.backend.create_key("org_1", {"name": "one"})
    emulator.backend.delete_key("org_1", first.id)
    emulator.backend.reset()
    second = emulator.backend.create_key("org_1", {"name": "two"})
    assert first.id == "key_" + "a" * 24
    assert second.id != first.id
    assert second.secret != first.secret
