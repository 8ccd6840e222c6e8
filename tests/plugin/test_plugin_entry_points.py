"""The two ways the engine finds the plugin: the `pulumi-resource-edgee` console script
(declared in pyproject.toml, made by `pip install`) and the plugin directory inside the
package (`PulumiPlugin.yaml`, run by the Python language host as `python <dir> <engine>`).
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from pathlib import Path

import pytest
import yaml

from pulumi_edgee._version import __version__
from pulumi_edgee.plugin.server import engine_address
from pulumi_edgee.testing.plugin import EngineLogServer, plugin_command
from pulumi_edgee.testing.provider_server import ProviderServer

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "pulumi_edgee/plugin"
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_console_script_is_declared_and_resolves() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = project["project"]["scripts"]["pulumi-resource-edgee"]
    module, _, function = target.partition(":")
    assert callable(getattr(import_module(module), function))


def test_plugin_directory_ships_in_the_wheel_and_runs_as_the_language_host_runs_it() -> None:
    manifest = yaml.safe_load((PLUGIN_DIR / "PulumiPlugin.yaml").read_text(encoding="utf-8"))
    assert manifest == {"runtime": "python"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = project["tool"]["setuptools"]["package-data"]["pulumi_edgee"]
    for name in ("PulumiPlugin.yaml", "schema.json", "requirements.txt"):
        assert f"plugin/{name}" in shipped
        assert (PLUGIN_DIR / name).is_file()
    with (
        EngineLogServer() as engine,
        ProviderServer(command=[sys.executable, str(PLUGIN_DIR), engine.address]) as plugin,
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
