"""The report with real `pulumi stack export` files: a YAML stack (the plugin's resources)
and the Python quickstart (dynamic resources) manage their keys; a key made outside any
stack is the one `unmanaged`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack

from .test_policy_pack import PROGRAMS


def test_report_knows_the_keys_stacks_manage(
    quickstart: CliStack, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    yaml_project = tmp_path / "yaml"
    shutil.copytree(PROGRAMS / "policy_yaml_compliant", yaml_project)
    yaml_stack = CliStack(quickstart.cli, yaml_project).init()
    yaml_stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    try:
        yaml_stack.up()
        quickstart.up()
        outside = emulator.insert_key(name="made-by-hand", organization_id=emulator.organization_id)
        exports = []
        for stack in (yaml_stack, quickstart):
            path = tmp_path / f"{stack.project_dir.name}.json"
            path.write_text(json.dumps(stack.export()))
            exports += ["--stack-export", str(path)]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("EDGEE_")}
        environ.update(
            {
                "EDGEE_CONSOLE_URL": emulator.url,
                "EDGEE_ORGANIZATION_ID": emulator.organization_id,
                "EDGEE_CONSOLE_API_TOKEN": emulator.token,
            }
        )
        run = subprocess.run(
            [sys.executable, "-m", "pulumi_edgee.report", "--json", *exports],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        keys = {k["id"]: k for k in json.loads(run.stdout)["keys"]}
        unmanaged = {i for i, k in keys.items() if "unmanaged" in k["findings"]}
        assert unmanaged == {outside["id"]}
        stacks = {h["stack"] for k in keys.values() for h in k["stacks"]}
        assert stacks == {"policy-compliant/dev", "edgee-quickstart/dev"}
        managed = len(yaml_stack.resources()) + len(quickstart.resources())
        assert sum(bool(k["stacks"]) for k in keys.values()) == managed == len(keys) - 1
    finally:
        yaml_stack.destroy(check=False)
