"""Fixtures for the tests the real Pulumi CLI runs (marker `engine`).

Without a CLI (``python scripts/pulumi_cli.py`` builds one with Go) the tests skip with one
line saying how to get it; in CI (``CI=true``) they fail instead, since `.ci/run` builds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack, PulumiCli, make_project_venv
from scripts import pulumi_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HOW_TO_GET_IT = "the engine tests need the Pulumi CLI: run `python scripts/pulumi_cli.py` (Go 1.26)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.engine)
            item.add_marker(pytest.mark.slow)  # a CLI command takes seconds


@pytest.fixture(scope="session")
def cli_bin() -> Path:
    found = pulumi_cli.locate()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Pulumi CLI in CI: {HOW_TO_GET_IT}")
        pytest.skip(HOW_TO_GET_IT)
    return found


@pytest.fixture
def cli(cli_bin: Path, tmp_path: Path) -> PulumiCli:
    """The CLI in a home of this test's own; `pulumi-resource-edgee` (installed with the
    package) is on PATH, the way the README's "On PATH" route gives the plugin to the CLI."""
    return PulumiCli(cli_bin, tmp_path / "home", path=[Path(sys.executable).parent])


@pytest.fixture(scope="session")
def project_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with this package installed from the checkout, as a user's project has
    it (dependencies from this interpreter's site-packages, so nothing is downloaded)."""
    venv = make_project_venv(tmp_path_factory.mktemp("venv") / "venv", str(ROOT))
    return venv


def copy_example(name: str, target: Path) -> Path:
    project = target / name
    ignored = shutil.ignore_patterns("node_modules", "venv", "sdk", "sdks", "package-lock.json")
    shutil.copytree(EXAMPLES / name, project, ignore=ignored)
    return project


@pytest.fixture
def quickstart(
    cli: PulumiCli, project_venv: Path, emulator: EmulatorHandle, tmp_path: Path
) -> Iterator[CliStack]:
    """examples/quickstart as a user has it: its own venv, a stack configured for the emulator."""
    project = copy_example("quickstart", tmp_path)
    (project / "venv").symlink_to(project_venv)
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    yield stack
    stack.destroy(check=False)


@pytest.fixture
def yaml_example(cli: PulumiCli, emulator: EmulatorHandle, tmp_path: Path) -> Iterator[CliStack]:
    """examples/yaml with a stack configured for the emulator; the key it looks up exists."""
    emulator.insert_key(name="Shared Staging Key", organization_id=emulator.organization_id)
    emulator.insert_key(name="team-search", organization_id=emulator.organization_id)
    project = copy_example("yaml", tmp_path)
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    yield stack
    stack.destroy(check=False)


@pytest.fixture(scope="session")
def gensdk(cli_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scripts/gensdk built (Pulumi's SDK generators; Go is there, since the CLI is)."""
    binary = tmp_path_factory.mktemp("gensdk") / "gensdk"
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=ROOT / "scripts" / "gensdk",
        env=env,
        check=True,
    )
    return binary


@pytest.fixture
def typescript_example(
    cli: PulumiCli, gensdk: Path, emulator: EmulatorHandle, tmp_path: Path
) -> Iterator[CliStack]:
    """examples/typescript with the SDK generated from schema.json and `npm install` run,
    a stack configured for the emulator; the key it looks up exists."""
    if shutil.which("npm") is None:
        pytest.fail("npm is needed for the TypeScript engine test")
    emulator.insert_key(name="Shared Staging Key", organization_id=emulator.organization_id)
    project = copy_example("typescript", tmp_path)
    subprocess.run(
        [str(gensdk), str(ROOT / "schema.json"), "nodejs", str(project / "sdks" / "edgee")],
        check=True,
    )
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=project, check=True
    )
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    yield stack
    stack.destroy(check=False)


# The generated Go SDK's own module, as examples/go's header describes it.
GO_SDK_MODULE = """module example.com/pulumi-edgee/sdk/go

go 1.26

require github.com/pulumi/pulumi/sdk/v3 v3.276.0
"""


@pytest.fixture
def go_example(
    cli: PulumiCli, gensdk: Path, emulator: EmulatorHandle, tmp_path: Path
) -> Iterator[CliStack]:
    """examples/go with its SDK generated from schema.json, a stack configured for the
    emulator; the CLI's Go language host builds the program."""
    project = copy_example("go", tmp_path)
    sdk = project / "sdk"
    subprocess.run([str(gensdk), str(ROOT / "schema.json"), "go", str(sdk)], check=True)
    (sdk / "go.mod").write_text(GO_SDK_MODULE)
    stack = CliStack(cli, project).init()
    stack.configure_edgee(emulator.url, emulator.organization_id, emulator.token)
    yield stack
    stack.destroy(check=False)
