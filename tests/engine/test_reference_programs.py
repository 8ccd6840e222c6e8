"""The reference pages' YAML programs run as written under the real CLI, against the
emulator: `pulumi up` makes what they declare and answers what they look up, `destroy`
leaves nothing. (Their Python, TypeScript and Go are checked against the package and
compiled elsewhere; the secret-delivery guide's programs need providers this machine
does not have, and are checked against the schema.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack, PulumiCli

from .conftest import ROOT

PAGES = sorted((ROOT / "docs" / "reference").glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_pages_yaml_program_runs(
    page: Path, cli: PulumiCli, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", page.read_text(), re.DOTALL)
    # What the functions' example looks up exists, as it would in a real organization.
    emulator.insert_key(name="Shared Staging Key", organization_id=emulator.organization_id)
    emulator.insert_key(name="team-search", organization_id=emulator.organization_id)
    project = tmp_path / page.stem
    project.mkdir()
    program = {"name": page.stem, "runtime": "yaml", **yaml.safe_load(block)}
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    try:
        stack.up()
        declared = set(program.get("resources", {}))
        assert set(stack.resources()) == declared
        names = {k["name"] for k in emulator.keys()}
        for resource in program.get("resources", {}).values():
            assert resource["properties"]["name"] in names
        outputs = stack.outputs(show_secrets=True)
        assert set(outputs) == set(program["outputs"])
        assert all(value not in (None, "", []) for value in outputs.values()), outputs
    finally:
        stack.destroy(check=False)
    assert {k["name"] for k in emulator.keys()} == {"Shared Staging Key", "team-search"}
