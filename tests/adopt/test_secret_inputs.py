"""Inputs given as Pulumi secrets never appear in plain text in an error, a check failure
or a log line, through either front door: the dynamic provider (told which inputs are
secret by `ApiKey`) and the plugin (which receives them marked)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime import rpc

from pulumi_edgee.testing import ProviderCallError
from pulumi_edgee.testing.engine import EngineError
from pulumi_edgee.testing.plugin import PluginEngine

from .support import ORGANIZATION, PROGRAMS, TOKEN, Stack, set_keys
from .test_plugin_front_door import NO_ENV

KEYS = r"/v1/organizations/[^/]+/api_keys"
# Every string input, with values a failure would quote: invalid ones (check), valid
# ones (a create the Console fails), a key id that does not exist (adoption).
INVALID = {
    "name": "svc-hidden-name-7f3a",
    "type": "hidden-type-x",
    "coding_assistant": "hidden-assistant",
    "models": ["hidden model with spaces"],
    "email": "hidden-not-an-email",
}
VALID = {
    "name": "svc-hidden-name-7f3a",
    "models": ["openai/hidden-model-9"],
    "email": "hidden.owner@example.org",
}
ADOPTING = {"name": "svc-hidden-name-7f3a", "adopt_id": "key_hiddenadopt7"}
WIRE = {"coding_assistant": "codingAssistant", "adopt_id": "adoptId"}


def _values(props: dict[str, Any]) -> list[str]:
    return [v for value in props.values() for v in (value if isinstance(value, list) else [value])]


def _dynamic(env: Stack, props: dict[str, Any], *, preview: bool) -> str:
    stack = env.runner(PROGRAMS / "secret_inputs")
    set_keys(stack, {"k": props})
    stack.set_config("secret_inputs", json.dumps(list(props)))
    result = stack.preview() if preview else stack.up()
    assert result.error is not None, "the step should have failed"
    env.leaks.record("step error", result.error)
    env.leaks.record("provider output", result.logs)
    env.leaks.record("exported state", stack.export_state())
    return str(result.error)


@pytest.mark.slow
def test_the_dynamic_provider_keeps_secret_inputs_out_of_failures(env: Stack) -> None:
    for props in (INVALID, VALID, ADOPTING):
        env.leaks.add_secrets(*_values(props))
    assert "***" in _dynamic(env, INVALID, preview=True)
    assert "cannot be adopted" in _dynamic(env, ADOPTING, preview=True)
    env.emulator.add_fault("server_error", method="POST", path=KEYS, count=None)
    assert "creating API key" in _dynamic(env, VALID, preview=False)
    assert env.emulator.keys() == []


def _plugin(env: Stack, engine: PluginEngine, props: dict[str, Any]) -> str:
    secret = {WIRE.get(k, k): rpc.wrap_rpc_secret(v) for k, v in props.items()}
    with pytest.raises((EngineError, ProviderCallError)) as failed:
        engine.up({"k": secret})
    env.leaks.record("plugin failure", str(failed.value))
    return str(failed.value)


@pytest.mark.slow
def test_the_plugin_keeps_secret_inputs_out_of_failures(env: Stack) -> None:
    for props in (INVALID, VALID, ADOPTING):
        env.leaks.add_secrets(*_values(props))
    engine = PluginEngine(
        config={"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": env.emulator.url},
        env=dict(NO_ENV),
    )
    assert "***" in _plugin(env, engine, INVALID)
    assert "cannot be adopted" in _plugin(env, engine, ADOPTING)
    env.emulator.add_fault("server_error", method="POST", path=KEYS, count=None)
    assert "creating API key" in _plugin(env, engine, VALID)
    with pytest.raises(ProviderCallError) as missing:
        engine.invoke("edgee:index:getApiKey", {"name": rpc.wrap_rpc_secret(VALID["name"])})
    assert "has no API key named '***'" in missing.value.details
    env.leaks.record_all("engine log", engine.logs)
    env.leaks.record_all("plugin stderr", engine.stderr)
    assert env.emulator.keys() == []
