"""Run the tests against the lowest and the newest supported runtime dependencies.

The floors are the `>=` bounds of pyproject.toml's `dependencies` (pulumi, httpx,
pydantic); grpcio, which the Pulumi SDK pins (`grpcio~=1.66.2` at its floor), is taken at
the lowest version that SDK accepts. The newest set is whatever pip picks today inside
the same caps. Each set gets its own virtual environment (reused when its pins are
unchanged), holding only the dependencies and the test tools: the tests import the
package from this checkout.

    python scripts/check_versions.py                        # both sets, reduced suite
    python scripts/check_versions.py --set lowest --python /path/to/python3.10
    python scripts/check_versions.py --suite full           # the whole suite per set

Needs Python 3.11+ to run (it reads pyproject.toml with tomllib). The venvs use
`--python`; by default the lowest set gets the oldest interpreter `requires-python`
admits that this machine has (`python3.X` on PATH, pyenv's, or Debian's), the newest set
this one.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENVS = ROOT / ".venvs"
# Wheels of the lowest set, kept across checkouts on this machine (CI clones afresh).
WHEEL_CACHE = Path(
    os.environ.get("PULUMI_EDGEE_WHEEL_CACHE", "~/.cache/pulumi-edgee/wheels")
).expanduser()

# The tests that cross every dependency: the HTTP client and its models (httpx,
# pydantic), the real dynamic provider server (pulumi, grpcio, protobuf, dill), unchanged
# programs through the SDK runtime, and the state contract with an earlier release.
REDUCED_SUITE = (
    "tests/console",
    "tests/provider/test_lifecycle.py",
    "tests/provider/test_programs.py",
    "tests/harness/test_harness_program.py",
    "tests/packaging/test_state_contract.py",
)
# What the reduced suite imports; the full suite gets the whole test extra but the
# linters and the build front end.
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis", "jsonschema", "regex")
NOT_FOR_TESTS = ("mypy", "ruff", "build")
RUNTIME = ("pulumi", "httpx", "pydantic")
FLOOR = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)\s*(?P<spec>.*)$")


def project() -> dict[str, object]:
    """pyproject.toml's `[project]` table."""
    if sys.version_info >= (3, 11):
        import tomllib

        with (ROOT / "pyproject.toml").open("rb") as handle:
            table: dict[str, object] = tomllib.load(handle)["project"]
        return table
    raise SystemExit("scripts/check_versions.py needs Python 3.11+ (tomllib)")


def project_dependencies() -> list[str]:
    """pyproject.toml's `[project] dependencies`, as written."""
    deps = project()["dependencies"]
    assert isinstance(deps, list)
    return [str(dep) for dep in deps]


def oldest_python() -> str:
    """The oldest interpreter `requires-python` admits that runs here, else this one."""
    floor = floor_of(str(project()["requires-python"]))
    candidates = [
        shutil.which(f"python{floor}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{floor}.*/bin/python"))),
        f"/usr/bin/python{floor}",
    ]
    for candidate in filter(None, candidates):
        probe = [candidate, "-c", "import ensurepip, venv"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:  # noqa: S603
            return candidate
    print(f"no Python {floor} here: the lowest set uses {sys.executable}", flush=True)
    return sys.executable


def floor_of(spec: str) -> str:
    """The version a `>=X` or `~=X` bound admits first."""
    found = re.search(r"(?:>=|~=|==)\s*([0-9][0-9A-Za-z.]*)", spec)
    if found is None:
        raise SystemExit(f"no lower bound in {spec!r}: every dependency needs a floor")
    return found.group(1)


def lowest_pins(deps: list[str]) -> list[str]:
    pins = []
    for dep in deps:
        match = FLOOR.match(dep)
        if match is None or match.group("name") not in RUNTIME:
            raise SystemExit(f"unexpected dependency {dep!r}: add it to RUNTIME")
        pins.append(f"{match.group('name')}=={floor_of(match.group('spec'))}")
    return pins


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]  # noqa: S603


def pip(python: Path, *args: str) -> None:
    run([str(python), "-m", "pip", "install", "-qq", "--disable-pip-version-check", *args])


def output_of(python: Path, script: str) -> str:
    """What a short script prints when run by the venv's Python."""
    return subprocess.run(  # noqa: S603
        [str(python), "-c", script], check=True, capture_output=True, text=True
    ).stdout.strip()


