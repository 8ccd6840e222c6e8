"""examples/quickstart (the dynamic provider) run by the real `pulumi`, against the emulator."""

from __future__ import annotations

import json

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack
from pulumi_edgee.testing.gateway import ask_gateway

from .support import console_writes, disable_in_console, live_keys


def test_quickstart_lifecycle_through_the_cli(
    quickstart: CliStack, emulator: EmulatorHandle
) -> None:
    # preview: two creates proposed, no Console write.
    preview = quickstart.preview()
    assert preview.steps() == {"backend": "create", "claude-code": "create"}
    assert console_writes(emulator) == []
    assert emulator.keys() == []

    # up: both keys made as declared.
    up = quickstart.up()
    assert up.steps() == {"backend": "create", "claude-code": "create"}
    keys = live_keys(emulator)
    assert set(keys) == {"Production Backend", "Claude Code - platform team"}
    backend = keys["Production Backend"]
    assert backend["max_usage"] == 1000
    assert backend["active"] is True

    # the secret: plain with --show-secrets, only ciphertext in the exported state.
    outputs = quickstart.outputs(show_secrets=True)
    assert outputs["backendKeyId"] == backend["id"]
    assert outputs["backendKey"] == backend["key"]
    assert outputs["assistantKey"] == keys["Claude Code - platform team"]["key"]
    masked = quickstart.outputs()
    assert masked["backendKey"] == "[secret]"
    exported = json.dumps(quickstart.export())
    for key in keys.values():
        assert str(key["key"]) not in exported
    assert exported.count('"ciphertext"') >= 4  # two keys' `key`, two stack outputs

    # a config change is an in-place update of that key alone.
    quickstart.set_config("backendMaxUsage", "500")
    assert quickstart.preview().changes() == {"backend": "update"}
    assert quickstart.up().steps() == {"backend": "update", "claude-code": "same"}
    backend = live_keys(emulator)["Production Backend"]
    assert backend["id"] == outputs["backendKeyId"]
    assert backend["max_usage"] == 500

    # used at the Gateway: no drift; preview and refresh expect no changes and get none.
    assert ask_gateway(emulator.url, str(backend["key"]), "openai/gpt-5.2").answered
    assert live_keys(emulator)["Production Backend"]["last_used_at"] is not None
    quickstart.preview("--expect-no-changes")
    quickstart.refresh("--expect-no-changes")

    # disabled in the Console: refresh finds it (and names it), the next up repairs it.
    disable_in_console(emulator, str(backend["id"]))
    drift = quickstart.refresh("--expect-no-changes", check=False)
    assert drift.returncode != 0
    assert drift.steps().get("backend") == "update", drift.output
    assert quickstart.resources()["backend"]["outputs"]["active"] is False
    assert quickstart.preview().changes() == {"backend": "update"}
    assert quickstart.up().steps() == {"backend": "update", "claude-code": "same"}
    assert live_keys(emulator)["Production Backend"]["active"] is True
    quickstart.preview("--expect-no-changes")

    # destroy leaves nothing.
    destroy = quickstart.destroy()
    assert destroy.steps() == {"backend": "delete", "claude-code": "delete"}
    assert emulator.keys() == []
    assert quickstart.resources() == {}
