"""The version is written once and reported everywhere; the wheel check catches a file
the build leaves out.

The wheel itself is built, installed and run by `scripts/check_wheel.py` in CI; these
tests keep its rules honest without a build.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: pytest's own TOML reader
    import tomli as tomllib

import pulumi_edgee
from pulumi_edgee.console.client import ConsoleClient
from scripts import check_versions, check_wheel

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_exposed_without_loading_the_sdk() -> None:
    script = (
        "import sys, pulumi_edgee; print(pulumi_edgee.__version__); "
        "print(sorted(m for m in ('pulumi', 'httpx', 'pydantic', 'importlib.metadata') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert out == [pulumi_edgee.__version__, "[]"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pulumi_edgee.__version__)


def test_pyproject_and_schema_read_the_one_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "pulumi_edgee._version.__version__"}
    schema = json.loads((ROOT / "schema.json").read_text())
    assert schema["version"] == pulumi_edgee.__version__


def test_user_agent_names_the_version() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(200, json={"data": [], "has_more": False})

    client = ConsoleClient(
        "http://127.0.0.1:9", "org_1", "tok_ua", transport=httpx.MockTransport(handler)
    )
    with client:
        client.list_api_keys()
    assert seen == [f"pulumi-edgee/{pulumi_edgee.__version__}"]


def test_runtime_files_table_names_files_that_exist() -> None:
    files = check_wheel.source_files()
    for path, why in check_wheel.RUNTIME_FILES:
        assert path in files, f"{path} ({why}) is not in the source package"
    assert "pulumi_edgee/__init__.py" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_missing_files_names_what_the_wheel_lacks(tmp_path: Path) -> None:
    expected = check_wheel.source_files()
    complete, partial = tmp_path / "complete.whl", tmp_path / "partial.whl"
    with zipfile.ZipFile(complete, "w") as archive:
        for name in expected:
            archive.writestr(name, "")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in expected:
            if name != "pulumi_edgee/py.typed":
                archive.writestr(name, "")
    assert check_wheel.missing_files(complete, expected) == []
    assert check_wheel.missing_files(partial, expected) == ["pulumi_edgee/py.typed"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the script reads pyproject with tomllib")
def test_lowest_set_pins_every_dependency_at_its_floor() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = check_versions.lowest_pins(check_versions.project_dependencies())
    assert len(pins) == len(deps) == len(check_versions.RUNTIME)
    for dep, pin in zip(deps, pins, strict=True):
        name, _, version = pin.partition("==")
        assert dep.startswith(name)
        assert f">={version}," in dep.replace(" ", "")
    assert check_versions.floor_of("~=1.66.2") == "1.66.2"
    assert check_versions.floor_of("<2,>=1.68.1") == "1.68.1"
