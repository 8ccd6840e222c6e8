"""The plugin with what a preview cannot know yet, with bad and secret inputs, and with
Console API faults: the shared lifecycle's guarantees hold through this front door too
(one key per create whatever the failure, the secret recovered, nothing orphaned)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from pulumi_edgee import key_finder
from pulumi_edgee.session import session_for
from pulumi_edgee.settings import resolve
from pulumi_edgee.testing import EmulatorHandle, LeakDetector, ProviderCallError, run_emulator
from pulumi_edgee.testing.plugin import EngineLogServer, PluginEngine, PluginProcess
from pulumi_edgee.testing.provider_server import encode_properties

TOKEN = "tok_plugin_faults_2d8e4b6a0c"
ORGANIZATION = "org_1"
NO_ENV = {
    "EDGEE_CONSOLE_API_TOKEN": "",
    "EDGEE_ORGANIZATION_ID": "",
    "EDGEE_CONSOLE_URL": "",
}
KEYS = r"/v1/organizations/[^/]+/api_keys"
ONE_KEY = KEYS + r"/[^/]+"
URN = "urn:pulumi:test::project::edgee:index:ApiKey::backend"


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


@pytest.fixture
def emulator(emulator_module: EmulatorHandle) -> EmulatorHandle:
    emulator_module.reset()
    return emulator_module


@pytest.fixture
def plugin(emulator: EmulatorHandle) -> Iterator[PluginProcess]:
    """One configured plugin process, for single calls."""
    with EngineLogServer() as engine, PluginProcess(engine.address, env=NO_ENV) as process:
        process.configure(
            {"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": emulator.url},
            secret_keys=["apiToken"],
        )
        yield process
        leaks = LeakDetector()
        leaks.add_secrets(TOKEN)
        leaks.record("stderr", process.stderr_text())
        leaks.record_all("log", engine.records)
        leaks.assert_clean()


def engine_for(emulator: EmulatorHandle) -> PluginEngine:
    return PluginEngine(
        config={"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": emulator.url},
        env=dict(NO_ENV),
    )


def test_preview_with_unknown_inputs(plugin: PluginProcess, emulator: EmulatorHandle) -> None:
    news: dict[str, Any] = {"name": rpc.UNKNOWN, "maxUsage": rpc.UNKNOWN}
    checked = plugin.check(URN, {}, news)
    assert checked.failures == []
    assert checked.inputs["name"] == rpc.UNKNOWN

    # the new key's secret is an unknown secret on the wire, not a plain value
    raw = plugin.stub.Create(
        provider_pb2.CreateRequest(
            urn=URN, properties=encode_properties(checked.inputs), preview=True
        )
    )
    key = raw.properties.fields["key"].struct_value.fields
    assert key[rpc._special_sig_key].string_value == rpc._special_secret_sig
    assert key["value"].string_value == rpc.UNKNOWN
    assert emulator.keys() == []

    created = plugin.create(URN, {"name": "known"})
    diff = plugin.diff(created.id, URN, created.outputs, {**created.outputs, **news}, {})
    assert diff.changes == "some"
    assert diff.detailed_diff == {"name": "UPDATE", "maxUsage": "ADD"}
    updated = plugin.update(
        created.id, URN, created.outputs, {"name": rpc.UNKNOWN}, {"name": "known"}, preview=True
    )
    assert updated.outputs["name"] == rpc.UNKNOWN
    assert updated.outputs["key"] == created.outputs["key"]
    assert "key" in updated.secret_keys
    # an unknown replacing property means a replacement
    replacing = plugin.diff(
        created.id, URN, created.outputs, {"name": "known", "expiresInDays": rpc.UNKNOWN}, {}
    )
    assert replacing.replaces == ["expiresInDays"]
    plugin.delete(created.id, URN, created.outputs)


def test_a_secret_input_stays_secret_in_every_answer(plugin: PluginProcess) -> None:
    secret_name = rpc.wrap_rpc_secret("Secret Project Name")
    checked = plugin.check(URN, {}, {"name": secret_name})
    assert checked.secret_keys == {"name"}
    created = plugin.create(URN, {"name": secret_name, "type": "api", "active": True})
    assert created.secret_keys == {"name", "key"}
    read = plugin.read(created.id, URN, created.outputs, {"name": secret_name})
    assert read.secret_keys == {"name", "key"}
    plugin.delete(created.id, URN, created.outputs)


@pytest.mark.slow
def test_a_failed_update_keeps_state_and_the_next_up_repairs_it(emulator: EmulatorHandle) -> None:
    engine = engine_for(emulator)
    engine.up({"backend": {"name": "backend", "maxUsage": 10}})
    key_id = engine.state["backend"].id
    emulator.add_fault("server_error", method="POST", path=ONE_KEY, count=None, status=503)
    with pytest.raises(ProviderCallError) as failed:
        engine.up({"backend": {"name": "backend", "maxUsage": 20}})
    assert failed.value.code == grpc.StatusCode.UNAVAILABLE
    assert f"updating API key {key_id} failed" in failed.value.details
    assert engine.state["backend"].outputs["maxUsage"] == 10
    emulator.clear_faults()
    [step] = engine.up({"backend": {"name": "backend", "maxUsage": 20}})
    assert step.op == "update"
    [live] = emulator.keys()
    assert (live["id"], live["max_usage"]) == (key_id, 20)


@pytest.mark.slow
def test_rate_limits_are_waited_out(emulator: EmulatorHandle) -> None:
    emulator.add_fault("rate_limit", method="GET", path=KEYS, count=2, retry_after=0)
    engine = engine_for(emulator)
    [step] = engine.preview({"backend": {"name": "backend"}})
    assert step.op == "create"


def test_calls_in_parallel_as_the_engine_sends_them(
    plugin: PluginProcess, emulator: EmulatorHandle
) -> None:
    """The engine sends many steps at once: eight creates, then eight deletes, through
    one plugin process make and remove exactly eight keys, each with its own secret."""
    names = [f"parallel-{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda n: plugin.create(f"{URN}-{n}", {"name": n}), names))
    live = {k["id"]: k for k in emulator.keys()}
    assert sorted(live) == sorted(c.id for c in created)
    for made in created:
        assert made.outputs["key"] == live[made.id]["key"]
        assert "key" in made.secret_keys
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda c: plugin.delete(c.id, URN, c.outputs), created))
    assert emulator.keys() == []


def test_function_arguments_are_checked_in_the_schemas_words(plugin: PluginProcess) -> None:
    bogus = plugin.invoke("edgee:index:getApiKeys", {"type": "bogus"})
    assert bogus.failures == [("type", '`type` must be one of `api`, `coding_agent`, not "bogus"')]
    number = plugin.invoke("edgee:index:getApiKeys", {"namePrefix": 3.0})
    assert number.failures == [("namePrefix", "`namePrefix` must be a string, not 3.0")]
    flag = plugin.invoke("edgee:index:getApiKey", {"id": "key_1", "reveal": "yes"})
    assert flag.failures == [("reveal", '`reveal` must be a boolean, not "yes"')]
    extra = plugin.invoke("edgee:index:getApiKeys", {"kind": "api"})
    assert extra.failures == [
        ("kind", "`kind` is not an argument of edgee:index:getApiKeys (it takes namePrefix, type)")
    ]


def test_an_id_no_key_can_have_is_an_invalid_argument(
    plugin: PluginProcess, emulator: EmulatorHandle
) -> None:
    with pytest.raises(ProviderCallError) as looked_up:
        plugin.invoke("edgee:index:getApiKey", {"id": ".."})
    assert looked_up.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "'..' is not an API key id" in looked_up.value.details
    with pytest.raises(ProviderCallError) as deleted:
        plugin.delete("..", URN, {"name": "backend", "organizationId": ORGANIZATION})
    assert deleted.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert deleted.value.details.startswith("deleting API key .. failed: '..' is not an API key")
    assert [r for r in emulator.requests() if "/api_keys/" in r["path"]] == []


def test_a_refusal_of_the_lifecycle_is_a_failed_precondition(plugin: PluginProcess) -> None:
    """The organization guard: state places the key elsewhere; no Console error at all."""
    with pytest.raises(ProviderCallError) as refused:
        plugin.read("key_1", URN, {"name": "backend", "organizationId": "org_other"}, {})
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "belongs to organization 'org_other'" in refused.value.details


@pytest.mark.slow
def test_an_unreachable_console_does_not_fail_the_configuration_check() -> None:
    """Only a refused token or organization fails CheckConfig: a Console the probe cannot
    reach may be a passing fault, which the steps meet with their retries and name."""
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with EngineLogServer() as engine, PluginProcess(engine.address, env=NO_ENV) as process:
        checked = process.check_config(
            {"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": closed}
        )
    assert list(checked.failures) == []


def test_python_lookups_name_an_id_no_key_can_have(emulator: EmulatorHandle) -> None:
    """`pulumi_edgee.get_api_key` (the Python front door) runs this same lookup."""
    config = {"edgee:apiToken": TOKEN, "edgee:organizationId": ORGANIZATION}
    session = session_for(resolve({**config, "edgee:consoleUrl": emulator.url}, {}))
    with pytest.raises(key_finder.KeyLookupError) as failed:
        key_finder.get_api_key(session, id="..")
    assert str(failed.value) == (
        "looking up an API key failed: '..' is not an API key id: ids are the Console's "
        "(e.g. key_abc123), never empty, '.' or '..'"
    )
