"""A Console whose every list page holds a key never seen before and says more follow:
every walk, whichever front door or tool starts it, ends by its total deadline (the
step deadline) with one clear line, instead of walking for hours."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from pulumi_edgee.testing import ProviderCallError
from pulumi_edgee.testing.engine import EngineError
from pulumi_edgee.testing.plugin import PluginEngine

from .support import ORGANIZATION, PROGRAMS, TOKEN, Stack, set_keys
from .test_plugin_front_door import NO_ENV

DEADLINE = "2"
# The walk's own budget, or the step's when the walk runs inside a step.
SAYS = re.compile(r"within the 2 s (walk|step) deadline \(EDGEE_STEP_DEADLINE_SECONDS\)")
# A walk ends within its deadline plus one request's; a command makes a few walks.
BOUND = 20.0


@pytest.fixture
def growing(env: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Programs run in this process: their lookups read the deadline from here."""
    monkeypatch.setenv("EDGEE_STEP_DEADLINE_SECONDS", DEADLINE)
    made = env.console_create(name="real")
    env.emulator.add_fault("growing_pages", count=None)
    env.leaks.add_secrets(made["key"])
    return env


@pytest.mark.slow
def test_python_lookups_end_by_the_deadline(growing: Stack) -> None:
    real = next(iter(growing.live()))
    stack = growing.runner(PROGRAMS / "lookups", keyId=real, keyName="real")
    started = time.monotonic()
    result = stack.preview()
    assert time.monotonic() - started < BOUND
    assert result.error is not None
    assert SAYS.search(str(result.error))
    growing.leaks.record("program error", result.error)


@pytest.mark.slow
def test_the_adoption_check_ends_by_the_deadline(growing: Stack) -> None:
    real = next(iter(growing.live()))
    stack = growing.runner(EDGEE_STEP_DEADLINE_SECONDS=DEADLINE)
    set_keys(stack, {"k": {"adopt_id": real, "name": "real"}})
    started = time.monotonic()
    result = stack.preview()
    assert time.monotonic() - started < BOUND
    growing.leaks.record("preview", result.logs)


@pytest.mark.slow
def test_plugin_functions_end_by_the_deadline(growing: Stack) -> None:
    engine = PluginEngine(
        config={
            "apiToken": TOKEN,
            "organizationId": ORGANIZATION,
            "consoleUrl": growing.emulator.url,
        },
        env={**NO_ENV, "EDGEE_STEP_DEADLINE_SECONDS": DEADLINE},
    )
    for token, args in (
        ("edgee:index:getApiKeys", {}),
        ("edgee:index:getApiKey", {"name": "real"}),
    ):
        started = time.monotonic()
        with pytest.raises((ProviderCallError, EngineError)) as failed:
            engine.invoke(token, args)
        assert time.monotonic() - started < BOUND
        assert SAYS.search(str(failed.value))
        assert len(str(failed.value).splitlines()) == 1
    growing.leaks.record_all("plugin stderr", engine.stderr)


@pytest.mark.slow
def test_the_code_generator_ends_by_the_deadline(growing: Stack) -> None:
    started = time.monotonic()
    generated = subprocess.run(
        [sys.executable, "-m", "pulumi_edgee.adopt"],
        env={
            **os.environ,
            "EDGEE_CONSOLE_URL": growing.emulator.url,
            "EDGEE_ORGANIZATION_ID": ORGANIZATION,
            "EDGEE_CONSOLE_API_TOKEN": TOKEN,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < BOUND
    assert generated.returncode == 2
    assert SAYS.search(generated.stderr)
    growing.leaks.record("generator output", generated.stdout + generated.stderr)
