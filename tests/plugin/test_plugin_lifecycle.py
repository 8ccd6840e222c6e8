"""The provider plugin, started as the engine starts it and driven with the engine's call
sequences (a fresh plugin process per command) against the emulator over HTTP.

Every answer that carries the gateway key carries it as a secret; the Console token and
every key's secret are absent from logs, stderr, errors and non-secret values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from pulumi.runtime import rpc

from pulumi_edgee._version import __version__
from pulumi_edgee.testing import EmulatorHandle, LeakDetector, ProviderCallError, run_emulator
from pulumi_edgee.testing.plugin import EngineLogServer, PluginEngine, PluginProcess

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok_plugin_tests_7c1e9a3f5b"
ORGANIZATION = "org_1"
NO_ENV = {
    "EDGEE_CONSOLE_API_TOKEN": "",
    "EDGEE_ORGANIZATION_ID": "",
    "EDGEE_CONSOLE_URL": "",
    "EDGEE_READ_REUSE_SECONDS": "0",
}
BACKEND = {"name": "Backend", "models": ["openai/gpt-5.2"], "maxUsage": 100}


@pytest.fixture(scope="module")
def leaks() -> Iterator[LeakDetector]:
    detector = LeakDetector()
    detector.add_secrets(TOKEN)
    yield detector
    detector.assert_clean()


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


@pytest.fixture
def console(emulator_module: EmulatorHandle) -> Iterator[httpx.Client]:
    """Someone else's changes, made straight through the Console API."""
    emulator_module.reset()
    with httpx.Client(
        base_url=emulator_module.organization_url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10.0,
    ) as client:
        yield client


def make_engine(emulator: EmulatorHandle, **config: Any) -> PluginEngine:
    settings = {"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": emulator.url}
    return PluginEngine(config={**settings, **config}, env=dict(NO_ENV))


def record(leaks: LeakDetector, engine: PluginEngine) -> None:
    """Hand every answer to the leak detector, with the values marked secret taken out
    (and their secrets added to the search)."""
    for method, answer in engine.answers:
        outputs = getattr(answer, "outputs", None) or getattr(answer, "result", None) or {}
        secret_keys = getattr(answer, "secret_keys", frozenset())
        for name in secret_keys:
            value = outputs.get(name)
            leaks.add_secrets(value if isinstance(value, str) and value != rpc.UNKNOWN else None)
        leaks.record(method, {k: v for k, v in outputs.items() if k not in secret_keys})
        leaks.record(f"{method} failures", getattr(answer, "failures", []))
    leaks.record_all("engine log", engine.logs)
    leaks.record_all("plugin stderr", engine.stderr)


def assert_key_always_secret(engine: PluginEngine) -> None:
    answers = [
        (m, a)
        for m, a in engine.answers
        if m in {"Create", "Update"} or (m == "Read" and a.id)  # an empty Read: key gone
    ]
    assert answers
    for method, answer in answers:
        assert "key" in answer.outputs, method
        assert "key" in answer.secret_keys, f"{method} returned the key unmarked"


def test_started_as_the_engine_starts_it() -> None:
    """Port on the first stdout line even with the engine's flags, version, schema."""
    with (
        EngineLogServer() as engine_log,
        PluginProcess(
            engine_log.address, flags=["--logtostderr", "-v=9", "--tracing", "file:/dev/null"]
        ) as plugin,
    ):
        assert plugin.get_plugin_info() == __version__
        served = plugin.get_schema()
        assert served == json.loads((ROOT / "schema.json").read_text(encoding="utf-8"))
        assert set(served["functions"]) == {"edgee:index:getApiKey", "edgee:index:getApiKeys"}
        assert served["config"]["variables"]["apiToken"]["secret"] is True
        assert plugin.stdout_text() == ""


