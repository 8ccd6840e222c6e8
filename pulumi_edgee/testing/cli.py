"""Drive the real Pulumi CLI, isolated: its own home, a local file backend, no network.

``PulumiCli`` runs ``pulumi`` commands exactly as a user types them, with an environment
that keeps the user's own Pulumi home, credentials and backend out of reach
(``PULUMI_HOME`` and ``PULUMI_BACKEND_URL=file://…`` under a folder of the caller's), a
passphrase secrets provider, no update check and no automatic plugin download. Every HTTP
proxy variable points at a closed loopback port with only loopback exempt, so a command
that tries to reach the internet fails at once instead of reaching it. ``CliStack`` is
one project's stack, with the commands the tests and the demo use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .engine import StepOp
    from .program import Operation, RunResult, StackState

__all__ = [
    "CliCommandError",
    "CliProgramRunner",
    "CliRun",
    "CliStack",
    "PulumiCli",
    "make_project_venv",
]

# Nothing listens on the discard port of loopback: a proxied request is refused at once.
_NO_NETWORK_PROXY = "http://127.0.0.1:9"
_LOOPBACK = "127.0.0.1,localhost,::1"
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
# Variables of the user's own Pulumi set-up that must not leak into an isolated run.
_USER_PULUMI_PREFIXES = ("PULUMI_", "EDGEE_")


def make_project_venv(venv: Path, *requirements: str, isolated: bool = False) -> Path:
    """A virtualenv for a Python project (``runtime.options.virtualenv``) with
    ``requirements`` (e.g. a checkout or a wheel) installed. By default it sees this
    interpreter's packages and installs no dependencies, so nothing is downloaded but a
    build backend; ``isolated`` makes it as a user's project has it, with the
    requirements' own dependencies only (what timings should see)."""
    shared = () if isolated else ("--system-site-packages",)
    subprocess.run([sys.executable, "-m", "venv", *shared, str(venv)], check=True)  # noqa: S603
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    deps = () if isolated else ("--no-deps",)
    subprocess.run(  # noqa: S603 - the venv's own pip
        [*pip, "--disable-pip-version-check", *deps, *requirements], check=True
    )
    return venv


class CliCommandError(AssertionError):
    """A ``pulumi`` command exited other than expected; carries what it printed."""

    def __init__(self, run: CliRun) -> None:
        super().__init__(
            f"`pulumi {' '.join(run.args)}` exited {run.returncode}\n"
            f"--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
        )
        self.run = run


@dataclass(frozen=True)
class CliRun:
    """What one command printed and how it exited."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def _is_document(self) -> bool:
        """A preview's ``--json`` is one indented document; other commands stream events."""
        return self.stdout.lstrip().startswith("{\n")

    def events(self) -> list[dict[str, Any]]:
        """The engine events of a ``--json`` up, refresh or destroy (one JSON object a line)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def records(self) -> list[StepRecord]:
        """Each resource's step in order of first appearance, the stack included, from
        ``--json`` output: what it became (``resOutputsEvent``) over what was tried
        (``resourcePreEvent``; a refresh's pre event says "refresh"), a replacement's
        several steps as one ``replace``, and for a refresh the outputs it found changed."""
        if self._is_document():
            steps = json.loads(self.stdout).get("steps", [])
            return [StepRecord(s["urn"], _reported(s["op"])) for s in steps]
        found: dict[str, StepRecord] = {}
        for event in self.events():
            for kind in ("resourcePreEvent", "resOutputsEvent"):
                if kind not in event:
                    continue
                meta = event[kind]["metadata"]
                before = found.get(meta["urn"], StepRecord(meta["urn"], ""))
                refreshed = before.refreshed or meta["op"] == "refresh"
                changed = (_changed_outputs(meta) if refreshed else ()) or before.changed
                found[meta["urn"]] = StepRecord(
                    meta["urn"], _reported(meta["op"]), changed, refreshed
                )
        return list(found.values())

    def violations(self) -> list[dict[str, Any]]:
        """The policy violations among the events (``policyEvent``: ``policyName``,
        ``resourceUrn``, ``message``, ``enforcementLevel``)."""
        return [e["policyEvent"] for e in self.events() if "policyEvent" in e]

    def steps(self) -> dict[str, str]:
        """Each resource's step (``create``, ``update``, ``same``, ``delete``, ``replace``
        and the like) by resource name, the stack itself left out."""
        return {r.name: r.op for r in self.records() if r.type != "pulumi:pulumi:Stack"}

    def changes(self) -> dict[str, str]:
        """``steps()`` without the resources left as they were (a preview's ``--json``
        lists only the changed ones)."""
        return {name: op for name, op in self.steps().items() if op != "same"}


_REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced"})


def _reported(op: str) -> str:
    return "replace" if op in _REPLACE_OPS else op


@dataclass(frozen=True)
class StepRecord:
    """One resource's step as the CLI reported it."""

    urn: str
    op: str
    changed: tuple[str, ...] = ()
    refreshed: bool = False

    @property
    def type(self) -> str:
        return self.urn.split("::")[-2]

    @property
    def name(self) -> str:
        return self.urn.split("::")[-1]


