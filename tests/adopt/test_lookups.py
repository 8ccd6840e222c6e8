"""Lookups of keys a stack does not manage: the shared core (`key_finder`, also behind the
provider plugin's functions) against the emulator, and `get_api_key`, `get_api_keys` and
`ApiKey.get` in a program through the runner and the real provider server."""

from __future__ import annotations

import pytest

from pulumi_edgee import key_finder
from pulumi_edgee.session import Session
from pulumi_edgee.settings import Settings
from pulumi_edgee.testing import UNKNOWN_VALUE, is_access_probe

from .support import ORGANIZATION, PROGRAMS, TOKEN, Stack, ok, ops


def _session(env: Stack, token: str = TOKEN) -> Session:
    return Session(Settings(env.emulator.url, ORGANIZATION, token))


def test_lookup_by_id_and_name_with_and_without_the_secret(env: Stack) -> None:
    made = env.console_create(name="backend", max_usage=7, expires_in_days=30)
    session = _session(env)

    by_id = key_finder.get_api_key(session, id=made["id"])
    assert "key" not in by_id
    env.leaks.record("lookup without reveal", by_id)
    assert (by_id["id"], by_id["name"], by_id["maxUsage"], by_id["expiresInDays"]) == (
        made["id"],
        "backend",
        7,
        30,
    )
    assert "email" not in by_id, "the Console API never returns it"
    revealed = key_finder.get_api_key(session, id=made["id"], reveal=True)
    assert revealed["key"] == made["key"]
    assert key_finder.get_api_key(session, name="backend") == by_id
    assert key_finder.get_api_key(session, name="backend", reveal=True)["key"] == made["key"]


def test_lookup_errors_are_clear(env: Stack) -> None:
    first = env.console_create(name="twin")
    second = env.console_create(name="twin")
    session = _session(env)

    with pytest.raises(key_finder.NoMatchError, match="has no API key with id 'key_nope'"):
        key_finder.get_api_key(session, id="key_nope")
    with pytest.raises(key_finder.NoMatchError, match="has no API key named 'nobody'"):
        key_finder.get_api_key(session, name="nobody")
    with pytest.raises(key_finder.SeveralMatchesError) as several:
        key_finder.get_api_key(session, name="twin")
    assert first["id"] in str(several.value)
    assert second["id"] in str(several.value)
    with pytest.raises(key_finder.KeyLookupError, match="exactly one of `id` and `name`"):
        key_finder.get_api_key(session, id=first["id"], name="twin")

    bad = "tok_wrong_1234567890abcdef"
    with pytest.raises(key_finder.KeyLookupError) as rejected:
        key_finder.get_api_keys(_session(env, bad))
    assert "401" in str(rejected.value)
    assert bad not in str(rejected.value)
    env.leaks.record("lookup error", rejected.value)


def test_list_filters_by_prefix_and_type(env: Stack) -> None:
    env.console_create(name="prod-b")
    env.console_create(name="prod-a")
    env.console_create(name="prod-agent", type="coding_agent", coding_assistant="codex")
    env.console_create(name="staging")
    session = _session(env)

    names = [k["name"] for k in key_finder.get_api_keys(session, name_prefix="prod-")]
    assert names == ["prod-a", "prod-agent", "prod-b"]
    api = key_finder.get_api_keys(session, name_prefix="prod-", type="api")
    assert [k["name"] for k in api] == ["prod-a", "prod-b"]
    listed = key_finder.get_api_keys(session)
    assert all("key" not in k for k in listed)
    env.leaks.record("listed keys", listed)
    assert len(key_finder.get_api_keys(session)) == 4
    with pytest.raises(
        key_finder.KeyLookupError, match="`type` must be one of 'api', 'coding_agent'"
    ):
        key_finder.get_api_keys(session, type="agent")


def test_lookups_in_a_program_work_in_preview_and_keep_the_secret_secret(env: Stack) -> None:
    made = env.console_create(name="shared-backend", max_usage=42)
    env.console_create(name="shared-other")
    env.console_create(name="unrelated")
    stack = env.runner(
        PROGRAMS / "lookups", keyId=made["id"], keyName="shared-other", prefix="shared-"
    )

    preview = ok(stack.preview(), env, stack)
    assert preview.outputs["byIdKey"].secret
    assert preview.outputs["byIdKey"].value == made["key"], "lookups run in a preview"

    up = ok(stack.up(), env, stack)
    outputs = up.outputs
    assert outputs["byIdKey"].secret
    assert outputs["byIdKey"].value == made["key"]
    assert outputs["byIdName"].value == "shared-backend"
    assert outputs["byIdMaxUsage"].value == 42
    assert not outputs["byIdName"].secret
    assert outputs["byNameKey"].value is None, "no secret unless revealed"
    assert outputs["byNameId"].value != made["id"]
    assert len(outputs["listedIds"].value) == 2
    assert made["id"] in outputs["listedIds"].value

    # ApiKey.get reads the key into state as external: never updated or deleted.
    assert ops(up) == {"existing": "read"}
    existing = stack.state.get("existing")
    assert existing.external
    assert existing.id == made["id"]
    assert outputs["existingName"].value == "shared-backend"
    assert outputs["existingKey"].secret
    ok(stack.destroy(), env, stack)
    assert made["id"] in env.live(), "destroy leaves a key read with `get`"


def test_a_failed_lookup_fails_the_program_clearly(env: Stack) -> None:
    first = env.console_create(name="twin")
    second = env.console_create(name="twin")
    stack = env.runner(PROGRAMS / "lookups", keyId=first["id"], keyName="twin")
    result = stack.preview()
    assert result.error is not None
    assert "2 API keys of organization org_1 are named 'twin'" in str(result.error)
    assert second["id"] in str(result.error)
    env.leaks.record("program error", result.error)


def test_a_lookup_of_a_key_the_program_makes_waits_for_its_id(env: Stack) -> None:
    stack = env.runner(PROGRAMS / "chained")
    preview = ok(stack.preview(), env, stack)
    lookups = [r for r in env.emulator.requests() if not is_access_probe(r)]
    assert lookups == [], "an unknown argument: no lookup in the preview"
    assert preview.outputs["foundName"].value is UNKNOWN_VALUE
    assert preview.outputs["foundMaxUsage"].value is UNKNOWN_VALUE
    up = ok(stack.up(), env, stack)
    assert up.outputs["foundName"].value == "chained"
    assert up.outputs["foundMaxUsage"].value == 3
