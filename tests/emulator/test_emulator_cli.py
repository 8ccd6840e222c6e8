"""`python -m pulumi_edgee.emulator` as a separate process, and spawn_emulator."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pulumi_edgee.testing import spawn_emulator

TOKEN = "tok_cli_secret_9876543210"
ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def start(*args: str, env: dict[str, str] = ENV) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pulumi_edgee.emulator", *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )


def run(*args: str, env: dict[str, str] = ENV) -> tuple[int, bytes, bytes]:
    process = start(*args, env=env)
    stdout, stderr = process.communicate(timeout=30)
    return process.returncode, stdout, stderr


def first_line(process: subprocess.Popen[bytes], timeout: float = 15.0) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout), "the emulator printed nothing"
    return process.stdout.readline().decode()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_prints_the_url_first_serves_and_exits_cleanly_on_signal(
    stop_signal: signal.Signals,
) -> None:
    process = start("--port", "0", "--token", TOKEN, "--organization-id", "org_1")
    try:
        url = first_line(process).rstrip("\n")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        api = f"{url}/v1/organizations/org_1/api_keys"
        assert httpx.get(api, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(api, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    assert TOKEN.encode() not in stdout + stderr
    assert stdout == b""  # nothing after the URL line


def test_refuses_a_non_loopback_host() -> None:
    host = "0.0.0.0"  # noqa: S104 - the address being refused
    status, stdout, stderr = run("--host", host, "--token", TOKEN, "--organization-id", "org_1")
    assert status == 1
    assert b"loopback" in stderr
    assert stdout == b""
    assert TOKEN.encode() not in stderr


def test_requires_a_token() -> None:
    env = {k: v for k, v in ENV.items() if k != "EDGEE_EMULATOR_TOKEN"}
    status, _, stderr = run("--organization-id", "org_1", env=env)
    assert status == 2
    assert b"--token" in stderr


def test_spawn_emulator_with_options(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with spawn_emulator(
        token=TOKEN,
        organization_id="org_1",
        read_only_token="tok_read_only",
        serve_key_get=True,
        state_file=state,
    ) as emu:
        assert TOKEN not in repr(emu.process.args)
        with httpx.Client(
            base_url=emu.organization_url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as api:
            key = api.post("/api_keys", json={"name": "spawned"}).json()
            assert api.get(f"/api_keys/{key['id']}").status_code == 200
        read_only = {"Authorization": "Bearer tok_read_only"}
        assert httpx.get(emu.organization_url + "/api_keys", headers=read_only).status_code == 200
        assert (
            httpx.delete(f"{emu.organization_url}/api_keys/{key['id']}", headers=read_only)
        ).status_code == 403
        assert [k["name"] for k in emu.keys()] == ["spawned"]
        process = emu.process
    assert process.returncode == 0
    assert [k["name"] for k in json.loads(state.read_text())["keys"]] == ["spawned"]


def test_spawn_emulator_reports_a_failed_start() -> None:
    with (
        pytest.raises(RuntimeError, match=r"did not start.*loopback"),
        spawn_emulator(token=TOKEN, organization_id="org_1", host="10.0.0.1"),
    ):
        pass
