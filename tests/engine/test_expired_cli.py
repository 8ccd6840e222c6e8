"""An expired key under the real CLI: refresh and preview show a warning under the key
(once each), the `expired` output says so, and nothing is changed by it."""

from __future__ import annotations

import shutil
from pathlib import Path

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack, PulumiCli

PROGRAM = Path(__file__).parent / "programs" / "expired_yaml"


def test_refresh_and_preview_warn_about_an_expired_key(
    cli: PulumiCli, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    project = tmp_path / "expired"
    shutil.copytree(PROGRAM, project)
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    try:
        emulator.set_clock_offset(-3 * 86400)  # made three days ago: expired two days ago
        stack.up()
        emulator.set_clock_offset(0)
        (key,) = emulator.keys()
        warning = f"warning: API key {key['id']} expired at"
        for command in (("refresh", "--yes"), ("preview",)):
            run = stack.run(*command)
            diagnostics = run.stdout.split("Diagnostics:")[1]
            under_the_key = diagnostics.split("edgee:index:ApiKey (backend):")[1]
            assert under_the_key.split("\n\n")[0].count(warning) == 1, run.stdout
        assert stack.outputs() == {"expired": True}
        assert stack.preview().changes() == {}
    finally:
        stack.destroy(check=False)
