"""examples/typescript run by the real `pulumi` and its Node.js language host, with the SDK
generated from schema.json by Pulumi's own code generator (scripts/gensdk)."""

from __future__ import annotations

import json

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack

from .support import console_writes, edit_file, live_keys


def test_typescript_example_lifecycle_through_the_cli(
    typescript_example: CliStack, emulator: EmulatorHandle
) -> None:
    shared = live_keys(emulator)["Shared Staging Key"]
    assert typescript_example.preview().changes() == {"backend": "create", "assistant": "create"}
    assert console_writes(emulator) == []

    assert typescript_example.up().changes() == {"backend": "create", "assistant": "create"}
    backend = live_keys(emulator)["Production Backend"]
    assert live_keys(emulator)["Claude Code"]["coding_assistant"] == "claude_code"
    outputs = typescript_example.outputs(show_secrets=True)
    assert outputs["backendKey"] == backend["key"]
    assert outputs["sharedKey"] == shared["key"]
    assert outputs["assistantOrganization"] == emulator.organization_id
    assert outputs["teamKeyIds"] == []
    masked = typescript_example.outputs()
    assert masked["backendKey"] == masked["sharedKey"] == "[secret]"
    exported = json.dumps(typescript_example.export())
    assert str(backend["key"]) not in exported
    assert str(shared["key"]) not in exported

    edit_file(typescript_example.project_dir / "index.ts", "maxUsage: 1000", "maxUsage: 500")
    assert typescript_example.up().changes() == {"backend": "update"}
    assert live_keys(emulator)["Production Backend"]["max_usage"] == 500
    typescript_example.preview("--expect-no-changes")

    destroyed = typescript_example.destroy().changes()
    assert destroyed == {"backend": "delete", "assistant": "delete"}
    assert set(live_keys(emulator)) == {"Shared Staging Key"}
