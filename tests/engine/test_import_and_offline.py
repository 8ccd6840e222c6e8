"""`pulumi import` of a key made in the Console, and the isolation every engine test runs in."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack, PulumiCli

from .support import live_keys


def test_pulumi_import_takes_a_console_key_with_its_secret(
    cli: PulumiCli, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    made = httpx.post(
        f"{emulator.organization_url}/api_keys",
        json={"name": "Made in Console", "models": ["openai/gpt-5.2"], "max_usage": 50},
        headers={"Authorization": f"Bearer {emulator.token}"},
    ).json()
    project = tmp_path / "imported"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: imported\nruntime: yaml\n")
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)

    stack.run("import", "edgee:index:ApiKey", "made", made["id"], "--yes", "--out", "code.yaml")
    state = stack.resources()["made"]
    assert state["id"] == made["id"]
    assert set(state["outputs"]["key"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}
    shown = json.dumps(json.loads(stack.run("stack", "export", "--show-secrets").stdout))
    assert made["key"] in shown

    # The code it printed, put in the program, describes the key exactly.
    code = (project / "code.yaml").read_text()
    assert "type: edgee:ApiKey" in code
    (project / "Pulumi.yaml").write_text("name: imported\nruntime: yaml\n" + code)
    stack.preview("--expect-no-changes")
    stack.up("--expect-no-changes")
    assert live_keys(emulator)["Made in Console"]["id"] == made["id"]


def test_a_command_that_reaches_for_the_internet_fails_at_once(
    cli: PulumiCli, tmp_path: Path
) -> None:
    started = time.monotonic()
    download = cli.run(
        "plugin", "install", "resource", "random", "4.16.0", cwd=tmp_path, check=False
    )
    assert download.returncode != 0
    assert "127.0.0.1:9" in download.output or "connection refused" in download.output.lower()
    assert time.monotonic() - started < 30
    assert not (cli.home / ".pulumi" / "plugins" / "resource-random-v4.16.0").exists()


def test_the_console_token_reaches_no_file_and_no_command_line(
    quickstart: CliStack, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token is set (as the fixture did) through standard input, stored as ciphertext,
    and never written into the state, whatever the commands."""
    seen: list[tuple[str, ...]] = []
    run = subprocess.run

    def spy(args: Any, **kwargs: Any) -> Any:
        seen.append(tuple(map(str, args)))
        return run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    quickstart.set_config("edgee:apiToken", emulator.token, secret=True)
    quickstart.up()
    monkeypatch.undo()
    assert seen
    assert not [args for args in seen if emulator.token in " ".join(args)]
    stack_file = (quickstart.project_dir / "Pulumi.dev.yaml").read_text()
    assert emulator.token not in stack_file
    assert "secure:" in stack_file
    assert emulator.token not in json.dumps(quickstart.export())
    shown = quickstart.run("config", "get", "edgee:apiToken").stdout.strip()
    assert shown == emulator.token