@pytest.mark.slow
def test_preview_up_update_replace_refresh_destroy(
    emulator_module: EmulatorHandle, console: httpx.Client, leaks: LeakDetector
) -> None:
    engine = make_engine(emulator_module)

    # preview: nothing is made; what is known is known, the secret is an unknown secret
    [step] = engine.preview({"backend": BACKEND})
    assert step.op == "create"
    assert emulator_module.keys() == []
    assert step.outputs["name"] == "Backend"
    assert step.outputs["organizationId"] == ORGANIZATION
    assert step.outputs["createdAt"] == rpc.UNKNOWN
    assert "key" in step.secret_keys

    # up: one key, its secret marked
    [step] = engine.up({"backend": BACKEND})
    [live] = emulator_module.keys()
    assert step.outputs["key"] == live["key"]
    key_id = engine.state["backend"].id
    assert key_id == live["id"]

    # update: a detailed diff naming the property; the preview keeps the secret known
    renamed = {**BACKEND, "name": "Backend v2", "maxUsage": None}
    [step] = engine.preview({"backend": renamed})
    assert step.op == "update"
    assert step.diff is not None
    assert step.diff.detailed_diff == {"name": "UPDATE", "maxUsage": "DELETE"}
    assert step.diff.replaces == []
    assert step.outputs["key"] == live["key"]
    assert "key" in step.secret_keys
    [step] = engine.up({"backend": renamed})
    [live] = emulator_module.keys()
    assert (live["id"], live["name"], live["max_usage"]) == (key_id, "Backend v2", None)
    assert step.outputs["key"] == live["key"]

    # no change, no call beyond Check and Diff
    [step] = engine.up({"backend": renamed})
    assert step.op == "same"

    # replacement: the property says so, a new key is made first, the old one goes
    expiring = {**renamed, "expiresInDays": 30}
    [step] = engine.up({"backend": expiring})
    assert step.op == "replace"
    assert step.diff is not None
    assert step.diff.replaces == ["expiresInDays"]
    assert step.diff.detailed_diff == {"expiresInDays": "ADD_REPLACE"}
    [live] = emulator_module.keys()
    assert live["id"] != key_id
    assert engine.state["backend"].id == live["id"]
    assert step.outputs["key"] == live["key"]

    # refresh with drift: the live name shows, in outputs and inputs, and the next
    # preview puts it back
    console.post(f"/api_keys/{live['id']}", json={"name": "renamed in the Console"})
    [step] = engine.refresh()
    assert step.outputs["name"] == "renamed in the Console"
    assert step.outputs["key"] == live["key"]
    assert engine.state["backend"].inputs["name"] == "renamed in the Console"
    [step] = engine.preview({"backend": expiring})
    assert step.diff is not None
    assert step.diff.detailed_diff == {"name": "UPDATE"}

    # a key deleted in the Console leaves the stack on refresh
    console.delete(f"/api_keys/{live['id']}").raise_for_status()
    [step] = engine.refresh()
    assert step.op == "delete"
    assert engine.state == {}

    # destroy
    engine.up({"backend": BACKEND, "other": {"name": "Other", "active": False}})
    assert len(emulator_module.keys()) == 2
    engine.destroy()
    assert emulator_module.keys() == []

    assert_key_always_secret(engine)
    record(leaks, engine)


@pytest.mark.slow
def test_import_by_id_recovers_the_secret_and_matches_the_program(
    emulator_module: EmulatorHandle, console: httpx.Client, leaks: LeakDetector
) -> None:
    made = console.post(
        "/api_keys",
        json={
            "name": "Made by hand",
            "models": ["anthropic/claude-opus-4-6"],
            "expires_in_days": 7,
        },
    ).json()
    engine = make_engine(emulator_module)
    program = {
        "name": "Made by hand",
        "models": ["anthropic/claude-opus-4-6"],
        "expiresInDays": 7,
    }
    [step] = engine.import_("imported", made["id"], program)
    assert step.outputs["key"] == made["key"]
    assert "key" in step.secret_keys
    read_inputs = next(a for m, a in engine.answers if m == "Read").inputs
    assert read_inputs == {
        "name": "Made by hand",
        "type": "api",
        "models": ["anthropic/claude-opus-4-6"],
        "expiresInDays": 7,
        "active": True,
    }
    assert any("email" in log.message for log in engine.logs if log.severity == "WARNING")

    # the program matches: the next preview and up change nothing
    [step] = engine.up({"imported": program})
    assert step.op == "same"
    assert [k["id"] for k in emulator_module.keys()] == [made["id"]]

    # a program that differs makes the import fail, naming the property
    with pytest.raises(Exception, match=r"do not match.*name"):
        make_engine(emulator_module).import_("other", made["id"], {**program, "name": "x"})

    # an id that does not exist is an error, never an empty success
    with pytest.raises(ProviderCallError) as missing:
        make_engine(emulator_module).import_("ghost", "key_does_not_exist", program)
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
    assert "key_does_not_exist" in missing.value.details
    assert "Traceback" not in missing.value.details
    assert "\n" not in missing.value.details
    leaks.record("import error", missing.value)
    assert_key_always_secret(engine)
    record(leaks, engine)


