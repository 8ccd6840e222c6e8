"""examples/go run by the real `pulumi` and its Go language host, with the Go SDK generated
from schema.json by Pulumi's own code generator (scripts/gensdk)."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack

from .conftest import ROOT
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


@pytest.mark.timeout(600)
def test_reference_pages_go_examples_compile(go_example: CliStack) -> None:
    """Each Go example of docs/reference/ compiles against the generated SDK, as the body
    of a function beside the example program."""
    snippets = [
        snippet
        for page in sorted((ROOT / "docs" / "reference").glob("*.md"))
        for snippet in re.findall(r"```go\n(.*?)```", page.read_text(), re.DOTALL)
    ]
    assert snippets
    functions = "\n".join(
        f"func referenceExample{n}(ctx *pulumi.Context) error {{\n{body}\treturn nil\n}}\n"
        for n, body in enumerate(snippets)
    )
    source = (
        'package main\n\nimport (\n\t"example.com/pulumi-edgee/sdk/go/edgee"\n'
        '\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"\n)\n\n' + functions
    )
    (go_example.project_dir / "reference_examples.go").write_text(source)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    built = subprocess.run(
        ["go", "vet", "."],
        cwd=go_example.project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
