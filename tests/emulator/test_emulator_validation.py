"""Create and update validation: each rule, the field it names, and 400 for bad bodies."""

from __future__ import annotations

import httpx
import pytest

VALID = {"name": "Production Backend"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": " \t\n"}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 42}, "name"),
        ({**VALID, "type": "other"}, "type"),
        ({**VALID, "type": "coding_agent"}, "coding_assistant"),
        ({**VALID, "type": "coding_agent", "coding_assistant": None}, "coding_assistant"),
        ({**VALID, "coding_assistant": "codex"}, "coding_assistant"),
        ({**VALID, "type": "api", "coding_assistant": "codex"}, "coding_assistant"),
        ({**VALID, "type": "coding_agent", "coding_assistant": "vim"}, "coding_assistant"),
        ({**VALID, "models": "openai/gpt-5.2"}, "models"),
        ({**VALID, "models": ["gpt-5.2"]}, "models"),
        ({**VALID, "models": ["openai/gpt-5.2", "openai/gpt-5.2"]}, "models"),
        ({**VALID, "models": [1]}, "models"),
        ({**VALID, "models": ["-openai/gpt"]}, "models"),
        ({**VALID, "models": ["openai/gpt/5"]}, "models"),
        ({**VALID, "models": ["openai/gpt-5.2\n"]}, "models"),
        ({**VALID, "max_usage": 0}, "max_usage"),
        ({**VALID, "max_usage": 1_000_000_001}, "max_usage"),
        ({**VALID, "max_usage": True}, "max_usage"),
        ({**VALID, "max_usage": 10.5}, "max_usage"),
        ({**VALID, "max_usage": "10"}, "max_usage"),
        ({**VALID, "expires_in_days": 0}, "expires_in_days"),
        ({**VALID, "expires_in_days": 3651}, "expires_in_days"),
        ({**VALID, "expires_in_days": False}, "expires_in_days"),
        ({**VALID, "expires_in_days": 1.0}, "expires_in_days"),
        ({**VALID, "email": "not-an-email"}, "email"),
        ({**VALID, "email": "ops@localhost"}, "email"),
        ({**VALID, "email": "o ps@example.com"}, "email"),
        ({**VALID, "email": "a" * 243 + "@example.com"}, "email"),
        ({**VALID, "email": 5}, "email"),
    ],
)
def test_create_rule_is_422_naming_the_field(
    emulator_api: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = emulator_api.post("/api_keys", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["error"] == "Unprocessable Entity"
    assert isinstance(payload["message"], str)
    assert [error["field"] for error in payload["errors"]] == [field]
    assert all(isinstance(error["message"], str) for error in payload["errors"])
    assert emulator_api.get("/api_keys").json()["data"] == []


@pytest.mark.parametrize(
    "extra",
    [
        {"name": "x"},
        {"name": "x" * 255},
        {"name": "  padded  "},
        {"type": None, "coding_assistant": None},
        {"type": "api", "coding_assistant": None},
        {"type": "coding_agent", "coding_assistant": "claude_code"},
        {"type": "coding_agent", "coding_assistant": "opencode"},
        {"type": "coding_agent", "coding_assistant": "codex"},
        {"models": []},
        {"models": None},
        {"models": ["openai/gpt-4o:latest", "a/b", "Mistral.AI/mistral_large-2"]},
        {"max_usage": 1},
        {"max_usage": 1_000_000_000},
        {"expires_in_days": 1},
        {"expires_in_days": 3650},
        {"email": "a" * 242 + "@example.com"},
        {"email": None},
    ],
)
def test_create_accepts_the_edges_of_each_rule(
    emulator_api: httpx.Client, extra: dict[str, object]
) -> None:
    response = emulator_api.post("/api_keys", json={**VALID, **extra})
    assert response.status_code == 201, response.text


def test_every_failing_field_is_reported_at_once(emulator_api: httpx.Client) -> None:
    response = emulator_api.post(
        "/api_keys",
        json={"name": "", "type": "coding_agent", "max_usage": 0, "email": "x"},
    )
    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["name", "coding_assistant", "max_usage", "email"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"active": "yes"}, "active"),
        ({"active": None}, "active"),
        ({"models": ["nope"]}, "models"),
        ({"max_usage": 0}, "max_usage"),
        ({"email": "bad"}, "email"),
    ],
)
def test_update_rule_is_422_naming_the_field(
    emulator_api: httpx.Client, body: dict[str, object], field: str
) -> None:
    key = emulator_api.post("/api_keys", json=VALID).json()
    response = emulator_api.post(f"/api_keys/{key['id']}", json=body)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "The request body is not valid JSON."),
        (b"", "The request body is not valid JSON."),
        (b'{"name": NaN}', "The request body is not valid JSON."),
        (b"\xff\xfe\x00", "The request body is not valid JSON."),
        (b'["name"]', "The request body must be a JSON object."),
        (b'"name"', "The request body must be a JSON object."),
        (b"null", "The request body must be a JSON object."),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    emulator_api: httpx.Client, content: bytes, message: str
) -> None:
    response = emulator_api.post(
        "/api_keys", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "message": message}
    key = emulator_api.post("/api_keys", json=VALID).json()
    assert emulator_api.post(f"/api_keys/{key['id']}", content=content).status_code == 400