@pytest.mark.slow
def test_functions(
    emulator_module: EmulatorHandle, console: httpx.Client, leaks: LeakDetector
) -> None:
    first = console.post("/api_keys", json={"name": "team-a"}).json()
    console.post(
        "/api_keys",
        json={"name": "team-b", "type": "coding_agent", "coding_assistant": "codex"},
    ).raise_for_status()
    twin = console.post("/api_keys", json={"name": "twin"}).json()
    twin2 = console.post("/api_keys", json={"name": "twin"}).json()
    engine = make_engine(emulator_module)

    by_id = engine.invoke("edgee:index:getApiKey", {"id": first["id"]})
    assert by_id.result["name"] == "team-a"
    assert by_id.result["id"] == first["id"]
    assert "key" not in by_id.result

    revealed = engine.invoke("edgee:index:getApiKey", {"name": "team-a", "reveal": True})
    assert revealed.result["key"] == first["key"]
    assert revealed.secret_keys == {"key"}

    listed = engine.invoke("edgee:index:getApiKeys", {"namePrefix": "team-"})
    assert [k["name"] for k in listed.result["keys"]] == ["team-a", "team-b"]
    agents = engine.invoke("edgee:index:getApiKeys", {"type": "coding_agent"})
    assert [k["name"] for k in agents.result["keys"]] == ["team-b"]
    assert all("key" not in k for k in listed.result["keys"])

    bad = engine.invoke("edgee:index:getApiKey", {"id": first["id"], "name": "team-a"})
    assert [prop for prop, _ in bad.failures] == ["id"]

    with pytest.raises(ProviderCallError) as several:
        engine.invoke("edgee:index:getApiKey", {"name": "twin"})
    assert several.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert twin["id"] in several.value.details
    assert twin2["id"] in several.value.details
    with pytest.raises(ProviderCallError) as none:
        engine.invoke("edgee:index:getApiKey", {"name": "nobody"})
    assert none.value.code == grpc.StatusCode.NOT_FOUND

    leaks.add_secrets(first["key"], twin["key"], twin2["key"])
    leaks.record_all("invoke errors", [several.value, none.value])
    record(leaks, engine)


@pytest.mark.slow
def test_config_is_checked_before_any_key_is_touched(
    emulator_module: EmulatorHandle, console: httpx.Client, leaks: LeakDetector
) -> None:
    # a missing setting names it
    engine = make_engine(emulator_module, organizationId=None)
    with pytest.raises(Exception, match="organizationId") as missing:
        engine.preview({"backend": BACKEND})
    assert "EDGEE_ORGANIZATION_ID" in str(missing.value)

    # a remote Console URL without TLS names consoleUrl, before any request
    emulator_module.clear_requests()
    engine = make_engine(emulator_module, consoleUrl="http://console.example.com")
    with pytest.raises(Exception, match=r"^error: could not validate.*consoleUrl: .*https"):
        engine.preview({"backend": BACKEND})
    assert emulator_module.requests() == []

    # the environment is the fallback, as the schema says
    engine = make_engine(emulator_module, apiToken=None)
    engine.env["EDGEE_CONSOLE_API_TOKEN"] = TOKEN
    [step] = engine.preview({"backend": BACKEND})
    assert step.op == "create"

    # a wrong token fails the preview at CheckConfig, after one cheap request
    emulator_module.clear_requests()
    wrong = "tok_wrong_0a9b8c7d6e"
    leaks.add_secrets(wrong)
    engine = make_engine(emulator_module, apiToken=wrong)
    with pytest.raises(Exception, match="apiToken") as rejected:
        engine.preview({"backend": BACKEND})
    assert [r["method"] for r in emulator_module.requests()] == ["GET"]

    # a wrong organization names organizationId
    engine = make_engine(emulator_module, organizationId="org_nope")
    with pytest.raises(Exception, match="organizationId"):
        engine.preview({"backend": BACKEND})
    assert emulator_module.keys() == []

    leaks.record_all("config errors", [missing.value, rejected.value])
    record(leaks, engine)


def test_config_diff_and_secret_marking(emulator_module: EmulatorHandle) -> None:
    with EngineLogServer() as engine_log, PluginProcess(engine_log.address, env=NO_ENV) as plugin:
        config = {
            "apiToken": TOKEN,
            "organizationId": ORGANIZATION,
            "consoleUrl": emulator_module.url,
        }
        checked = plugin.check_config(config)
        assert checked.failures == []
        assert checked.secret_keys == {"apiToken"}

        moved = plugin.diff_config(config, {**config, "organizationId": "org_2"})
        assert moved.replaces == ["organizationId"]
        assert moved.detailed_diff == {"organizationId": "UPDATE_REPLACE"}
        rotated = plugin.diff_config(config, {**config, "apiToken": "tok_new_1234567890"})
        assert (rotated.changes, rotated.replaces) == ("some", [])
        # a value moved between stack config and the environment is not a new place
        from_env = plugin.diff_config({"apiToken": TOKEN}, config)
        assert from_env.replaces == []
        assert plugin.diff_config(config, config).changes == "none"


EQUIVALENT, MOVED = "no change", "replaces"


