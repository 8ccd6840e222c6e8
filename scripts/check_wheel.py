"""Build the sdist and wheel, check the wheel's contents, and run the quickstart from it.

What users get is the wheel, not this checkout: a file the package needs at run time but
the build leaves out passes every test run from the source tree. So this builds both
artefacts (`python -m build`), checks that every file of the source package is in the
wheel (and the runtime files below by name), installs the wheel into a fresh virtual
environment, checks that each command it declares is installed and imports, and runs
`scripts/demo.py` (the quickstart against the emulator) with that environment's Python
from a directory holding only the demo and the example program, so nothing of the
checkout can be imported. Last, it bundles the wheel as the provider plugin's tarball
(`scripts/bundle_plugin.py`), unpacks it, makes its virtualenv as the Python language host
does (`pip install -r requirements.txt` in the plugin directory), and starts it as the
engine would (`venv/bin/python <dir> <engine address>`): the port line, then GetPluginInfo.

    python scripts/check_wheel.py                # build, check, install, run the quickstart
    python scripts/check_wheel.py --keep DIR     # leave the artefacts and the venv in DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

from pulumi_edgee.testing.plugin import EngineLogServer
from pulumi_edgee.testing.provider_server import ProviderServer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pulumi_edgee"
DISTRIBUTION = "pulumi-edgee"
# The README's set-up installs this extra for the quickstart (the official edgee client).
EXTRA = "demo"

# Files the package reads or publishes at run time, each with why it must ship. Every
# other file under pulumi_edgee/ is checked by the rule "the source package, whole".
RUNTIME_FILES: tuple[tuple[str, str], ...] = (
    ("pulumi_edgee/py.typed", "type checkers use the package's own hints (PEP 561)"),
    (
        "pulumi_edgee/pulumi-plugin.json",
        "tells Pulumi's Python language host that this package needs no resource plugin",
    ),
    ("pulumi_edgee/_version.py", "the version the User-Agent and the plugin report"),
    ("pulumi_edgee/plugin/schema.json", "the schema the plugin serves (GetSchema)"),
    ("pulumi_edgee/plugin/__main__.py", "the plugin directory's program (bundle_plugin.py)"),
)
# Copied beside each other into an empty directory: the demo finds the example at
# `../examples/quickstart` from its own folder.
QUICKSTART = ("scripts/demo.py", "examples/quickstart")


def source_files(root: Path = ROOT) -> list[str]:
    """Every file of the source package, as wheel paths (caches left out)."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in (root / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def missing_files(wheel: Path, expected: Iterable[str]) -> list[str]:
    """The expected paths the wheel does not hold."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    return sorted(set(expected) - names)


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]  # noqa: S603


def build(out: Path) -> tuple[Path, Path]:
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], stdout=subprocess.DEVNULL)
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise SystemExit(f"expected one wheel and one sdist in {out}, found {wheels + sdists}")
    return wheels[0], sdists[0]


def clean_env() -> dict[str, str]:
    """This environment without anything that would import the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def install(wheel: Path, where: Path) -> Path:
    run([sys.executable, "-m", "venv", str(where)])
    python = where / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
    run([*pip, f"{wheel}[{EXTRA}]"], env=clean_env())
    return python


def check_entry_points(python: Path) -> None:
    """Each command the wheel declares is installed and its function imports."""
    script = (
        "import importlib.metadata as m, pathlib, sys\n"
        f"eps = m.distribution('{DISTRIBUTION}').entry_points\n"
        "for ep in eps.select(group='console_scripts'):\n"
        "    ep.load()\n"
        "    assert (pathlib.Path(sys.executable).parent / ep.name).exists(), ep.name\n"
        "    print(ep.name, '->', ep.value)\n"
    )
    run([str(python), "-c", script], env=clean_env(), cwd=python.parent)


def run_quickstart(python: Path, work: Path) -> None:
    for item in QUICKSTART:
        source, target = ROOT / item, work / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "venv"))
        else:
            shutil.copyfile(source, target)
    where = subprocess.run(  # noqa: S603
        [str(python), "-c", f"import {PACKAGE}; print({PACKAGE}.__file__, {PACKAGE}.__version__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env=clean_env(),
    ).stdout.split()
    print(f"quickstart imports {where[0]} (version {where[1]})", flush=True)
    if ROOT in Path(where[0]).parents:
        raise SystemExit("the venv imports the checkout, not the installed wheel")
    run([str(python), str(work / QUICKSTART[0])], cwd=work, env=clean_env())


def unpack(archive: Path, where: Path) -> Path:
    """Unpack a plugin tarball as `pulumi plugin install` does: its files at the top."""
    where.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile() or Path(member.name).name != member.name:
                raise SystemExit(f"{archive}: unexpected member {member.name!r}")
            source = tar.extractfile(member)
            assert source is not None  # a regular file
            (where / member.name).write_bytes(source.read())
    return where


def install_as_the_language_host_does(plugin_dir: Path, env: dict[str, str]) -> Path:
    """Make `venv/` in the plugin directory the way the Python language host does for a
    plugin (pip toolchain): `python -m venv venv`, then `pip install -r requirements.txt`
    with the plugin directory as working directory. Returns the venv's python."""
    venv = plugin_dir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", "requirements.txt"], check=True, cwd=plugin_dir, env=env)  # noqa: S603
    return python


def check_plugin_bundle(wheel: Path, where: Path) -> None:
    """The plugin tarball, built as a user builds it, installs without any package-index
    release of pulumi-edgee and runs as the engine runs it, importing the bundled wheel."""
    bundler = [sys.executable, str(ROOT / "scripts" / "bundle_plugin.py")]
    built = subprocess.run(  # noqa: S603 - this interpreter running our own script
        [*bundler, "--wheel", str(wheel), "--out", str(where)],
        check=True,
        capture_output=True,
        text=True,
    )
    archive = Path(built.stdout.strip())
    plugin_dir = unpack(archive, where / "edgee")
    print(f"bundled {archive.name}: {sorted(p.name for p in plugin_dir.iterdir())}", flush=True)
    python = install_as_the_language_host_does(plugin_dir, clean_env())
    version = wheel.name.split("-")[1]
    # The working directory is the program's, not the plugin's; nothing of the checkout.
    with (
        EngineLogServer() as engine,
        ProviderServer(
            command=[str(python), str(plugin_dir), engine.address],
            env={"PYTHONPATH": ""},
            cwd=where,
        ) as plugin,
    ):
        served = plugin.get_plugin_info()
    if served != version:
        raise SystemExit(f"the bundled plugin reports version {served!r}, not {version!r}")
    print(f"the bundled plugin started from its own venv and reports {served}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build and install here, and keep it")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pulumi-edgee-wheel-") as tmp:
        base = args.keep.resolve() if args.keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        wheel, sdist = build(base / "dist")
        print(f"built {wheel.name} and {sdist.name}", flush=True)
        expected = {*source_files(), *(path for path, _ in RUNTIME_FILES)}
        missing = missing_files(wheel, expected)
        if missing:
            why = dict(RUNTIME_FILES)
            for path in missing:
                print(f"missing from the wheel: {path} {why.get(path, '')}", file=sys.stderr)
            return 1
        print(f"the wheel holds all {len(expected)} files of the source package", flush=True)
        python = install(wheel, base / "venv")
        check_entry_points(python)
        run_quickstart(python, base / "quickstart")
        check_plugin_bundle(wheel, base / "plugin")
    print(f"wheel checked and quickstart run from it in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