class PulumiCli:
    """The ``pulumi`` of ``bin_dir`` (with its language hosts beside it), isolated under
    ``home``; ``path`` puts more folders on ``PATH`` (e.g. where ``pulumi-resource-edgee``
    is installed)."""

    def __init__(
        self,
        bin_dir: Path,
        home: Path,
        *,
        path: Sequence[Path] = (),
        passphrase: str = "correct horse battery staple",  # noqa: S107 - a throwaway stack
    ) -> None:
        self.bin_dir = bin_dir
        self.home = home
        self.backend = home / "backend"
        self.backend.mkdir(parents=True, exist_ok=True)
        self._path = [bin_dir, *path]
        self._passphrase = passphrase

    @property
    def pulumi(self) -> Path:
        return self.bin_dir / "pulumi"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(_USER_PULUMI_PREFIXES) and k not in _PROXY_VARIABLES
        }
        env.update(
            {
                "PATH": os.pathsep.join([*map(str, self._path), os.environ.get("PATH", "")]),
                "PULUMI_HOME": str(self.home / ".pulumi"),
                "PULUMI_BACKEND_URL": self.backend.as_uri(),
                "PULUMI_CONFIG_PASSPHRASE": self._passphrase,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_SKIP_CONFIRMATIONS": "true",
                "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
                "NO_COLOR": "1",
                "NO_PROXY": _LOOPBACK,
                "no_proxy": _LOOPBACK,
            }
        )
        env.update(dict.fromkeys(_PROXY_VARIABLES, _NO_NETWORK_PROXY))
        return env

    def run(
        self,
        *args: str,
        cwd: Path,
        check: bool = True,
        timeout: float = 600,
        stdin: str = "",
        env: Mapping[str, str] | None = None,
    ) -> CliRun:
        """Run ``pulumi ARGS`` in ``cwd``; with ``check``, a non-zero exit raises.
        ``stdin`` is what the command reads (a secret value, kept out of ``args``); ``env``
        adds variables (the isolated environment leaves the user's ``PULUMI_*`` out)."""
        completed = subprocess.run(  # noqa: S603 - the caller's own CLI
            [str(self.pulumi), *args],
            cwd=cwd,
            env={**self.env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            check=False,
        )
        run = CliRun(tuple(args), completed.returncode, completed.stdout, completed.stderr)
        if check and run.returncode != 0:
            raise CliCommandError(run)
        return run


class CliStack:
    """One stack of the project in ``project_dir``, driven through ``cli``."""

    def __init__(self, cli: PulumiCli, project_dir: Path, name: str = "dev") -> None:
        self.cli = cli
        self.project_dir = project_dir
        self.name = name

    def run(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> CliRun:
        return self.cli.run(*args, "--stack", self.name, cwd=self.project_dir, check=check, env=env)

    def init(self) -> CliStack:
        self.cli.run("stack", "init", self.name, cwd=self.project_dir)
        return self

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        command = ("config", "set", "--stack", self.name)
        if secret:
            # From standard input, so the secret is in no argument list (nor any error).
            self.cli.run(*command, "--secret", key, cwd=self.project_dir, stdin=value)
        else:
            # `--` so that a value such as `-5` is not read as a flag.
            self.cli.run(*command, "--plaintext", "--", key, value, cwd=self.project_dir)

    def configure_edgee(self, console_url: str, organization_id: str, token: str) -> None:
        """The provider settings, as a user sets them (the token as a secret)."""
        self.set_config("edgee:consoleUrl", console_url)
        self.set_config("edgee:organizationId", organization_id)
        self.set_config("edgee:apiToken", token, secret=True)

    def preview(self, *flags: str, check: bool = True) -> CliRun:
        return self.run("preview", "--json", *flags, check=check)

    def up(self, *flags: str, check: bool = True) -> CliRun:
        return self.run("up", "--yes", "--skip-preview", "--json", *flags, check=check)

    def refresh(self, *flags: str, check: bool = True) -> CliRun:
        return self.run("refresh", "--yes", "--skip-preview", "--json", *flags, check=check)

    def destroy(self, *flags: str, check: bool = True) -> CliRun:
        return self.run("destroy", "--yes", "--skip-preview", "--json", *flags, check=check)

    def outputs(self, *, show_secrets: bool = False) -> dict[str, Any]:
        flags = ("--show-secrets",) if show_secrets else ()
        result: dict[str, Any] = json.loads(self.run("stack", "output", "--json", *flags).stdout)
        return result

    def export(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.run("stack", "export").stdout)
        return result

    def resources(self) -> dict[str, dict[str, Any]]:
        """The state's custom resources by name (providers and the stack left out)."""
        deployment = self.export()["deployment"]
        return {
            r["urn"].split("::")[-1]: r
            for r in deployment.get("resources", [])
            if r.get("custom") and not r["type"].startswith("pulumi:providers:")
        }


# The checkpoint's mark of a secret value (a public constant of Pulumi's, not a secret).
_SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # noqa: S105


def _plain(value: Any) -> tuple[Any, bool]:
    """A checkpoint value with its secret envelopes opened (``--show-secrets`` exports hold
    the plaintext in ``plaintext``), and whether it was a secret."""
    if isinstance(value, dict):
        if _SECRET_SIGNATURE in value:
            return json.loads(value.get("plaintext", "null")), True
        opened = {k: _plain(v)[0] for k, v in value.items()}
        return opened, False
    if isinstance(value, list):
        return [_plain(v)[0] for v in value], False
    return value, False


class CliProgramRunner:
    """``ProgramRunner``'s interface over the real CLI: the same commands give the same
    kind of results (``RunResult`` with ``ProgramStep``s as the CLI reports them, stack
    outputs with their secretness, ``state`` with secrets opened), so code written against
    the harness (the demo) runs unchanged under ``pulumi``. Provider calls are not visible
    through the CLI: each step's ``calls`` is empty."""

    def __init__(self, stack: CliStack) -> None:
        self.stack = stack

    def set_config(self, key: str, value: Any, *, secret: bool = False) -> None:
        self.stack.set_config(key, str(value), secret=secret)

    @property
    def state(self) -> StackState:
        from .engine import ResourceState
        from .program import StackState

        deployment = json.loads(self.stack.run("stack", "export", "--show-secrets").stdout)
        resources = []
        for entry in deployment["deployment"].get("resources", []):
            opened = {k: _plain(v) for k, v in entry.get("outputs", {}).items()}
            resources.append(
                ResourceState(
                    urn=entry["urn"],
                    type=entry["type"],
                    custom=bool(entry.get("custom")),
                    id=entry.get("id", ""),
                    inputs={k: _plain(v)[0] for k, v in entry.get("inputs", {}).items()},
                    outputs={k: value for k, (value, _) in opened.items()},
                    secret_outputs=frozenset(k for k, (_, secret) in opened.items() if secret),
                    pending_delete=bool(entry.get("delete")),
                )
            )
        return StackState(tuple(resources))

    def preview(self) -> RunResult:
        return self._result("preview", self.stack.preview(check=False))

    def up(self) -> RunResult:
        return self._result("up", self.stack.up(check=False))

    def refresh(self) -> RunResult:
        return self._result("refresh", self.stack.refresh(check=False))

    def destroy(self) -> RunResult:
        return self._result("destroy", self.stack.destroy(check=False))

    def _result(self, operation: Operation, run: CliRun) -> RunResult:
        from .program import OutputValue, ProgramStep, RunResult

        steps = [
            ProgramStep(urn=r.urn, op=cast("StepOp", r.op), changed=r.changed)
            for r in run.records()
        ]
        error = None if run.returncode == 0 else CliCommandError(run)
        # A preview's `--json` carries no stack outputs (the CLI's text display does).
        outputs: dict[str, OutputValue] = {}
        if operation in ("up", "refresh") and error is None:
            shown = self.stack.outputs(show_secrets=True)
            masked = self.stack.outputs()
            for name, value in shown.items():
                outputs[name] = OutputValue(value, masked.get(name) == "[secret]" != value)
        return RunResult(operation, steps, outputs, [], error, run.stderr)


def _changed_outputs(metadata: dict[str, Any]) -> tuple[str, ...]:
    """The outputs a step's old and new states differ in (what a refresh found changed)."""
    if not metadata.get("old") or not metadata.get("new"):
        return ()  # a create or a delete: nothing to compare
    old = metadata["old"].get("outputs") or {}
    new = metadata["new"].get("outputs") or {}
    return tuple(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))