@pytest.fixture(scope="module")
def idle_plugin() -> Iterator[PluginProcess]:
    """One plugin process, never configured: DiffConfig, and Diff against old state, need
    no settings (the engine sends them before Configure, or with the command's)."""
    with EngineLogServer() as engine_log, PluginProcess(engine_log.address, env=NO_ENV) as plugin:
        yield plugin


@pytest.mark.parametrize(
    ("setting", "old", "new", "expected"),
    [
        ("consoleUrl", "https://api.edgee.app", "https://api.edgee.app/", EQUIVALENT),
        ("consoleUrl", "https://api.edgee.app", "HTTPS://API.Edgee.App", EQUIVALENT),
        ("consoleUrl", "https://api.edgee.app", "https://api.edgee.app:443", EQUIVALENT),
        ("consoleUrl", "http://127.0.0.1:80", "http://127.0.0.1/", EQUIVALENT),
        ("consoleUrl", "https://api.edgee.app", " https://api.edgee.app ", EQUIVALENT),
        ("organizationId", "org_1", " org_1 ", EQUIVALENT),
        ("organizationId", "org_1", "org_1\n", EQUIVALENT),
        ("consoleUrl", "https://api.edgee.app", "https://api.edgee.app:8443", MOVED),
        ("consoleUrl", "https://api.edgee.app", "https://console.edgee.app", MOVED),
        ("consoleUrl", "http://127.0.0.1:8080", "https://127.0.0.1:8080", MOVED),
        ("organizationId", "org_1", "ORG_1", MOVED),
    ],
)
def test_settings_are_compared_as_resolution_reads_them(
    idle_plugin: PluginProcess, setting: str, old: str, new: str, expected: str
) -> None:
    """Spellings that settings resolution reads as one value never replace the provider
    (which would replace every key and rotate every secret); a real change of place does."""
    base = {"apiToken": TOKEN, "organizationId": "org_1", "consoleUrl": "https://api.edgee.app"}
    answer = idle_plugin.diff_config({**base, setting: old}, {**base, setting: new})
    if expected == EQUIVALENT:
        assert (answer.changes, answer.replaces) == ("none", [])
    else:
        assert answer.replaces == [setting]


@pytest.mark.slow
def test_console_failures_reach_the_engine_as_one_line_with_a_code(
    emulator_module: EmulatorHandle, console: httpx.Client, leaks: LeakDetector
) -> None:
    engine = make_engine(emulator_module)
    engine.up({"backend": BACKEND})
    emulator_module.add_fault("server_error", method="DELETE", path=".*", count=5, status=503)
    with pytest.raises(ProviderCallError) as failed:
        engine.destroy()
    assert failed.value.code == grpc.StatusCode.UNAVAILABLE
    assert "\n" not in failed.value.details
    assert "Traceback" not in failed.value.details
    assert "503" in failed.value.details
    emulator_module.clear_faults()
    assert len(emulator_module.keys()) == 1
    engine.destroy()
    assert emulator_module.keys() == []
    leaks.record("delete error", failed.value)
    record(leaks, engine)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1e300])
def test_an_absurd_day_count_in_a_diff_is_no_internal_error(
    idle_plugin: PluginProcess, value: float
) -> None:
    """The engine diffs against old state as it stands: a rotation setting of infinity
    (or NaN) there asks for no rotation instead of failing with a library's text."""
    urn = "urn:pulumi:dev::p::edgee:index:ApiKey::k"
    olds = {"name": "a", "createdAt": "2026-01-01T00:00:00Z", "expiresAt": "2026-02-01T00:00:00Z"}
    for setting in ("rotateEveryDays", "rotateBeforeExpiryDays"):
        answer = idle_plugin.diff("key_1", urn, olds, {"name": "a", setting: value}, {})
        due = value == 1e300 and setting == "rotateBeforeExpiryDays"  # every expiry is near
        assert answer.replaces == ([setting] if due else [])


def test_ignore_changes_leaves_those_properties_out_of_the_diff(idle_plugin: PluginProcess) -> None:
    """`ignoreChanges: [maxUsage]` (a resource option in every language): a changed limit
    is no change, a changed name still is."""
    urn = "urn:pulumi:dev::p::edgee:index:ApiKey::k"
    olds = {"name": "a", "maxUsage": 10}
    ignored = idle_plugin.diff(
        "key_1", urn, olds, {"name": "a", "maxUsage": 20}, olds, ["maxUsage"]
    )
    assert ignored.changes == "none"
    named = idle_plugin.diff("key_1", urn, olds, {"name": "b", "maxUsage": 20}, olds, ["maxUsage"])
    assert named.detailed_diff == {"name": "UPDATE"}
