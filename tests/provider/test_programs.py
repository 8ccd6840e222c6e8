"""Unchanged Pulumi programs run through the engine-faithful runner and the real provider
server: the quickstart end to end, and a config-driven program for the flows that need
resources added, changed and removed between runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pulumi_edgee.testing import (
    EmulatorHandle,
    LeakDetector,
    edgee_config,
    is_access_probe,
    run_emulator,
)
from pulumi_edgee.testing.engine import SECRET_CONFIG_KEYS
from pulumi_edgee.testing.program import UNKNOWN_VALUE, ProgramRunner, RunResult

from .support import ORGANIZATION, TOKEN

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
PROGRAMS = Path(__file__).resolve().parent / "programs"
KEYS_PROGRAM = PROGRAMS / "keys"


@pytest.fixture
def stack_env() -> Iterator[tuple[EmulatorHandle, LeakDetector]]:
    leaks = LeakDetector()
    leaks.add_secrets(TOKEN)
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator:
        yield emulator, leaks
        leaks.add_secrets(*(k["key"] for k in emulator.keys()))
    leaks.assert_clean()


def runner(program: Path, emulator: EmulatorHandle) -> ProgramRunner:
    """A stack whose every command runs in a provider process of its own, as the CLI's."""
    return ProgramRunner(
        program,
        config=edgee_config(emulator.url, token=TOKEN, organization=ORGANIZATION),
        secret_config_keys=SECRET_CONFIG_KEYS,
    )


def ok(result: RunResult, leaks: LeakDetector, stack: ProgramRunner) -> RunResult:
    """Fail on an error; record everything the step serialized for the leak search."""
    assert result.error is None, result.error
    leaks.record(f"provider output during {result.operation}", result.logs)
    for output in result.outputs.values():
        if output.secret:
            if output.known:
                leaks.add_secrets(str(output.value))
        else:
            leaks.record("plain stack output", output.value)
    leaks.record("exported state", stack.export_state())
    for res in stack.state.resources:
        leaks.record(
            f"plain outputs of {res.name}",
            {k: v for k, v in res.outputs.items() if k not in res.secret_outputs},
        )
        if "key" in res.outputs:
            assert "key" in res.secret_outputs, f"{res.name}: `key` must be secret in state"
            leaks.add_secrets(res.outputs["key"])
    return result


def ops(result: RunResult) -> dict[str, str]:
    """The first step per key resource (a replacement's deferred delete comes later)."""
    first: dict[str, str] = {}
    for step in result.steps:
        if "edgee:ApiKey" in step.urn:
            first.setdefault(step.name, step.op)
    return first


def live(emulator: EmulatorHandle) -> dict[str, dict[str, Any]]:
    return {k["id"]: k for k in emulator.keys()}


@pytest.mark.slow
def test_quickstart_lifecycle(
    stack_env: tuple[EmulatorHandle, LeakDetector],
) -> None:
    emulator, leaks = stack_env
    stack = runner(QUICKSTART, emulator)

    preview = ok(stack.preview(), leaks, stack)
    assert ops(preview) == {"backend": "create", "claude-code": "create"}
    touched = [r for r in emulator.requests() if not is_access_probe(r)]
    assert touched == [], "a preview touches no key (the access check reads one)"
    assert set(preview.calls) <= {"GetPluginInfo", "Configure", "Check", "Diff"}

    up = ok(stack.up(), leaks, stack)
    assert ops(up) == {"backend": "create", "claude-code": "create"}
    keys = live(emulator)
    backend = stack.state.get("backend")
    assert set(keys) == {backend.id, stack.state.get("claude-code").id}
    assert up.outputs["backendKey"].secret
    assert up.outputs["assistantKey"].secret
    assert up.outputs["backendKey"].value == keys[backend.id]["key"]
    assert keys[backend.id]["max_usage"] == 1000
    assert keys[stack.state.get("claude-code").id]["coding_assistant"] == "claude_code"

    assert ops(ok(stack.up(), leaks, stack)) == {"backend": "same", "claude-code": "same"}

    stack.set_config("backendMaxUsage", 2500)
    changed = ok(stack.up(), leaks, stack)
    assert ops(changed) == {"backend": "update", "claude-code": "same"}
    assert live(emulator)[backend.id]["max_usage"] == 2500
    assert stack.state.get("backend").id == backend.id

    refreshed = ok(stack.refresh(), leaks, stack)
    assert set(ops(refreshed).values()) == {"refresh"}
    assert stack.state.get("backend").outputs["key"] == keys[backend.id]["key"]

    destroyed = ok(stack.destroy(), leaks, stack)
    assert ops(destroyed) == {"backend": "delete", "claude-code": "delete"}
    assert emulator.keys() == []


