"""`RotatingApiKey` under the real CLI, through the plugin (YAML) and the dynamic resource
(Python): a stack whose `rotatedAt` is older than `rotate_every_days` rotates on `up`, keeps
the previous key until `previousRetiresAt`, and the next `up` after it deletes that key.

Time passes through the state's timestamps, moved back with `pulumi stack export` /
`pulumi stack import`: `rotatedAt` to age the key, `previousRetiresAt` to end the grace
period."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack, PulumiCli

PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture(params=["rotating_yaml", "rotating_python"])
def stack(
    request: pytest.FixtureRequest,
    cli: PulumiCli,
    emulator: EmulatorHandle,
    tmp_path: Path,
) -> Iterator[CliStack]:
    project = tmp_path / request.param
    shutil.copytree(PROGRAMS / request.param, project)
    if request.param.endswith("python"):
        (project / "venv").symlink_to(request.getfixturevalue("project_venv"))
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    yield stack
    stack.destroy(check=False)


def _backend(stack: CliStack) -> dict[str, object]:
    (backend,) = stack.resources().values()
    outputs: dict[str, object] = backend["outputs"]
    return outputs


def _set_time(stack: CliStack, tmp_path: Path, name: str, value: str) -> None:
    """Set the key's `name` output (a time) in the checkpoint."""
    document = stack.export()
    for resource in document["deployment"]["resources"]:
        if name in resource.get("outputs", {}):
            resource["outputs"][name] = value
    edited = tmp_path / "state.json"
    edited.write_text(json.dumps(document))
    stack.run("stack", "import", "--file", str(edited))


def test_an_old_key_rotates_and_its_previous_key_is_deleted_after_the_grace_period(
    stack: CliStack, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    stack.up()
    assert stack.preview().changes() == {}, "a new key is not due"
    eleven_days_ago = datetime.now(timezone.utc) - timedelta(days=11)
    _set_time(stack, tmp_path, "rotatedAt", eleven_days_ago.strftime("%Y-%m-%dT%H:%M:%SZ"))
    first = _backend(stack)
    resource_id = stack.resources()["backend"]["id"]

    preview = stack.preview()
    assert preview.changes() == {"backend": "update"}
    assert "rotates: it was made at" in preview.output
    assert f"its current key {first['keyId']} stays valid as the previous key" in preview.output

    up = stack.up()
    assert up.changes() == {"backend": "update"}
    rotated = _backend(stack)
    assert stack.resources()["backend"]["id"] == resource_id, "rotated in place"
    assert rotated["keyId"] != first["keyId"]
    assert rotated["previousKeyId"] == first["keyId"]
    assert {k["id"] for k in emulator.keys()} == {first["keyId"], rotated["keyId"]}
    assert stack.outputs() == {"keyId": rotated["keyId"], "previousKeyId": first["keyId"]}
    assert "ek_" not in up.output + json.dumps(stack.export()), "no secret in the clear"

    # Within the grace period, `up` keeps the previous key.
    assert stack.up().changes() == {}
    assert {k["id"] for k in emulator.keys()} == {first["keyId"], rotated["keyId"]}

    # The first `up` after `previousRetiresAt` deletes it.
    _set_time(stack, tmp_path, "previousRetiresAt", "2000-01-01T00:00:00Z")
    retired = stack.up()
    assert retired.changes() == {"backend": "update"}
    assert f"deletes its previous key {first['keyId']}: its grace period ended" in retired.output
    assert {k["id"] for k in emulator.keys()} == {rotated["keyId"]}
    assert "previousKeyId" not in _backend(stack)
    assert stack.preview().changes() == {}