def sdk_grpcio_floor(python: Path) -> str:
    """The lowest grpcio the installed Pulumi SDK accepts."""
    script = (
        "import importlib.metadata as m\n"
        "from pip._vendor.packaging.requirements import Requirement\n"
        "for r in map(Requirement, m.requires('pulumi')):\n"
        "    if r.name == 'grpcio' and (r.marker is None or r.marker.evaluate()):\n"
        "        print(r.specifier)\n"
    )
    return floor_of(output_of(python, script))


def versions(python: Path) -> dict[str, str]:
    """The interpreter's and the dependencies' versions in a venv."""
    script = (
        "import importlib.metadata as m, json, sys; print(json.dumps({'python': "
        "sys.version.split()[0], **{n: m.version(n) for n in "
        "('pulumi', 'grpcio', 'protobuf', 'httpx', 'pydantic', 'dill')}}))"
    )
    result: dict[str, str] = json.loads(output_of(python, script))
    return result


def extra(name: str) -> list[str]:
    """An extra's requirements, with the package's own extras it names (the package
    itself is not installed: the tests import it from the checkout) expanded."""
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    found: list[str] = []
    for requirement in map(str, extras[name]):
        own = re.fullmatch(rf"{project()['name']}\[([a-z0-9_-]+)\]", requirement)
        found += extra(own.group(1)) if own else [requirement]
    return found


def test_tools(suite: str) -> list[str]:
    """What the suite needs installed beside the dependencies."""
    if suite == "reduced":  # the quickstart demo among its tests needs the demo extra
        return [*TEST_TOOLS, *extra("demo")]
    return [t for t in extra("test") if not t.startswith(NOT_FOR_TESTS)]


def prepare(name: str, interpreter: str, venv_root: Path, tools: list[str]) -> Path:
    """A venv for one set, built once per set of pins, tools and interpreter."""
    deps = project_dependencies()
    wanted = lowest_pins(deps) if name == "lowest" else [*deps, "--upgrade"]
    stamp_text = json.dumps([interpreter, wanted, tools])
    where = venv_root / name
    python = where / "bin" / "python"
    stamp = where / "pins.json"
    if name == "lowest" and stamp.exists() and stamp.read_text() == stamp_text:
        return python
    run([interpreter, "-m", "venv", "--clear", str(where)])
    if name == "lowest":
        install_cached(python, [*wanted, *tools])
        install_cached(python, [f"grpcio=={sdk_grpcio_floor(python)}"])
    else:
        pip(python, *wanted, *tools)
    stamp.write_text(stamp_text)
    return python


def install_cached(python: Path, requirements: list[str]) -> None:
    """Install from the wheel cache alone when it has everything, else fill it from the
    registry first. Only the lowest set uses it: its versions are exact, so a cached
    wheel is the one the registry would serve, and an empty cache (a new machine) only
    costs the download."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    offline = ["--no-index", "--find-links", str(WHEEL_CACHE), *requirements]
    quiet = [str(python), "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
    if subprocess.run([*quiet, *offline], capture_output=True, check=False).returncode == 0:  # noqa: S603
        print(f"+ installed {' '.join(requirements)} from {WHEEL_CACHE}", flush=True)
        return
    download = [str(python), "-m", "pip", "download", "-qq", "--disable-pip-version-check"]
    run([*download, "-d", str(WHEEL_CACHE), *requirements])
    pip(python, *offline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("lowest", "newest", "all"), default="all")
    parser.add_argument("--python", help="interpreter for the venvs (default: see above)")
    parser.add_argument("--suite", choices=("reduced", "full"), default="reduced")
    parser.add_argument("--venvs", type=Path, default=DEFAULT_VENVS, help="where venvs live")
    args = parser.parse_args()
    names = ("lowest", "newest") if args.set == "all" else (args.set,)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    failed = []
    for name in names:
        started = time.monotonic()
        interpreter = args.python or (oldest_python() if name == "lowest" else sys.executable)
        python = prepare(name, interpreter, args.venvs, test_tools(args.suite))
        installed = versions(python)
        print(f"== {name}: {', '.join(f'{k} {v}' for k, v in installed.items())}", flush=True)
        tests = list(REDUCED_SUITE) if args.suite == "reduced" else []
        code = subprocess.run(  # noqa: S603
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
            cwd=ROOT,
            env=env,
            check=False,
        ).returncode
        print(f"== {name}: {'PASS' if code == 0 else 'FAIL'} in {time.monotonic() - started:.0f} s")
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
