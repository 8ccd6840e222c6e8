"""Write the state fixture of a release: run once with that release's code on the path.

    PYTHONPATH=/path/to/release/checkout python tests/packaging/make_state_fixture.py 0.1.0

`pulumi up` of `programs/release_state` against an emulator that keeps its keys in a state
file, then saves, under `fixtures/release-<version>/`, the stack as `pulumi stack export
--show-secrets` prints it (`stack.json`) and the emulator's keys (`emulator.json`).
`test_state_contract.py` replays them through today's provider. The token is a fixed test
value and is in neither file.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pulumi_edgee
from pulumi_edgee.testing import ResourceState, run_emulator
from pulumi_edgee.testing.program import ProgramRunner
from pulumi_edgee.testing.provider_server import ProviderServer

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "programs" / "release_state"
TOKEN = "tok_release_state_0c1d2e3f"
ORGANIZATION = "org_1"
# How `pulumi stack export --show-secrets` writes a secret value.
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


def shown(values: dict[str, Any], secrets: frozenset[str]) -> dict[str, Any]:
    return {
        k: {**SECRET_SIG, "plaintext": json.dumps(v)} if k in secrets else v
        for k, v in values.items()
    }


def exported(res: ResourceState) -> dict[str, Any]:
    doc: dict[str, Any] = {"urn": res.urn, "custom": res.custom, "type": res.type}
    if res.id:
        doc["id"] = res.id
    doc["inputs"] = shown(res.inputs, res.secret_inputs)
    doc["outputs"] = shown(res.outputs, res.secret_outputs)
    if res.parent:
        doc["parent"] = res.parent
    if res.dependencies:
        doc["dependencies"] = list(res.dependencies)
    if res.additional_secret_outputs:
        doc["additionalSecretOutputs"] = list(res.additional_secret_outputs)
    return doc


def main(version: str) -> None:
    if pulumi_edgee.__file__ is None or HERE.parents[1] in Path(pulumi_edgee.__file__).parents:
        raise SystemExit("put the release's checkout first on PYTHONPATH")
    out = HERE / "fixtures" / f"release-{version}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        state_file = Path(tmp) / "emulator.json"
        with (
            run_emulator(token=TOKEN, organization_id=ORGANIZATION, state_file=state_file) as emu,
            ProviderServer(project="release-state", cwd=PROGRAM) as server,
        ):
            stack = ProgramRunner(
                PROGRAM,
                server,
                {"edgee:apiToken": TOKEN, "edgee:consoleUrl": emu.url},
                secret_config_keys=["edgee:apiToken"],
            )
            result = stack.up()
            if result.error is not None:
                raise SystemExit(f"up failed: {result.error}")
            resources = [exported(r) for r in stack.state.resources]
        shutil.copyfile(state_file, out / "emulator.json")
    checkpoint = {
        "version": 3,
        "deployment": {
            "manifest": {"pulumi-edgee": version, "written-by": Path(__file__).name},
            "resources": resources,
        },
    }
    (out / "stack.json").write_text(json.dumps(checkpoint, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
