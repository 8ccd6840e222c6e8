"""`python -m pulumi_edgee.adopt`: 20 keys made in the Console, the generated code pasted
into a program, one `up`, and the stack owns all 20 with their secrets, having created,
replaced and changed nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .support import ORGANIZATION, TOKEN, Stack, ok, ops


def _console_keys(env: Stack) -> list[dict[str, object]]:
    """Twenty keys as people make them: varied settings, a duplicate name, one disabled."""
    made = []
    for n in range(14):
        made.append(
            env.console_create(
                name=f"svc-{n}",
                models=["openai/gpt-5.2"] if n % 2 else [],
                max_usage=100 * n if n else None,
                expires_in_days=30 + n if n % 3 == 0 else None,
            )
        )
    made.append(env.console_create(name="Duplicate"))
    made.append(env.console_create(name="Duplicate"))
    made.append(env.console_create(name="claude", type="coding_agent", coding_assistant="codex"))
    made.append(env.console_create(name='quote "and" backslash \\ é'))
    made.append(env.console_create(name="class"))
    disabled = env.console_create(name="disabled")
    with httpx.Client(base_url=env.emulator.organization_url, timeout=10.0) as client:
        response = client.post(
            f"/api_keys/{disabled['id']}",
            json={"active": False},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        response.raise_for_status()
    made.append(disabled)
    return made


def _generate(env: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "EDGEE_CONSOLE_URL": env.emulator.url,
        "EDGEE_ORGANIZATION_ID": ORGANIZATION,
        "EDGEE_CONSOLE_API_TOKEN": TOKEN,
    }
    return subprocess.run(
        [sys.executable, "-m", "pulumi_edgee.adopt", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_generated_code_adopts_twenty_keys_with_no_create_or_replacement(
    env: Stack, tmp_path: Path
) -> None:
    made = _console_keys(env)
    assert len(made) == 20
    before = env.live()

    generated = _generate(env)
    assert generated.returncode == 0, generated.stderr
    env.leaks.record("generated code", generated.stdout)
    program = tmp_path / "adopted"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: adopted\nruntime: python\n")
    (program / "__main__.py").write_text(generated.stdout)
    compile(generated.stdout, "generated", "exec")

    stack = env.runner(program)
    env.emulator.clear_requests()
    preview = ok(stack.preview(), env, stack)
    assert list(ops(preview).values()) == ["create"] * 20
    up = ok(stack.up(), env, stack)
    assert list(ops(up).values()) == ["create"] * 20, "20 adoptions"
    writes = [r for r in env.emulator.requests() if r["method"] != "GET"]
    assert writes == [], "no key created, replaced, changed or deleted"
    assert env.live() == before

    held = {r.id: r for r in stack.state.resources if r.type.endswith("ApiKey")}
    assert set(held) == {k["id"] for k in made}
    for key in made:
        state = held[str(key["id"])]
        assert state.outputs["key"] == key["key"], f"{key['name']}: its own secret"
        assert "key" in state.secret_outputs
    assert held[str(made[-1]["id"])].outputs["active"] is False
    assert ops(ok(stack.preview(), env, stack)) == dict.fromkeys(ops(up), "same")


@pytest.mark.slow
def test_filters_and_errors(env: Stack) -> None:
    for n in range(3):
        env.console_create(name=f"prod-{n}")
    env.console_create(name="prod-assistant", type="coding_agent", coding_assistant="codex")
    env.console_create(name="staging")
    env.emulator.insert_key(name=f"pulumi-edgee-create:{'0' * 32}:4102444800")

    generated = _generate(env, "--name-pattern", "prod-*", "--type", "api")
    assert generated.returncode == 0, generated.stderr
    env.leaks.record("generated code", generated.stdout + generated.stderr)
    assert generated.stdout.count("= ApiKey(") == 3
    assert "prod-assistant" not in generated.stdout
    assert "staging" not in generated.stdout
    assert "pulumi-edgee-create" not in _generate(env).stdout, "a create's marker is no one's"
    assert generated.stdout.count("adopt_id=") == 3

    broken = subprocess.run(
        [sys.executable, "-m", "pulumi_edgee.adopt", "--organization-id", ORGANIZATION],
        env={**os.environ, "EDGEE_CONSOLE_API_TOKEN": "", "EDGEE_CONSOLE_URL": env.emulator.url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    env.leaks.record("generator error", broken.stdout + broken.stderr)
    assert broken.returncode == 2
    assert "set $EDGEE_CONSOLE_API_TOKEN" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert "pulumi config" not in broken.stderr, "the tool reads no stack config"


def test_names_sort_with_numbers_as_numbers_and_errors_name_the_flags(env: Stack) -> None:
    for n in (10, 2, 1):
        env.console_create(name=f"svc-{n}")
    generated = _generate(env)
    env.leaks.record("generated code", generated.stdout)
    names = re.findall(r'name="(svc-[0-9]+)"', generated.stdout)
    assert names == ["svc-1", "svc-2", "svc-10"]

    elsewhere = _generate(env, "--organization-id", "org_elsewhere")
    env.leaks.record("generator error", elsewhere.stderr)
    assert elsewhere.returncode == 2
    assert "--organization-id" in elsewhere.stderr
    assert "edgee:organizationId" not in elsewhere.stderr
