"""`python -m pulumi_edgee.report` on a seeded organization, over real HTTP to the emulator:
the findings of every kind of key, `--fail-on` as a CI gate, stack exports, errors.
With a real `pulumi stack export`: tests/engine/test_report_cli.py."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pulumi_edgee import markers, times
from pulumi_edgee.report import Progress
from pulumi_edgee.testing import EmulatorHandle

NOW = datetime.now(times.UTC)


def ago(days: float) -> str:
    return times.iso(NOW - timedelta(days=days))


def ahead(days: float) -> str:
    return times.iso(NOW + timedelta(days=days))


# A key that needs no attention: recently used, limited, restricted, expiring in 60 days.
TIDY: dict[str, Any] = {
    "models": ["openai/gpt-5.2"],
    "max_usage": 100,
    "created_at": ago(90),
    "last_used_at": ago(1),
    "expires_at": ahead(60),
    "active": True,
}
LEFTOVER = f"{markers.PREFIX}{'a' * 32}:{int((NOW - timedelta(hours=2)).timestamp())}"
# Far enough ahead to still be in flight however long after collection the test runs.
IN_FLIGHT = f"{markers.PREFIX}{'b' * 32}:{int((NOW + timedelta(days=1)).timestamp())}"

# name: (changes to a tidy key, managed by the stack export, expected findings)
SEEDED: dict[str, tuple[dict[str, Any], bool, list[str]]] = {
    "tidy": ({}, True, []),
    # Held by one RotatingApiKey of the export: its current and its previous key.
    "rotating-current": ({}, True, []),
    "rotating-previous": ({}, True, []),
    "unmanaged": ({}, False, ["unmanaged"]),
    "never-used": ({"last_used_at": None, "created_at": ago(60)}, True, ["never-used"]),
    "young-unused": ({"last_used_at": None, "created_at": ago(2)}, True, []),
    "unused": ({"last_used_at": ago(45)}, True, ["unused"]),
    "expiring": ({"expires_at": ahead(5)}, True, ["expiring"]),
    "expired": ({"expires_at": ago(10)}, True, ["expired"]),
    "expired-disabled": ({"expires_at": ago(10), "active": False}, True, []),
    "no-limit": ({"max_usage": None}, True, ["no-usage-limit"]),
    "any-model": ({"models": []}, True, ["unrestricted-models"]),
    "many": (
        {"models": [], "max_usage": None, "last_used_at": ago(400), "expires_at": ahead(1)},
        False,
        ["unmanaged", "unused", "expiring", "no-usage-limit", "unrestricted-models"],
    ),
    LEFTOVER: ({"last_used_at": None, "models": [], "max_usage": None}, False, ["leftover"]),
    IN_FLIGHT: ({"last_used_at": None, "created_at": ago(0)}, False, []),
}


@pytest.fixture
def seeded(emulator: EmulatorHandle, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The seeded keys (name -> id) and a stack export holding the managed ones."""
    ids: dict[str, str] = {}
    resources: list[dict[str, Any]] = [
        {
            "urn": "urn:pulumi:prod::platform::pulumi:pulumi:Stack::platform-prod",
            "type": "pulumi:pulumi:Stack",
        }
    ]
    for n, (name, (changes, managed, _)) in enumerate(SEEDED.items()):
        fields = {k: v for k, v in {**TIDY, **changes, "name": name}.items() if v is not None}
        key = emulator.insert_key(organization_id=emulator.organization_id, **fields)
        ids[name] = key["id"]
        if managed and name.startswith("rotating-"):
            continue
        if managed:
            kind = "edgee:index:ApiKey" if n % 2 else "pulumi-python:dynamic/edgee:ApiKey"
            resources.append(
                {"urn": f"urn:pulumi:prod::platform::{kind}::key{n}", "type": kind, "id": key["id"]}
            )
    rotating = "edgee:index:RotatingApiKey"
    resources.append(
        {
            "urn": f"urn:pulumi:prod::platform::{rotating}::rotating",
            "type": rotating,
            "id": "rotating-0123456789abcdef",
            "outputs": {
                "keyId": ids["rotating-current"],
                "previousKeyId": ids["rotating-previous"],
            },
        }
    )
    export = tmp_path / "prod.json"
    export.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}))
    return ids, export


