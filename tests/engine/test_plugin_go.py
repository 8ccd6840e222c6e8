"""examples/go run by the real `pulumi` and its Go language host, with the Go SDK generated
from schema.json by Pulumi's own code generator (scripts/gensdk)."""

from __future__ import annotations

import json

import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack

from .support import live_keys


@pytest.mark.timeout(600)  # the host compiles the program with the Pulumi Go SDK first
def test_go_example_up_and_destroy_through_the_cli(
    go_example: CliStack, emulator: EmulatorHandle
) -> None:
    assert go_example.up().changes() == {"backend": "create"}
    backend = live_keys(emulator)["Production Backend"]
    assert backend["models"] == ["openai/gpt-5.2"]
    assert backend["max_usage"] == 1000
    outputs = go_example.outputs(show_secrets=True)
    assert outputs == {"backendId": backend["id"], "backendKey": backend["key"]}
    assert go_example.outputs()["backendKey"] == "[secret]"
    assert str(backend["key"]) not in json.dumps(go_example.export())
    go_example.preview("--expect-no-changes")

    assert go_example.destroy().changes() == {"backend": "delete"}
    assert live_keys(emulator) == {}
