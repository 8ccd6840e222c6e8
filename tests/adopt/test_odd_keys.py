"""Keys with odd but valid timestamps, made by other tools: a time without an offset
beside one with, and offsets that push a time past year 9999 or before year 1 in UTC.
One such key must not break a walk of the organization, the code generator, or its own
adoption (which checks before it changes anything)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pulumi_edgee.testing import ProviderCallError
from pulumi_edgee.testing.engine import EngineError
from pulumi_edgee.testing.plugin import PluginEngine

from .support import ORGANIZATION, TOKEN, Stack
from .test_generate import _generate
from .test_plugin_front_door import NO_ENV

ODD_TIMES = {
    "naive-created": {
        "created_at": "2026-01-01T00:00:00",
        "expires_at": "2026-03-02T00:00:00+00:00",
    },
    "past-9999": {"created_at": "2026-01-01T00:00:00Z", "expires_at": "9999-12-31T23:59:59-01:00"},
    "before-year-1": {"created_at": "0001-01-01T00:00:00+01:00"},
}


def _insert_odd(env: Stack) -> dict[str, str]:
    ids = {}
    for name, times in ODD_TIMES.items():
        made = env.emulator.insert_key(name=name, organization_id=ORGANIZATION, **times)
        env.leaks.add_secrets(made.get("key"))
        ids[name] = made["id"]
    return ids


def _engine(env: Stack) -> PluginEngine:
    return PluginEngine(
        config={"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": env.emulator.url},
        env=dict(NO_ENV),
    )


def test_a_walk_lists_every_odd_key_in_utc(env: Stack) -> None:
    ids = _insert_odd(env)
    engine = _engine(env)
    listed = engine.invoke("edgee:index:getApiKeys", {})
    env.leaks.record("listed", listed.result)
    by_name = {k["name"]: k for k in listed.result["keys"]}
    assert {n: by_name[n]["id"] for n in ODD_TIMES} == ids
    assert by_name["naive-created"]["createdAt"] == "2026-01-01T00:00:00Z"
    assert by_name["naive-created"]["expiresInDays"] == 60
    assert by_name["past-9999"]["expiresAt"] == "9999-12-31T23:59:59Z"
    assert by_name["before-year-1"]["createdAt"] == "0001-01-01T00:00:00Z"


def test_the_code_generator_declares_odd_keys(env: Stack) -> None:
    _insert_odd(env)
    generated = _generate(env)
    env.leaks.record("generator output", generated.stdout + generated.stderr)
    assert generated.returncode == 0, generated.stderr
    for name in ODD_TIMES:
        assert f'name="{name}"' in generated.stdout
    assert "expires_in_days=60" in generated.stdout
    # A lifetime no `expires_in_days` can declare is said, not written as code that fails.
    assert "cannot be declared" in generated.stdout
    compiled = subprocess.run(
        [sys.executable, "-c", "import ast, sys; ast.parse(sys.stdin.read())"],
        input=generated.stdout,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0


@pytest.mark.slow
def test_adopting_odd_keys_checks_before_it_changes_anything(env: Stack) -> None:
    ids = _insert_odd(env)
    engine = _engine(env)
    steps = engine.up(
        {
            "naive": {"adoptId": ids["naive-created"], "name": "naive", "expiresInDays": 60},
            "early": {"adoptId": ids["before-year-1"], "name": "early"},
        }
    )
    assert [(s.name, s.op) for s in steps] == [("naive", "create"), ("early", "create")]
    assert env.live()[ids["naive-created"]]["name"] == "naive"
    assert env.live()[ids["before-year-1"]]["name"] == "early"
    env.leaks.add_secrets(*(s.outputs.get("key") for s in steps))

    with pytest.raises((EngineError, ProviderCallError)) as refused:
        engine.up({"late": {"adoptId": ids["past-9999"], "name": "late"}})
    assert "expiresInDays" in str(refused.value), "in the schema's words"
    assert env.live()[ids["past-9999"]]["name"] == "past-9999", "nothing was changed"
    env.leaks.record_all("plugin stderr", engine.stderr)
