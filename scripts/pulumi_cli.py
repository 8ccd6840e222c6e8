"""Build the Pulumi CLI and its language hosts from Pulumi's published Go modules.

``python scripts/pulumi_cli.py`` leaves ``pulumi``, ``pulumi-language-python`` (with the
Python host's scripts), ``pulumi-language-nodejs``, ``pulumi-language-go`` and
``pulumi-language-yaml`` in ``.pulumi-cli/<version>/bin`` (git-ignored) and prints that
folder's absolute path as its last line. A second run rebuilds nothing.

Why these versions:

- The CLI is ``github.com/pulumi/pulumi/pkg/v3`` at ``PULUMI_VERSION``, built beside
  ``sdk/v3`` at the same version laid out as in Pulumi's repository (``pkg/go.mod``
  replaces ``sdk/v3 => ../sdk``, so ``go install pkg/v3/cmd/pulumi@version`` is refused).
  3.276.0 is the newest release whose ``pkg`` and ``sdk`` modules the module proxy serves
  here; it is newer than every Python SDK release the package supports (``pulumi>=3.261``),
  as a user's CLI usually is.
- ``pulumi-language-yaml`` is ``github.com/pulumi/pulumi-yaml`` at ``YAML_VERSION`` (no
  replace directives: an ordinary ``go install``).
- The Python, Node.js and Go language hosts have been Go modules of their own since
  Pulumi 3.69 (Node.js, Python) and 3.63 (Go), and the module proxy reachable here serves
  none of them at any version. The newest releases that carry them inside ``sdk/v3`` are
  3.68.0 and 3.62.0: those are built. They lack the newer RPCs (``GeneratePackage``,
  ``Link``), so the CLI cannot generate SDKs for those languages with them. The 3.68
  Python host's ``RunPlugin`` reads the plugin's folder from a request field this CLI no
  longer sends (it sends ``info`` and ``kind`` instead): ``PYTHON_HOST_PATCH`` adds one
  file and changes two lines so that it reads them as newer hosts do, which lets the CLI
  start Python policy packs (``pulumi preview --policy-pack``) and Python plugins through
  it. Programs and dynamic providers run through the hosts' ``Run``, which the CLI still
  speaks. The Python host runs programs through ``pulumi-language-python-exec``
  and serves dynamic providers through ``pulumi-resource-pulumi-python``: both scripts are
  taken from ``sdk/v3`` at ``PULUMI_VERSION``, so they match the current Python SDK.

Nothing here reaches anything but the Go module proxy; the CLI it builds is used with a
local file backend and without update checks or plugin downloads
(``pulumi_edgee.testing.cli``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PULUMI_VERSION = "3.276.0"
YAML_VERSION = "1.25.0"
# The newest sdk/v3 releases whose module still holds these language hosts.
NODE_PYTHON_HOSTS_SDK = "3.68.0"
GO_HOST_SDK = "3.62.0"

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / ".pulumi-cli"

PKG = "github.com/pulumi/pulumi/pkg/v3"
SDK = "github.com/pulumi/pulumi/sdk/v3"
YAML = "github.com/pulumi/pulumi-yaml"
VERSION_VAR = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

# The 3.68 Python host taught the newer RunPlugin request (see the module docstring): a file
# added beside its main.go, and RunPlugin's command line and virtualenv taken from it.
PYTHON_HOST_FOLDER = Path("sdk/python/cmd/pulumi-language-python")
PYTHON_HOST_PATCH = Path(__file__).resolve().parent / "pulumi_cli_patches"
PYTHON_HOST_EDIT = (
    """\targs := []string{req.Program}
\targs = append(args, req.Args...)

