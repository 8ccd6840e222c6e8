"""The ApiKey lifecycle call by call as the engine makes them, through the real server of
each front door (the dynamic provider's and the plugin's: the `engine` fixture runs every
test once per door), and what only the dynamic provider has (its payload)."""

from __future__ import annotations

import base64
import threading

import httpx
import pytest
from pulumi.runtime.rpc import UNKNOWN

from pulumi_edgee.testing import EmulatorHandle, configured_server
from pulumi_edgee.testing.provider_server import ProviderCallError

from .support import ORGANIZATION, PROVIDER, TOKEN, ProviderSteps

DYNAMIC_ONLY = pytest.mark.parametrize("door", ["dynamic"], indirect=True)


def live_keys(emulator: EmulatorHandle) -> dict[str, dict[str, object]]:
    return {k["id"]: k for k in emulator.keys()}


def console(emulator: EmulatorHandle) -> httpx.Client:
    return httpx.Client(
        base_url=emulator.organization_url,
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=10,
    )


def test_preview_with_unknown_inputs_calls_only_check_and_diff(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    checked = engine.check("pending", {"name": UNKNOWN, "models": [UNKNOWN], "maxUsage": 5})
    assert checked.failures == []
    key_id, outputs, inputs = engine.create("preview-base", name="base", maxUsage=5)
    emulator_module.clear_requests()
    calls_before = len(engine.server.calls)
    checked = engine.check("preview-base", {"name": UNKNOWN, "type": UNKNOWN}, olds=inputs)
    assert checked.failures == []
    diff = engine.server.diff(key_id, engine.urn("preview-base"), outputs, checked.inputs, inputs)
    assert diff.changes == "some"
    assert sorted(diff.replaces) == ["type"], "an unknown replace-only input may replace"
    assert engine.server.calls[calls_before:] == ["Check", "Diff"]
    assert emulator_module.requests() == [], "preview must not touch the Console API"


def test_bad_input_gives_one_check_failure_per_property(engine: ProviderSteps) -> None:
    checked = engine.check(
        "bad",
        {
            "name": " ",
            "type": "coding_agent",
            "models": ["not-a-model"],
            "maxUsage": -1,
            "expiresInDays": 1.5,
            "email": "nobody",
        },
    )
    failures = dict(checked.failures)
    wire = ["codingAssistant", "email", "expiresInDays", "maxUsage", "models", "name"]
    assert sorted(failures) == sorted(map(engine.prop, wire)), (
        "each property named once, as the program's language names it"
    )
    limit = failures[engine.prop("maxUsage")]
    assert limit.startswith(
        f"should be greater than or equal to 1. Set `{engine.prop('maxUsage')}`"
    )
    assert "author/model" in failures["models"]
    checked = engine.check("agent", {"name": "agent", "type": "coding_agent"})
    assert [p for p, _ in checked.failures] == [engine.prop("codingAssistant")]
    checked = engine.check("api", {"name": "api", "codingAssistant": "codex"})
    assert [p for p, _ in checked.failures] == [engine.prop("codingAssistant")]
    checked = engine.check("list", {"name": "list", "models": "openai/gpt-5.2"})
    assert [reason.split(".")[0] for _, reason in checked.failures] == ["should be a list"]


def test_create_returns_every_output_with_the_key_secret(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    key_id, outputs, inputs = engine.create(
        "backend",
        name="Production Backend",
        models=["openai/gpt-5.2", "anthropic/claude-opus-4-6", "openai/gpt-5.2"],
        maxUsage=1000,
        expiresInDays=90,
        email="ops@example.com",
    )
    live = live_keys(emulator_module)[key_id]
    assert outputs["key"] == live["key"]
    assert outputs["name"] == "Production Backend"
    assert sorted(outputs["models"]) == ["anthropic/claude-opus-4-6", "openai/gpt-5.2"]
    assert outputs["maxUsage"] == 1000
    assert outputs["expiresInDays"] == 90
    assert outputs["email"] == "ops@example.com"
    assert outputs["active"] is True
    assert outputs["debugMode"] is False
    assert outputs["organizationId"] == "org_1"
    assert outputs["createdAt"].endswith("Z")
    assert outputs["expiresAt"].endswith("Z")
    if engine.door.provider_in_bags:
        assert outputs["__provider"] == PROVIDER
    assert inputs["type"] == "api", "check fills the default"


def test_in_place_updates_keep_the_key(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    key_id, outputs, inputs = engine.create(
        "renamed", name="old name", models=["a/x", "b/y"], maxUsage=10
    )
    news = {**inputs, "name": "new name", "models": ["b/y", "a/x", "a/x"], "maxUsage": 20}
    checked = engine.check("renamed", news, olds=inputs)
    diff = engine.server.diff(key_id, engine.urn("renamed"), outputs, checked.inputs, inputs)
    assert (diff.changes, diff.replaces) == ("some", [])
    updated = engine.server.update(key_id, engine.urn("renamed"), outputs, checked.inputs, inputs)
    assert updated.secret_keys == {"key"}
    assert updated.outputs["key"] == outputs["key"], "update must carry the one-time secret"
    live = live_keys(emulator_module)[key_id]
    assert (live["name"], live["max_usage"]) == ("new name", 20)
    engine.record_outputs("update", updated.outputs)


def test_every_update_path_returns_the_key_as_a_secret(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    """A change of the rotation settings alone (no request), an email (not echoed by the
    Console API: the 2xx stands for it) and an in-place change each return `key` marked
    secret on the wire, whatever the resource's `additional_secret_outputs` does."""
    key_id, outputs, inputs = engine.create("paths", name="paths", expiresInDays=30)
    emulator_module.clear_requests()
    for change in ({"rotateEveryDays": 20}, {"email": "owner@example.com"}, {"maxUsage": 5}):
        news = {**inputs, **change}
        checked = engine.check("paths", news, olds=inputs)
        updated = engine.server.update(key_id, engine.urn("paths"), outputs, checked.inputs, inputs)
        assert "key" in updated.secret_keys, change
        assert updated.outputs["key"] == outputs["key"]
        engine.record_outputs(f"update {change}", updated.outputs)
        outputs, inputs = updated.outputs, checked.inputs
    writes = [r for r in emulator_module.requests() if r["method"] == "POST"]
    assert len(writes) == 2, "the rotation setting alone sends nothing; email and limit do"
    assert outputs["email"] == "owner@example.com"
    assert live_keys(emulator_module)[key_id]["email"] == "owner@example.com"


def test_a_name_of_the_marker_form_is_refused_at_preview(engine: ProviderSteps) -> None:
    checked = engine.check("marker", {"name": "pulumi-edgee-create:" + "0" * 32 + ":1700000000"})
    assert [f[0] for f in checked.failures] == ["name"]
    assert "reserved for keys being created" in checked.failures[0][1]


def test_reordered_or_duplicated_models_are_no_change(engine: ProviderSteps) -> None:
    key_id, outputs, inputs = engine.create("models", name="m", models=["a/x", "b/y"])
    checked = engine.check("models", {**inputs, "models": ["b/y", "a/x", "b/y"]}, olds=inputs)
    diff = engine.server.diff(key_id, engine.urn("models"), outputs, checked.inputs, inputs)
    assert diff.changes == "none"


@DYNAMIC_ONLY
def test_provider_payload_alone_is_no_change(engine: ProviderSteps) -> None:
    key_id, outputs, inputs = engine.create("payload", name="p")
    olds = {**outputs, "__provider": "c29tZXRoaW5nIGVsc2U="}
    checked = engine.check("payload", inputs, olds=inputs)
    assert engine.server.diff(
        key_id, engine.urn("payload"), olds, checked.inputs, inputs
    ).changes == ("none")


def test_type_change_replaces_create_before_delete(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    old_id, outputs, inputs = engine.create("agent", name="agent")
    news = {**inputs, "type": "coding_agent", "codingAssistant": "claude_code"}
    checked = engine.check("agent", news, olds=inputs)
    diff = engine.server.diff(old_id, engine.urn("agent"), outputs, checked.inputs, inputs)
    assert diff.changes == "some"
    assert sorted(diff.replaces) == ["codingAssistant", "type"]
    assert diff.delete_before_replace is False
    new_id, new_outputs, _ = engine.create("agent", **news)
    assert {old_id, new_id} <= set(live_keys(emulator_module)), "both exist between steps"
    engine.server.delete(old_id, engine.urn("agent"), outputs)
    keys = live_keys(emulator_module)
    assert new_id in keys
    assert old_id not in keys
    assert keys[new_id]["coding_assistant"] == "claude_code"
    assert new_outputs["key"] != outputs["key"]


def test_expiry_change_replaces(engine: ProviderSteps) -> None:
    key_id, outputs, inputs = engine.create("expiry", name="e", expiresInDays=30)
    checked = engine.check("expiry", {**inputs, "expiresInDays": 60}, olds=inputs)
    diff = engine.server.diff(key_id, engine.urn("expiry"), outputs, checked.inputs, inputs)
    assert diff.replaces == ["expiresInDays"]


def test_inactive_key_is_created_disabled_and_can_be_enabled(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    key_id, outputs, inputs = engine.create("off", name="off", active=False)
    assert outputs["active"] is False
    assert live_keys(emulator_module)[key_id]["active"] is False
    news = {**inputs, "active": True}
    checked = engine.check("off", news, olds=inputs)
    updated = engine.server.update(key_id, engine.urn("off"), outputs, checked.inputs, inputs)
    assert updated.outputs["active"] is True
    assert live_keys(emulator_module)[key_id]["active"] is True


def test_refresh_shows_out_of_band_changes_as_drift(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    key_id, outputs, inputs = engine.create("drift", name="declared", maxUsage=50)
    with console(emulator_module) as api:
        api.post(f"/api_keys/{key_id}", json={"name": "changed by hand", "active": False})
    read = engine.server.read(key_id, engine.urn("drift"), outputs, inputs)
    assert read.id == key_id
    assert read.secret_keys == {"key"}
    assert read.outputs["key"] == outputs["key"], "refresh keeps the secret from state"
    assert (read.outputs["name"], read.outputs["active"]) == ("changed by hand", False)
    assert read.outputs["maxUsage"] == 50
    diff = engine.server.diff(key_id, engine.urn("drift"), read.outputs, inputs, inputs)
    assert (diff.changes, diff.replaces) == ("some", []), "the next preview shows the drift"
    repaired = engine.server.update(key_id, engine.urn("drift"), read.outputs, inputs, inputs)
    assert (repaired.outputs["name"], repaired.outputs["active"]) == ("declared", True)


def test_refresh_reveals_the_key_when_state_lost_it(engine: ProviderSteps) -> None:
    key_id, outputs, inputs = engine.create("reveal", name="reveal")
    without_key = {k: v for k, v in outputs.items() if k != "key"}
    read = engine.server.read(key_id, engine.urn("reveal"), without_key, inputs)
    assert read.outputs["key"] == outputs["key"]
    assert read.secret_keys == {"key"}


def test_refresh_drops_a_key_deleted_out_of_band(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    key_id, outputs, inputs = engine.create("gone", name="gone")
    with console(emulator_module) as api:
        assert api.delete(f"/api_keys/{key_id}").is_success
    read = engine.server.read(key_id, engine.urn("gone"), outputs, inputs)
    assert read.id == ""


def test_destroy_and_destroy_of_an_already_deleted_key(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    key_id, outputs, _ = engine.create("destroy", name="destroy")
    engine.server.delete(key_id, engine.urn("destroy"), outputs)
    assert key_id not in live_keys(emulator_module)
    engine.server.delete(key_id, engine.urn("destroy"), outputs)


@pytest.mark.slow
def test_console_validation_error_is_clear_and_secret_free(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    key_id, outputs, inputs = engine.create("conflict", name="c")
    emulator_module.add_fault("server_error", method="POST", path=r".*/api_keys/.*", count=None)
    try:
        with pytest.raises(ProviderCallError) as caught:
            engine.server.update(
                key_id, engine.urn("conflict"), outputs, {**inputs, "name": "d"}, inputs
            )
    finally:
        emulator_module.clear_faults()
    assert f"updating API key {key_id} failed" in caught.value.details
    engine.leaks.record("update error", caught.value.details)


def test_provider_payload_is_small_and_holds_no_credential() -> None:
    assert len(PROVIDER) < 512
    assert TOKEN.encode() not in base64.b64decode(PROVIDER)


@pytest.mark.parametrize(
    ("fault", "fields"),
    [
        ("apply_then_fail", {}),
        ("apply_then_fail", {"drop": True}),
        ("drop_connection", {}),
        ("server_error", {"status": 502}),
    ],
)
def test_create_with_an_unknown_outcome_makes_exactly_one_key(
    engine: ProviderSteps, emulator_module: EmulatorHandle, fault: str, fields: dict[str, object]
) -> None:
    name = f"ambiguous {fault} {sorted(fields)}"
    before = set(live_keys(emulator_module))
    emulator_module.add_fault(
        fault, method="POST", path=r"/v1/organizations/[^/]+/api_keys", **fields
    )
    key_id, outputs, _ = engine.create("ambiguous", name=name, maxUsage=7)
    made = {k: v for k, v in live_keys(emulator_module).items() if k not in before}
    assert list(made) == [key_id], "no orphan, no duplicate"
    assert outputs["key"] == made[key_id]["key"], "the secret is recovered"


def test_create_ignores_identical_keys_that_existed_before_it(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    with console(emulator_module) as api:
        twin = api.post("/api_keys", json={"name": "twin"}).json()["id"]
    emulator_module.add_fault("drop_connection", method="POST", path=r".*/api_keys")
    key_id, _, _ = engine.create("twin", name="twin")
    assert key_id != twin, "a key made before the attempt is never adopted"
    assert twin in live_keys(emulator_module)


def test_create_adopts_its_own_key_when_an_identical_one_appears_meanwhile(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    """Someone makes an identical key while the create is in flight: the create still
    knows which key is its own (its marker), and leaves the other alone."""
    keys_path = r"/v1/organizations/[^/]+/api_keys"
    before = set(live_keys(emulator_module))
    emulator_module.add_fault("latency", method="POST", path=keys_path, delay_ms=400)
    emulator_module.add_fault("apply_then_fail", method="POST", path=keys_path)
    meanwhile = threading.Timer(
        0.1, emulator_module.backend.create_key, (ORGANIZATION, {"name": "in flight"})
    )
    meanwhile.start()
    key_id, outputs, _ = engine.create("in-flight", name="in flight")
    meanwhile.join()
    made = {k: v for k, v in live_keys(emulator_module).items() if k not in before}
    assert len(made) == 2
    assert key_id in made
    assert all(v["name"] == "in flight" for v in made.values())
    assert outputs["key"] == made[key_id]["key"]


def test_a_forced_replacement_never_adopts_the_key_it_replaces(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    """`pulumi up --replace`: same inputs, so the old key matches the new one's settings."""
    old_id, outputs, inputs = engine.create("forced", name="forced replacement")
    engine.server.diff(old_id, engine.urn("forced"), outputs, inputs, inputs)
    emulator_module.add_fault("drop_connection", method="POST", path=r".*/api_keys")
    new_id, _, _ = engine.create("forced", name="forced replacement")
    assert new_id != old_id
    engine.server.delete(old_id, engine.urn("forced"), outputs)
    assert new_id in live_keys(emulator_module)


@DYNAMIC_ONLY
def test_a_wrong_organization_never_drops_or_orphans_keys(
    engine: ProviderSteps, emulator_module: EmulatorHandle
) -> None:
    """Every path of another organization answers 404: that must not read as 'deleted'."""
    key_id, outputs, inputs = engine.create("org", name="kept")
    with configured_server(
        emulator_module.url, token=TOKEN, organization="org_typo", project="quickstart"
    ) as wrong:
        # State without the organization (as after an import): the 404 speaks.
        unplaced = {k: v for k, v in outputs.items() if k != "organizationId"}
        with pytest.raises(ProviderCallError) as refreshed:
            wrong.read(key_id, engine.urn("org"), unplaced, inputs)
        with pytest.raises(ProviderCallError) as destroyed:
            wrong.delete(key_id, engine.urn("org"), unplaced)
        # State that names the organization: refused before any request.
        with pytest.raises(ProviderCallError) as guarded:
            wrong.delete(key_id, engine.urn("org"), outputs)
        engine.leaks.record("wrong org server", wrong.stderr_text() + wrong.stdout_text())
    for error in (refreshed.value, destroyed.value):
        assert "Organization 'org_typo' was not found" in error.details
        assert "edgee:organizationId" in error.details
        engine.leaks.record("wrong org error", error.details)
    assert "organization 'org_1'" in guarded.value.details
    assert "organization 'org_typo'" in guarded.value.details
    assert key_id in live_keys(emulator_module)