def run_report(
    emulator: EmulatorHandle, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EDGEE_")}
    environ.update(
        {
            "EDGEE_CONSOLE_URL": emulator.url,
            "EDGEE_ORGANIZATION_ID": emulator.organization_id,
            "EDGEE_CONSOLE_API_TOKEN": emulator.token if token is None else token,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "pulumi_edgee.report", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_findings_equal_the_seeded_organization(
    emulator: EmulatorHandle, seeded: tuple[dict[str, str], Path]
) -> None:
    ids, export = seeded
    run = run_report(emulator, "--json", "--stack-export", str(export))
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["organization_id"] == emulator.organization_id
    got = {k["name"]: k["findings"] for k in document["keys"]}
    assert got == {name: expected for name, (_, _, expected) in SEEDED.items()}
    by_name = {k["name"]: k for k in document["keys"]}
    for key in document["keys"]:
        assert key["id"] == ids[key["name"]]
        assert set(key["fixes"]) == set(key["findings"])
    # Managed keys are fixed in their stack; unmanaged ones get the adoption code.
    assert by_name["expiring"]["stacks"][0]["stack"] == "platform/prod"
    assert (
        "pulumi up --replace 'urn:pulumi:prod::platform::"
        in by_name["expiring"]["fixes"]["expiring"]
    )
    adoption = by_name["unmanaged"]["fixes"]["unmanaged"]
    assert f'adopt_id="{ids["unmanaged"]}"' in adoption
    assert "ApiKey(" in adoption
    assert emulator.token not in run.stdout + run.stderr


def test_without_stack_exports_nothing_is_called_unmanaged(
    emulator: EmulatorHandle, seeded: tuple[dict[str, str], Path]
) -> None:
    run = run_report(emulator, "--json")
    assert run.returncode == 0, run.stderr
    got = {k["name"]: k["findings"] for k in json.loads(run.stdout)["keys"]}
    assert got["unmanaged"] == []
    assert "unmanaged" not in got["many"]


def test_thresholds_move_with_their_flags(
    emulator: EmulatorHandle, seeded: tuple[dict[str, str], Path]
) -> None:
    run = run_report(emulator, "--json", "--unused-days", "50", "--expiring-days", "90")
    got = {k["name"]: k["findings"] for k in json.loads(run.stdout)["keys"]}
    assert "unused" not in got["unused"]  # last used 45 days ago
    assert "never-used" in got["never-used"]  # created 60 days ago
    assert got["tidy"] == ["expiring"]  # expires in 60 days


@pytest.mark.slow
def test_fail_on_exits_non_zero_exactly_when_a_listed_finding_is_present(
    emulator: EmulatorHandle, seeded: tuple[dict[str, str], Path]
) -> None:
    _, export = seeded
    present = run_report(emulator, "--fail-on", "leftover,expired", "--stack-export", str(export))
    assert present.returncode == 1
    assert "failing: expired, leftover" in present.stderr
    absent = run_report(emulator, "--fail-on", "unmanaged")  # without exports: never found
    assert absent.returncode == 0, absent.stderr
    assert run_report(emulator).returncode == 0  # findings alone do not fail
    unknown = run_report(emulator, "--fail-on", "stale")
    assert unknown.returncode == 2
    assert "unknown finding stale; choose from unmanaged, never-used" in unknown.stderr


def test_table_lists_keys_with_findings_and_counts(
    emulator: EmulatorHandle, seeded: tuple[dict[str, str], Path]
) -> None:
    ids, export = seeded
    run = run_report(emulator, "--stack-export", str(export))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "FINDINGS"]
    flagged = [name for name, (_, _, expected) in SEEDED.items() if expected]
    rows = [line for line in lines[1:] if line.startswith("key_")]
    assert sorted(line.split()[0] for line in rows) == sorted(ids[name] for name in flagged)
    assert f"{len(SEEDED)} keys, {len(flagged)} with findings: unmanaged 2," in run.stdout


@pytest.mark.slow
def test_errors_name_the_fix_and_never_the_token(
    emulator: EmulatorHandle, seeded: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    wrong = run_report(emulator, token="tok_wrong_and_secret")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error:")
    assert "tok_wrong_and_secret" not in wrong.stderr
    assert "in the environment variable EDGEE_CONSOLE_API_TOKEN" in wrong.stderr
    assert "pulumi config" not in wrong.stderr  # the tool reads no stack config
    missing = run_report(emulator, token="")
    assert missing.returncode == 2
    assert "EDGEE_CONSOLE_API_TOKEN" in missing.stderr
    not_an_export = tmp_path / "stack.yaml"
    not_an_export.write_text("{}")
    bad = run_report(emulator, "--stack-export", str(not_an_export))
    assert bad.returncode == 2
    assert f"{not_an_export} is not a stack export" in bad.stderr
    assert "Traceback" not in wrong.stderr + missing.stderr + bad.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_and_is_cleared() -> None:
    terminal = _Terminal()
    progress = Progress(terminal)
    progress.page(3, 300)
    progress.done()
    assert terminal.getvalue() == "\rreading keys: 300 (3 pages)\r\033[K"
    piped = io.StringIO()
    progress = Progress(piped)
    progress.page(3, 300)
    progress.done()
    assert piped.getvalue() == ""
