"""Run the Console API emulator from tests or scripts, and drive its admin API.

`run_emulator` serves from a background thread of the current process (fast, and the
backend object is at hand); `spawn_emulator` runs `python -m pulumi_edgee.emulator` as
a child process for users who want the emulator apart from their program. Both yield a
handle whose admin helpers do real HTTP to `/_emulator/`, so they exercise the same
surface any other tool would.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx

from pulumi_edgee.emulator.app import ConsoleApp
from pulumi_edgee.emulator.backend import EmulatorBackend, utc_now
from pulumi_edgee.emulator.server import EmulatorServer

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class EmulatorAdminError(RuntimeError):
    """An admin call was refused, e.g. a fault rule the emulator finds invalid."""


def is_access_probe(request: dict[str, Any]) -> bool:
    """Whether a logged request is a provider's access check (one key of the list, once per
    process at its first Check): it proves the token and organization and touches nothing,
    so tests that count walks or ask that a preview touch no key leave it out."""
    return (
        request["method"] == "GET"
        and request["path"].endswith("/api_keys")
        and request.get("query") == {"limit": "1"}
    )


@dataclass
class EmulatorClient:
    """Where an emulator listens and how to talk to it; the base of both handles."""

    url: str
    token: str = field(repr=False)
    organization_id: str
    _admin: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def organization_url(self) -> str:
        """The Console API base of the organization, `{url}/v1/organizations/{id}`."""
        return f"{self.url}/v1/organizations/{self.organization_id}"

    def close(self) -> None:
        """Release the admin HTTP client."""
        if self._admin is not None:
            self._admin.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self._admin is None:
            # Plain HTTP to loopback, so no TLS: skip building a context (tens of ms each).
            self._admin = httpx.Client(
                base_url=self.url,
                timeout=10.0,
                verify=False,  # noqa: S501
            )
        # Admin writes must be JSON (a guard against web pages), even with no fields.
        if body is None and method != "GET":
            body = {}
        response = self._admin.request(method, f"/_emulator/{path}", json=body)
        if response.is_error:
            raise EmulatorAdminError(
                f"{method} /_emulator/{path}: {response.status_code} {response.text}"
            )
        return response.json()

    def add_fault(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Arm a fault rule (see the admin section of docs/console-api.md); returns it."""
        rule: dict[str, Any] = self._call("POST", "faults", {"kind": kind, **fields})
        return rule

    def faults(self) -> list[dict[str, Any]]:
        """The rules still armed, with their `remaining` counts."""
        faults: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return faults

    def clear_faults(self) -> None:
        """Disarm every rule."""
        self._call("DELETE", "faults")

    def requests(self) -> list[dict[str, Any]]:
        """The Console API requests answered so far, oldest first."""
        requests: list[dict[str, Any]] = self._call("GET", "requests")["requests"]
        return requests

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "requests")

    def keys(self) -> list[dict[str, Any]]:
        """Every live key of every organization, secret `key` and `email` included."""
        keys: list[dict[str, Any]] = self._call("GET", "keys")["keys"]
        return keys

    def reset(self) -> None:
        """Forget all keys, faults and the request log."""
        self._call("POST", "reset")

    def insert_key(self, **fields: Any) -> dict[str, Any]:
        """Store a key exactly as given (odd fields too), as another tool might have made it."""
        key: dict[str, Any] = self._call("POST", "keys", fields)
        return key

    def organizations(self) -> list[str]:
        """The organizations the token reaches, the default first."""
        organizations: list[str] = self._call("GET", "organizations")["organizations"]
        return organizations

    def add_organization(self, organization_id: str) -> None:
        """Serve one more organization, reachable by the same token."""
        self._call("POST", "organizations", {"id": organization_id})

    def clock_offset(self) -> float:
        """Seconds by which the emulator's clock is shifted."""
        offset: float = self._call("GET", "clock")["offset_seconds"]
        return offset

    def set_clock_offset(self, seconds: float) -> None:
        """Skew the emulator's clock (negative: behind); `reset` sets it back to 0."""
        self._call("POST", "clock", {"offset_seconds": seconds})

    def mark_used(self, key_id: str) -> dict[str, Any]:
        """Set the key's `last_used_at` to now, as gateway traffic would; returns the key."""
        key: dict[str, Any] = self._call("POST", f"keys/{key_id}/use")
        return key

    def gateway_spend(self, key_id: str) -> dict[str, Any]:
        """The key's Gateway spend this month (`spent_usd`, `month`, `max_usage`)."""
        spend: dict[str, Any] = self._call("GET", f"keys/{key_id}/spend")
        return spend

    def set_gateway_spend(self, key_id: str, usd: float) -> dict[str, Any]:
        """Set the key's Gateway spend this month, e.g. to its `max_usage` to exhaust it."""
        spend: dict[str, Any] = self._call("POST", f"keys/{key_id}/spend", {"spent_usd": usd})
        return spend