@pytest.mark.slow
def test_replacement_creates_before_deleting_and_removed_keys_are_deleted(
    stack_env: tuple[EmulatorHandle, LeakDetector],
) -> None:
    emulator, leaks = stack_env
    stack = runner(KEYS_PROGRAM, emulator)
    keys = {
        "ci": {"name": "ci", "models": ["openai/gpt-5.2"]},
        "bot": {"name": "bot", "max_usage": 5},
        "old": {"name": "old"},
    }
    stack.set_config("keys", json.dumps(keys))
    ok(stack.up(), leaks, stack)
    first_ci = stack.state.get("ci")
    first_bot = stack.state.get("bot")

    keys["ci"] = {"name": "ci", "type": "coding_agent", "coding_assistant": "codex"}
    keys["bot"] = {"name": "bot renamed", "max_usage": 6, "active": False}
    del keys["old"]
    stack.set_config("keys", json.dumps(keys))
    assert ops(ok(stack.preview(), leaks, stack)) == {
        "ci": "replace",
        "bot": "update",
        "old": "delete",
    }
    up = ok(stack.up(), leaks, stack)
    assert ops(up) == {"ci": "replace", "bot": "update", "old": "delete"}
    calls = [c for s in up.steps if s.name == "ci" for c in s.calls]
    assert calls.index("Create") < calls.index("Delete"), "create before delete"
    new_ci = stack.state.get("ci")
    assert new_ci.id != first_ci.id
    remaining = live(emulator)
    assert set(remaining) == {new_ci.id, first_bot.id}, "no orphan, nothing left behind"
    assert remaining[first_bot.id]["active"] is False
    assert up.outputs["ci-key"].value == remaining[new_ci.id]["key"]


@pytest.mark.slow
def test_delete_before_replace_and_out_of_band_deletion(
    stack_env: tuple[EmulatorHandle, LeakDetector],
) -> None:
    emulator, leaks = stack_env
    stack = runner(KEYS_PROGRAM, emulator)
    keys: dict[str, dict[str, Any]] = {
        "swap": {"name": "swap", "expires_in_days": 30, "delete_before_replace": True},
        "gone": {"name": "gone"},
    }
    stack.set_config("keys", json.dumps(keys))
    ok(stack.up(), leaks, stack)
    old_swap = stack.state.get("swap").id
    keys["swap"]["expires_in_days"] = 60
    stack.set_config("keys", json.dumps(keys))
    calls = [c for s in ok(stack.up(), leaks, stack).steps if s.name == "swap" for c in s.calls]
    assert calls.index("Delete") < calls.index("Create"), "delete before create when asked"
    assert old_swap not in live(emulator)

    gone = stack.state.get("gone").id
    with httpx.Client(
        base_url=emulator.organization_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as api:
        api.delete(f"/api_keys/{gone}").raise_for_status()
    assert ops(ok(stack.refresh(), leaks, stack))["gone"] == "refresh-delete"
    assert "gone" not in stack.state.names()
    assert ops(ok(stack.up(), leaks, stack))["gone"] == "create", "the next up repairs"
    ok(stack.destroy(), leaks, stack)
    assert emulator.keys() == []


def test_bad_input_fails_the_preview_with_the_property_named(
    stack_env: tuple[EmulatorHandle, LeakDetector],
) -> None:
    emulator, leaks = stack_env
    stack = runner(KEYS_PROGRAM, emulator)
    stack.set_config("keys", json.dumps({"agent": {"name": "a", "type": "coding_agent"}}))
    result = stack.preview()
    assert result.error is not None
    leaks.record("check failure", result.error)
    leaks.record("provider output", result.logs)
    assert "coding_assistant: required when type is `coding_agent`" in str(result.error)
    assert [r for r in emulator.requests() if not is_access_probe(r)] == []


@pytest.mark.slow
def test_a_config_change_reaches_the_next_command(
    stack_env: tuple[EmulatorHandle, LeakDetector],
) -> None:
    """As with the CLI, fixing a wrong token with `pulumi config set` fixes the next run."""
    emulator, leaks = stack_env
    stack = runner(QUICKSTART, emulator)
    stack.set_config("edgee:apiToken", "tok_wrong_0000", secret=True)
    failed = stack.up()
    assert failed.error is not None
    assert "401" in str(failed.error) or "token" in str(failed.error).lower()
    assert emulator.keys() == []
    stack.set_config("edgee:apiToken", TOKEN, secret=True)
    up = ok(stack.up(), leaks, stack)
    assert ops(up) == {"backend": "create", "claude-code": "create"}
    assert len(emulator.keys()) == 2
    ok(stack.destroy(), leaks, stack)


def test_preview_outputs_are_unknown_and_keep_their_secretness(
    stack_env: tuple[EmulatorHandle, LeakDetector],
) -> None:
    emulator, leaks = stack_env
    stack = runner(QUICKSTART, emulator)
    preview = ok(stack.preview(), leaks, stack)
    assert preview.outputs["backendKeyId"].value is UNKNOWN_VALUE
    assert str(preview.outputs["backendKeyId"]) == "[unknown]"
    assert preview.outputs["backendKey"].secret, "the key stays secret while unknown"
    assert preview.outputs["assistantKey"].secret


def test_outputs_have_their_declared_python_types(
    stack_env: tuple[EmulatorHandle, LeakDetector],
) -> None:
    emulator, leaks = stack_env
    stack = runner(PROGRAMS / "types", emulator)
    up = ok(stack.up(), leaks, stack)
    types = {name: output.value for name, output in up.outputs.items()}
    assert types == {
        "max_usage": "int",
        "expires_in_days": "int",
        "active": "bool",
        "models": "list",
        "name": "str",
    }
    ok(stack.destroy(), leaks, stack)
