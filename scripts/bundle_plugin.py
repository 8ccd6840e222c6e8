"""Build the `edgee` provider plugin as a self-contained Pulumi plugin directory and tarball.

There is no package-index release of pulumi-edgee, so a plugin directory whose
requirements.txt names `pulumi-edgee` cannot be installed. This bundles the wheel itself:

    pulumi-resource-edgee-v<version>-<os>-<arch>.tar.gz
        PulumiPlugin.yaml                    runtime: python
        __main__.py                          run as `venv/bin/python <dir> <engine address>`
        requirements.txt                     ./pulumi_edgee-<version>-py3-none-any.whl
        pulumi_edgee-<version>-py3-none-any.whl

The Python language host makes the plugin's virtualenv by running `python -m venv venv`
and `venv/bin/python -m pip install -r requirements.txt` with the plugin directory as
working directory, so the wheel's relative path resolves (its dependencies come from the
package index as usual). The contents are pure Python: the os and arch in the name are
only the ones Pulumi's plugin naming asks for.

    python scripts/bundle_plugin.py --out DIR                 # builds the wheel first
    python scripts/bundle_plugin.py --out DIR --wheel WHEEL   # bundles a built wheel
"""

from __future__ import annotations

import argparse
import io
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The plugin directory's program is the package's own, taken from the wheel bundled.
PLUGIN_MAIN = "pulumi_edgee/plugin/__main__.py"
MANIFEST = "# A Pulumi provider plugin run by the Python language host.\nruntime: python\n"
# Pulumi names plugin archives with Go's names for the platform.
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def archive_name(version: str) -> str:
    """`pulumi-resource-edgee-v0.1.0-linux-amd64.tar.gz` for this platform."""
    system, machine = platform.system().lower(), platform.machine().lower()
    return f"pulumi-resource-edgee-v{version}-{system}-{_ARCH.get(machine, machine)}.tar.gz"


def wheel_version(wheel: Path) -> str:
    """The version in a wheel's file name (`pulumi_edgee-0.1.0-py3-none-any.whl`)."""
    name, version, *_ = wheel.name.split("-")
    if name != "pulumi_edgee" or wheel.suffix != ".whl":
        raise SystemExit(f"{wheel} is not a pulumi-edgee wheel")
    return version


def build_wheel(out: Path) -> Path:
    """The wheel of this checkout, built with pip (no other build tool needed)."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    subprocess.run(command, check=True)  # noqa: S603 - this interpreter's pip, fixed arguments
    [wheel] = out.glob("pulumi_edgee-*.whl")
    return wheel


def plugin_files(wheel: Path) -> dict[str, bytes]:
    """The plugin directory's files by name."""
    with zipfile.ZipFile(wheel) as archive:
        main = archive.read(PLUGIN_MAIN)
    return {
        "PulumiPlugin.yaml": MANIFEST.encode(),
        "__main__.py": main,
        "requirements.txt": f"./{wheel.name}\n".encode(),
        wheel.name: wheel.read_bytes(),
    }


def bundle(wheel: Path, out: Path) -> Path:
    """Write the plugin tarball into `out` (files at its top level, as Pulumi unpacks
    plugins) and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / archive_name(wheel_version(wheel))
    with tarfile.open(target, "w:gz") as archive:
        for name, data in plugin_files(wheel).items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the tarball")
    parser.add_argument("--wheel", type=Path, help="a built pulumi-edgee wheel to bundle")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pulumi-edgee-bundle-") as tmp:
        wheel = args.wheel or build_wheel(Path(tmp))
        target = bundle(wheel, args.out)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