@dataclass
class EmulatorHandle(EmulatorClient):
    """An emulator served by this process; `backend` allows direct inspection."""

    backend: EmulatorBackend = field(repr=False)


@dataclass
class EmulatorProcess(EmulatorClient):
    """An emulator running as a child process."""

    process: subprocess.Popen[bytes] = field(repr=False)


@contextmanager
def run_emulator(
    *,
    token: str,
    organization_id: str,
    extra_organization_ids: Sequence[str] = (),
    read_only_token: str | None = None,
    serve_key_get: bool = False,
    state_file: str | os.PathLike[str] | None = None,
    now: Callable[[], datetime] = utc_now,
    backend: EmulatorBackend | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    app: Callable[..., ConsoleApp] = ConsoleApp,
) -> Iterator[EmulatorHandle]:
    """Serve an emulator on a free loopback port in a background thread.

    Pass `backend` to serve existing state (e.g. to restart a server over the same keys);
    otherwise a new one is made from `state_file` and `now`. `app` makes the application
    served (a subclass that checks its answers, in tests).
    """
    owned = backend is None
    if backend is None:
        backend = EmulatorBackend(state_file=state_file, now=now)
    elif state_file is not None or now is not utc_now:
        raise ValueError("pass either a backend or state_file/now, not both")
    with closing(backend) if owned else nullcontext(backend):
        yield from _serve(
            backend,
            token=token,
            organization_id=organization_id,
            extra_organization_ids=extra_organization_ids,
            read_only_token=read_only_token,
            serve_key_get=serve_key_get,
            host=host,
            port=port,
            app=app,
        )


def _serve(
    backend: EmulatorBackend,
    *,
    token: str,
    organization_id: str,
    extra_organization_ids: Sequence[str],
    read_only_token: str | None,
    serve_key_get: bool,
    host: str,
    port: int,
    app: Callable[..., ConsoleApp],
) -> Iterator[EmulatorHandle]:
    served = app(
        backend,
        token=token,
        organization_id=organization_id,
        read_only_token=read_only_token,
        serve_key_get=serve_key_get,
        extra_organization_ids=extra_organization_ids,
    )
    with EmulatorServer(served, host=host, port=port) as server:
        handle = EmulatorHandle(
            url=server.url, token=token, organization_id=organization_id, backend=backend
        )
        try:
            yield handle
        finally:
            handle.close()


@contextmanager
def spawn_emulator(
    *,
    token: str,
    organization_id: str,
    extra_organization_ids: Sequence[str] = (),
    read_only_token: str | None = None,
    serve_key_get: bool = False,
    state_file: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 15.0,
) -> Iterator[EmulatorProcess]:
    """Run `python -m pulumi_edgee.emulator` as a child process until the block ends.

    Tokens go through the environment, not the command line, so `ps` does not show them.
    """
    command = [
        sys.executable,
        "-m",
        "pulumi_edgee.emulator",
        "--host",
        host,
        "--port",
        str(port),
    ]
    for organization in (organization_id, *extra_organization_ids):
        command += ["--organization-id", organization]
    if state_file is not None:
        command += ["--state-file", os.fspath(state_file)]
    if serve_key_get:
        command.append("--serve-key-get")
    env = dict(os.environ)
    env["EDGEE_EMULATOR_TOKEN"] = token
    env.pop("EDGEE_EMULATOR_READ_ONLY_TOKEN", None)
    if read_only_token is not None:
        env["EDGEE_EMULATOR_READ_ONLY_TOKEN"] = read_only_token
    # Run the same copy of the package as this process, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
        try:
            url = _read_url(process, startup_timeout, stderr)
            handle = EmulatorProcess(
                url=url, token=token, organization_id=organization_id, process=process
            )
            try:
                yield handle
            finally:
                handle.close()
        finally:
            _terminate(process)


def _read_url(process: subprocess.Popen[bytes], timeout: float, stderr: IO[bytes]) -> str:
    """The first stdout line, which the CLI prints once the port is bound."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    line = process.stdout.readline().decode().strip() if ready else ""
    if not line.startswith("http://"):
        process.kill()
        process.wait()
        stderr.seek(0)
        detail = stderr.read().decode(errors="replace").strip()
        raise RuntimeError(f"the emulator did not start (exit {process.returncode}): {detail}")
    return line


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
