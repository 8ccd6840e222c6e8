"""Adoption and rotation through the provider plugin (the front door of every other
language), a fresh plugin process per command, against the emulator: the same rules as
the dynamic provider, including a rotation of an adopted key whose `adoptId` stays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pulumi_edgee.testing.plugin import PluginEngine

from .support import ORGANIZATION, TOKEN, Stack

NO_ENV = {
    "EDGEE_CONSOLE_API_TOKEN": "",
    "EDGEE_ORGANIZATION_ID": "",
    "EDGEE_CONSOLE_URL": "",
    "EDGEE_READ_REUSE_SECONDS": "0",
}


@pytest.mark.slow
def test_adopt_then_rotate_through_the_plugin(env: Stack) -> None:
    env.clock.offset = -timedelta(days=25)
    made = env.console_create(name="legacy", expires_in_days=30)
    env.clock.offset = timedelta()
    engine = PluginEngine(
        config={"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": env.emulator.url},
        env=dict(NO_ENV),
    )
    declared = {"adoptId": made["id"], "name": "legacy", "expiresInDays": 30}

    steps = engine.up({"legacy": declared})
    assert [(s.name, s.op) for s in steps] == [("legacy", "create")]
    assert engine.state["legacy"].id == made["id"]
    assert steps[0].outputs["key"] == made["key"]
    assert "key" in steps[0].secret_keys
    assert env.creates() == 1, "only the Console's create"

    # Due in 5 days: rotating it with `adoptId` still declared makes a new key.
    steps = engine.up({"legacy": {**declared, "rotateBeforeExpiryDays": 7}})
    assert [(s.name, s.op) for s in steps] == [("legacy", "replace")]
    new = engine.state["legacy"].id
    assert new != made["id"]
    assert list(env.live()) == [new]
    env.leaks.add_secrets(*(s.outputs.get("key") for s in steps))
    env.leaks.record_all("engine log", engine.logs)
    env.leaks.record_all("plugin stderr", engine.stderr)
    assert [s.op for s in engine.up({"legacy": {**declared, "rotateBeforeExpiryDays": 7}})] == [
        "same"
    ]
