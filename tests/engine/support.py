"""Helpers the engine tests share: what the Console holds, and changes made outside Pulumi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from pulumi_edgee.testing import EmulatorHandle

WRITES = {"POST", "DELETE"}


def live_keys(emulator: EmulatorHandle) -> dict[str, dict[str, Any]]:
    """The Console's keys by name (secrets included, as the emulator's admin view has them)."""
    return {key["name"]: key for key in emulator.keys()}


def console_writes(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] in WRITES]


def disable_in_console(emulator: EmulatorHandle, key_id: str) -> None:
    """Disable a key the way a person does in the Console (its API), not through Pulumi."""
    response = httpx.post(
        f"{emulator.organization_url}/api_keys/{key_id}",
        json={"active": False},
        headers={"Authorization": f"Bearer {emulator.token}"},
    )
    assert response.status_code == 200, response.text


def edit_file(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new))