\tvar cmd *exec.Cmd
\tvar virtualenv string
\tif host.virtualenv != "" {
\t\tvirtualenv = host.virtualenvPath
\t\tif !python.IsVirtualEnv(virtualenv) {
\t\t\treturn python.NewVirtualEnvError(host.virtualenv, virtualenv)
""",
    """\targs, virtualenvOption, virtualenvPath := host.pluginCommand(req)

\tvar cmd *exec.Cmd
\tvar virtualenv string
\tif virtualenvOption != "" {
\t\tvirtualenv = virtualenvPath
\t\tif !python.IsVirtualEnv(virtualenv) {
\t\t\treturn python.NewVirtualEnvError(virtualenvOption, virtualenv)
""",
)


@dataclass(frozen=True)
class Binary:
    """One program to build: the laid-out tree, the module's folder in it, the package in
    that module, and the version a Pulumi binary reports (``None``: it sets its own)."""

    name: str
    tree: str  # key of the laid-out tree (see ``_trees``)
    module: str
    package: str
    version: str | None


BINARIES = (
    Binary("pulumi", "cli", "pkg", "cmd/pulumi", PULUMI_VERSION),
    Binary(
        "pulumi-language-python",
        "hosts",
        "sdk",
        "python/cmd/pulumi-language-python",
        NODE_PYTHON_HOSTS_SDK,
    ),
    Binary(
        "pulumi-language-nodejs",
        "hosts",
        "sdk",
        "nodejs/cmd/pulumi-language-nodejs",
        NODE_PYTHON_HOSTS_SDK,
    ),
    Binary("pulumi-language-go", "go-host", "sdk", "go/pulumi-language-go", GO_HOST_SDK),
    Binary("pulumi-language-yaml", "yaml", ".", "cmd/pulumi-language-yaml", None),
)

# Scripts the CLI finds beside the binaries: (name, module version, path in sdk/v3).
SCRIPTS = (
    ("pulumi-resource-pulumi-python", PULUMI_VERSION, "python/dist/pulumi-resource-pulumi-python"),
    (
        "pulumi-language-python-exec",
        PULUMI_VERSION,
        "python/cmd/pulumi-language-python-exec",
    ),
    (
        "pulumi-analyzer-policy-python",
        NODE_PYTHON_HOSTS_SDK,
        "python/dist/pulumi-analyzer-policy-python",
    ),
)


def stamp() -> str:
    """What a finished build was made of; a different stamp means rebuild."""
    return json.dumps(
        {
            "pulumi": PULUMI_VERSION,
            "yaml": YAML_VERSION,
            "hosts": NODE_PYTHON_HOSTS_SDK,
            "go-host": GO_HOST_SDK,
            "binaries": [b.name for b in BINARIES],
            "scripts": [s[0] for s in SCRIPTS],
            "python-host-patch": [
                PYTHON_HOST_EDIT[1],
                *(p.read_text() for p in sorted(PYTHON_HOST_PATCH.glob("*.go"))),
            ],
        },
        sort_keys=True,
    )


def go_env() -> dict[str, str]:
    """The environment Go runs in: the installed toolchain, no VCS stamping."""
    env = dict(os.environ)
    env["GOTOOLCHAIN"] = "local"
    env["GOFLAGS"] = "-mod=mod -buildvcs=false"
    return env


def download(modules: list[str], log: Path) -> dict[str, Path]:
    """``go mod download`` each ``module@version``; their read-only folders in the cache."""
    with tempfile.TemporaryDirectory() as scratch:  # outside any go.mod
        result = subprocess.run(  # noqa: S603 - fixed module names
            ["go", "mod", "download", "-json", *modules],  # noqa: S607 - the user's Go
            cwd=scratch,
            env=go_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    log.write_text(result.stdout + result.stderr)
    decoder = json.JSONDecoder()
    found: dict[str, Path] = {}
    text = result.stdout.strip()
    errors: list[str] = []
    while text:
        entry, end = decoder.raw_decode(text)
        text = text[end:].strip()
        if "Error" in entry:
            errors.append(entry["Error"])
        else:
            found[f"{entry['Path']}@{entry['Version']}"] = Path(entry["Dir"])
    if errors or result.returncode != 0:
        raise SystemExit(
            "cannot download Pulumi's Go modules:\n  "
            + "\n  ".join(errors or [result.stderr.strip()])
        )
    return found


def _copy_module(source: Path, target: Path) -> None:
    """A writable copy of a module from the read-only module cache."""
    shutil.copytree(source, target, symlinks=True)
    for path in [target, *target.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _trees(work: Path, cache: dict[str, Path]) -> dict[str, Path]:
    """Lay the modules out as in their repositories; the folder each build runs from."""
    cli = work / f"pulumi-{PULUMI_VERSION}"
    _copy_module(cache[f"{PKG}@v{PULUMI_VERSION}"], cli / "pkg")
    _copy_module(cache[f"{SDK}@v{PULUMI_VERSION}"], cli / "sdk")
    hosts = work / f"pulumi-{NODE_PYTHON_HOSTS_SDK}"
    _copy_module(cache[f"{SDK}@v{NODE_PYTHON_HOSTS_SDK}"], hosts / "sdk")
    _patch_python_host(hosts / PYTHON_HOST_FOLDER)
    go_host = work / f"pulumi-{GO_HOST_SDK}"
    _copy_module(cache[f"{SDK}@v{GO_HOST_SDK}"], go_host / "sdk")
    yaml = work / f"pulumi-yaml-{YAML_VERSION}"
    _copy_module(cache[f"{YAML}@v{YAML_VERSION}"], yaml)
    return {"cli": cli, "hosts": hosts, "go-host": go_host, "yaml": yaml}


def _patch_python_host(folder: Path) -> None:
    main_go = folder / "main.go"
    old, new = PYTHON_HOST_EDIT
    text = main_go.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"{main_go} is not the 3.68 Python host this build patches")
    main_go.write_text(text.replace(old, new))
    for source in PYTHON_HOST_PATCH.glob("*.go"):
        shutil.copyfile(source, folder / source.name)


def build(binary: Binary, tree: Path, bin_dir: Path, log: Path) -> None:
    """``go build`` one program in its module's folder."""
    ldflags = f"-X {VERSION_VAR}=v{binary.version}" if binary.version else ""
    target = str(bin_dir / binary.name)
    command = ["go", "build", "-ldflags", ldflags, "-o", target, f"./{binary.package}"]
    cwd = tree / binary.module
    with log.open("a") as out:
        out.write(f"$ (cd {cwd}) {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(  # noqa: S603 - fixed packages
            command, cwd=cwd, env=go_env(), stdout=out, stderr=out, check=False
        )
    if result.returncode != 0:
        raise SystemExit(f"building {binary.name} failed; the Go output is in {log}")


def install(out: Path) -> Path:
    """Build everything into ``out/<version>/bin`` unless a finished build is there."""
    found = built(out)
    if found is not None:
        return found
    base = out / PULUMI_VERSION
    bin_dir = base / "bin"
    stamp_file = base / "BUILT"
    if shutil.which("go") is None:
        raise SystemExit("Go is needed to build the Pulumi CLI: install Go 1.26 or newer")
    if base.exists():
        shutil.rmtree(base)
    bin_dir.mkdir(parents=True)
    log = base / "build.log"
    cache = download(
        [
            f"{PKG}@v{PULUMI_VERSION}",
            f"{SDK}@v{PULUMI_VERSION}",
            f"{SDK}@v{NODE_PYTHON_HOSTS_SDK}",
            f"{SDK}@v{GO_HOST_SDK}",
            f"{YAML}@v{YAML_VERSION}",
        ],
        base / "download.log",
    )
    with tempfile.TemporaryDirectory(prefix="pulumi-src-", dir=base) as work:
        trees = _trees(Path(work), cache)
        for binary in BINARIES:
            print(f"building {binary.name}", file=sys.stderr, flush=True)
            build(binary, trees[binary.tree], bin_dir, log)
    for name, version, path in SCRIPTS:
        target = bin_dir / name
        shutil.copyfile(cache[f"{SDK}@v{version}"] / path, target)
        target.chmod(0o755)
    stamp_file.write_text(stamp())
    return bin_dir


def built(out: Path = DEFAULT_OUT) -> Path | None:
    """The folder of a finished build of this script's versions, if there is one."""
    bin_dir = out / PULUMI_VERSION / "bin"
    stamp_file = out / PULUMI_VERSION / "BUILT"
    if stamp_file.is_file() and stamp_file.read_text() == stamp():
        return bin_dir
    return None


def locate(out: Path = DEFAULT_OUT) -> Path | None:
    """Where a usable CLI is: this script's build, else a ``pulumi`` on PATH that has the
    Python language host beside it (as the official installer lays it out)."""
    found = built(out)
    if found is not None:
        return found
    on_path = shutil.which("pulumi")
    if on_path is None:
        return None
    bin_dir = Path(on_path).resolve().parent
    return bin_dir if (bin_dir / "pulumi-language-python").is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder to build into (git-ignored)"
    )
    args = parser.parse_args(argv)
    print(install(args.out.resolve()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
