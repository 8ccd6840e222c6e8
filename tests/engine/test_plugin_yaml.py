"""examples/yaml (the provider plugin) run by the real `pulumi` and its YAML language host."""

from __future__ import annotations

import json

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack
from pulumi_edgee.testing.gateway import ask_gateway

from .support import console_writes, disable_in_console, edit_file, live_keys


def test_yaml_example_lifecycle_through_the_cli(
    yaml_example: CliStack, emulator: EmulatorHandle
) -> None:
    shared = live_keys(emulator)["Shared Staging Key"]

    preview = yaml_example.preview()
    assert preview.changes() == {"backend": "create", "assistant": "create"}
    assert console_writes(emulator) == []

    assert yaml_example.up().changes() == {"backend": "create", "assistant": "create"}
    keys = live_keys(emulator)
    backend = keys["Production Backend"]
    assert keys["Claude Code"]["type"] == "coding_agent"

    outputs = yaml_example.outputs(show_secrets=True)
    assert outputs["backendKey"] == backend["key"]
    assert outputs["sharedKey"] == shared["key"]  # the lookup with reveal: true
    assert outputs["teamKeys"][0]["name"] == "team-search"
    assert yaml_example.outputs()["backendKey"] == "[secret]"
    assert yaml_example.outputs()["sharedKey"] == "[secret]"
    exported = json.dumps(yaml_example.export())
    for key in live_keys(emulator).values():
        assert str(key["key"]) not in exported

    # a changed property is an in-place update, the detailed diff names it.
    edit_file(yaml_example.project_dir / "Pulumi.yaml", "maxUsage: 1000", "maxUsage: 500")
    preview = yaml_example.preview("--diff")
    assert preview.changes() == {"backend": "update"}
    assert yaml_example.up().changes() == {"backend": "update"}
    assert live_keys(emulator)["Production Backend"]["max_usage"] == 500
    assert live_keys(emulator)["Production Backend"]["id"] == backend["id"]

    # use alone is not drift.
    assert ask_gateway(emulator.url, str(backend["key"]), "openai/gpt-5.2").answered
    yaml_example.preview("--expect-no-changes")
    yaml_example.refresh("--expect-no-changes")

    # disabled in the Console: found by refresh, repaired by up.
    disable_in_console(emulator, str(backend["id"]))
    drift = yaml_example.refresh("--expect-no-changes", check=False)
    assert drift.returncode != 0
    assert drift.changes() == {"backend": "update"}, drift.output
    assert yaml_example.up().changes() == {"backend": "update"}
    assert live_keys(emulator)["Production Backend"]["active"] is True

    assert yaml_example.destroy().changes() == {"backend": "delete", "assistant": "delete"}
    assert set(live_keys(emulator)) == {"Shared Staging Key", "team-search"}
