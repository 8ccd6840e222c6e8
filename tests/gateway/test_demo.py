"""The README's main job, `scripts/demo.py`, run against a stand-in whose every Gateway
answer is validated against Edgee's OpenAPI description, as in the other gateway tests:
the answers the demo prints are ones the description allows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pulumi.runtime import rpc

from pulumi_edgee.testing.program import ProgramRunner
from scripts import demo

from .standin import CheckedServers

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"


def run_demo(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The demo's exit status and output; fails if a Gateway answer was outside the
    description, or if the demo never reached the Gateway."""
    servers = CheckedServers()
    code = demo.main(list(args), serve=servers)
    out, err = capsys.readouterr()
    [app] = servers.apps
    assert app.checked > 0, "the demo called the Gateway"
    assert app.violations == [], "answers outside Edgee's OpenAPI description"
    return code, out, err


@pytest.mark.slow
def test_the_demo_proves_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's main job: the refresh shows the Console change, the next up repairs
    it in place, each key is used at the Gateway after each step, nothing secret is
    printed; each proved by the demo itself."""
    code, out, err = run_demo(capsys)
    assert code == 0, out + err
    refresh, repair = out.split("== pulumi refresh")[1].split("== pulumi up (puts")
    # Shown as the CLI shows it: the drifted key updated, the key only used left out.
    # `lastUsedAt` moves too unless the Gateway call fell in the same second as the last.
    assert re.search(
        r"~ update   backend      \(Read, Diff; changed: active(, lastUsedAt)?\)", refresh
    )
    assert "claude-code" not in refresh
    assert "'Production Backend' (max_usage=2500, active=False)" in refresh
    assert "~ update   backend      (Check, Diff, Update)" in repair
    assert "'Production Backend' (max_usage=2500, active=True)" in repair.split("== ")[0]
    assert "ok: the same backend key is active again" in repair
    assert rpc.UNKNOWN not in out, "no unknown sentinel printed"
    assert "output backendKeyId = [unknown]" in out.split("== pulumi up")[0]
    assert "No secret printed: " in out
    # Each step ends with what an application sees at the Gateway (official client).
    disabled = out.split("(someone disables")[1].split("== pulumi refresh")[0]
    assert "with backend: refused (403 forbidden): API key is inactive" in disabled
    assert "with backend: answered: 'ping'" in repair
    destroyed = out.split("== pulumi destroy")[1]
    assert "with backend: refused (401 unauthorized): Invalid API key" in destroyed
    assert "with claude-code: refused (401 unauthorized): Invalid API key" in destroyed
    assert "ek_test_" not in out + err, "the demo prints no secret"


@pytest.mark.slow
def test_the_demo_fails_when_a_step_has_no_effect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A variant of the quickstart whose backend ignores `backendMaxUsage`: the in-place
    update step then changes nothing, and the demo must say so and exit non-zero."""
    variant = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, variant)
    source = (variant / "__main__.py").read_text()
    fixed = source.replace('config.get_int("backendMaxUsage") or 1000', "1000")
    assert fixed != source
    (variant / "__main__.py").write_text(fixed)
    code, out, err = run_demo(capsys, "--program", str(variant))
    assert code == 1
    assert "FAILED: expected backend updated in place" in err
    assert "Done" not in out
    assert "== pulumi refresh" not in out, "the demo stops at the failed step"


@pytest.mark.slow
def test_the_demo_fails_when_the_refresh_finds_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh that reads nothing (here: a preview in its place) must fail the demo's
    refresh step rather than let it print a drift it did not see."""
    monkeypatch.setattr(ProgramRunner, "refresh", ProgramRunner.preview)
    code, out, err = run_demo(capsys)
    assert code == 1
    assert "FAILED: expected the refresh found backend's `active` changed" in err
    assert "== pulumi up (puts" not in out, "the demo stops at the failed step"
