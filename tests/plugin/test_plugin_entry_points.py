"""The two ways the engine finds the plugin: the `pulumi-resource-edgee` console script
(declared in pyproject.toml, made by `pip install`) and the plugin tarball that
`scripts/bundle_plugin.py` builds (`PulumiPlugin.yaml`, run by the Python language host as
`venv/bin/python <dir> <engine>`, its venv made from a requirements.txt naming the bundled
wheel). `scripts/check_wheel.py` (CI) installs that venv from a real wheel and starts it.
"""

from __future__ import annotations

import os
import re
import sys
import zipfile
from importlib import import_module
from pathlib import Path

import pytest
import yaml

from pulumi_edgee._version import __version__
from pulumi_edgee.plugin.server import engine_address
from pulumi_edgee.testing.plugin import EngineLogServer, plugin_command
from pulumi_edgee.testing.provider_server import ProviderServer
from scripts import bundle_plugin, check_wheel

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "pulumi_edgee/plugin"
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_console_script_is_declared_and_resolves() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = project["project"]["scripts"]["pulumi-resource-edgee"]
    module, _, function = target.partition(":")
    assert callable(getattr(import_module(module), function))


def test_the_package_is_not_a_plugin_directory_whose_requirements_need_an_index() -> None:
    """A plugin directory naming `pulumi-edgee` in requirements.txt cannot be installed
    while no package index serves it: the tarball is the plugin directory."""
    assert not (PLUGIN_DIR / "PulumiPlugin.yaml").exists()
    assert not (PLUGIN_DIR / "requirements.txt").exists()


def test_the_plugin_tarball_installs_its_own_wheel_and_runs_as_the_language_host_runs_it(
    tmp_path: Path,
) -> None:
    # A stand-in wheel holding only what the bundle takes from it; check_wheel.py (CI)
    # bundles and installs a real one.
    wheel = tmp_path / f"pulumi_edgee-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(PLUGIN_DIR / "__main__.py", bundle_plugin.PLUGIN_MAIN)
    archive = bundle_plugin.bundle(wheel, tmp_path / "dist")
    assert re.fullmatch(
        rf"pulumi-resource-edgee-v{re.escape(__version__)}-(linux|darwin|windows)-(amd64|arm64)"
        r"\.tar\.gz",
        archive.name,
    )
    plugin_dir = check_wheel.unpack(archive, tmp_path / "edgee")
    assert sorted(p.name for p in plugin_dir.iterdir()) == sorted(
        ["PulumiPlugin.yaml", "__main__.py", "requirements.txt", wheel.name]
    )
    assert yaml.safe_load((plugin_dir / "PulumiPlugin.yaml").read_text()) == {"runtime": "python"}
    # pip runs in the plugin directory, so the relative path names the bundled file
    [requirement] = (plugin_dir / "requirements.txt").read_text().splitlines()
    assert (plugin_dir / requirement).read_bytes() == wheel.read_bytes()
    # started from another directory (the program's), with this interpreter standing in
    # for the venv's: `__main__.py` finds the package by absolute import
    with (
        EngineLogServer() as engine,
        ProviderServer(
            command=[sys.executable, str(plugin_dir), engine.address], cwd=tmp_path
        ) as plugin,
    ):
        assert plugin.get_plugin_info() == __version__


def test_engine_address_is_the_last_argument_after_the_engine_flags() -> None:
    assert engine_address(["127.0.0.1:5"]) == "127.0.0.1:5"
    assert engine_address(["--logtostderr", "-v=9", "--tracing", "x:1", "127.0.0.1:5"]) == (
        "127.0.0.1:5"
    )
    assert engine_address(["--logtostderr"]) is None


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI installs the package, making the script")
def test_ci_drives_the_installed_console_script() -> None:
    """Where the package is installed, the tests start the very executable the engine runs."""
    [command] = plugin_command()
    assert Path(command).name == "pulumi-resource-edgee"
