"""The engine's commands in provider processes of their own, against an emulator whose faults
are armed step by step.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_edgee.emulator.app import ConsoleApp, key_json, request_json
from pulumi_edgee.emulator.server import EmulatorServer
from pulumi_edgee.provider import ApiKeyProvider, RotatingApiKeyProvider
from pulumi_edgee.registry import API_KEY, Resource

from ..emulator import EmulatorHandle, run_emulator
from ..engine import (
    DYNAMIC_DOOR,
    SECRET_CONFIG_KEYS,
    FrontDoor,
    LifeCycle,
    ModelStack,
    Props,
    edgee_config,
    provider_payload,
)
from ..provider_server import ProviderCallError, ProviderServer
from ..secrets import LeakDetector
from .scenarios import (
    GATEWAY_KEY,
    ORGANIZATION,
    OTHER_ORGANIZATION,
    PROVIDER,
    PROVIDER_BUDGETS,
    TOKEN,
)


def urn(name: str) -> str:
    """The URN of a scenario stack's resource."""
    return ModelStack(project="scenarios", stack="faults").urn(name)


def new_stack(
    name: str = "faults", door: FrontDoor = DYNAMIC_DOOR, row: Resource = API_KEY
) -> ModelStack:
    """An empty scenario stack of the registry row's resources, through the front door."""
    return ModelStack(project="scenarios", stack=name, type=door.type_for(row))


# The dynamic provider of each registry row.
_PROVIDERS: dict[str, type[ApiKeyProvider]] = {
    cls.row.name: cls for cls in (ApiKeyProvider, RotatingApiKeyProvider)
}


class StepFailed(Exception):
    """A provider call failed, so the command stopped there (as the engine stops).

    `details` is what the user would read: the provider's error, traceback included.
    """

    def __init__(self, error: ProviderCallError) -> None:
        super().__init__(error.details)
        self.error = error
        self.details = error.details


# The outputs that hold a gateway key (a rotating key's current and previous).
_SECRETS = ("key", "previousKey")


class ProviderProcess:
    """One command's provider process: the engine model's commands on a stack, every
    output searched for leaks, a failed provider call raised as `StepFailed`."""

    def __init__(
        self,
        server: ProviderServer,
        provider: str | None,
        leaks: LeakDetector,
        door: FrontDoor = DYNAMIC_DOOR,
    ) -> None:
        self.server = server
        self.leaks = leaks
        self.provider = provider
        self.engine = LifeCycle(server, door=door, provider=provider, on_outputs=self._keep)

    def _keep(self, label: str, outputs: Props) -> None:
        """The secrets are registered, the rest searched; each must arrive as a secret."""
        for name in _SECRETS:
            if name in outputs.values and name not in outputs.secrets:
                raise AssertionError(f"{label}: the gateway key did not arrive as a secret")
            self.leaks.add_secrets(outputs.values.get(name))
        self.leaks.record(label, {k: v for k, v in outputs.values.items() if k not in _SECRETS})

    def _run(self, command: Callable[[], object]) -> None:
        try:
            command()
        except ProviderCallError as error:
            self.leaks.record(f"{error.method} error", error.details)
            raise StepFailed(error) from None

    def up(self, stack: ModelStack, program: Mapping[str, Mapping[str, Any]]) -> None:
        """`pulumi up`: creates, updates and replacements in program order, then deletes."""
        self._run(lambda: stack.up(self.engine, program, self.provider))

    def refresh(self, stack: ModelStack) -> None:
        """`pulumi refresh`: read every resource; a failure keeps it and the others go on."""
        self._run(lambda: stack.refresh(self.engine))

    def destroy(self, stack: ModelStack) -> None:
        """`pulumi destroy`: delete in reverse order; a failure keeps that resource."""
        self._run(lambda: stack.destroy(self.engine))


def _provider_process_env(cert_dir: str) -> dict[str, str]:
    # Every "process" builds an HTTP client; loading the system CA bundle costs ~30 ms
    # and ~1 MB each. The emulator is plain HTTP on loopback, so an empty CA directory
    # changes nothing but the cost.
    return {"SSL_CERT_FILE": "", "SSL_CERT_DIR": cert_dir, **PROVIDER_BUDGETS}


class Harness:
    """An emulator and a provider server of its own, and the engine's commands on a model
    stack (`up`, `refresh`, `destroy`), each in a provider process of its own.

    Use as a context manager. `leaks` collects the token, every gateway key seen and
    every artefact (outputs, errors, request log, server logs) for the leak search.
    `door` is how its provider process is spoken to (the dynamic provider's server here).
    """

    door: FrontDoor = DYNAMIC_DOOR

    def __init__(
        self,
        *,
        fresh_processes: bool = True,
        restart_every: int = 400,
        cert_dir: str | None = None,
    ) -> None:
        self.fresh_processes = fresh_processes
        self.restart_every = restart_every
        self._exit = contextlib.ExitStack()
        if cert_dir is None:
            cert_dir = self._exit.enter_context(tempfile.TemporaryDirectory(prefix="edgee-no-ca-"))
        self._env = _provider_process_env(cert_dir)
        extra = [OTHER_ORGANIZATION]
        self.emulator: EmulatorHandle = self._exit.enter_context(
            run_emulator(token=TOKEN, organization_id=ORGANIZATION, extra_organization_ids=extra)
        )
        self._app = ConsoleApp(
            self.emulator.backend,
            token=TOKEN,
            organization_id=ORGANIZATION,
            extra_organization_ids=extra,
        )
        self._server: ProviderServer | None = None
        self._generations = 0
        # Two stacks' commands may start at once: a provider binds the server's last
        # Configure on its first call, and the server must not restart under a command.
        self._lock = threading.Lock()
        self._active = 0
        self._urls: set[str] = set()
        self.leaks = LeakDetector()
        self.leaks.add_secrets(TOKEN)
        self.log_leaks: list[str] = []

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop_server()
        self._exit.close()

    def _stop_server(self) -> None:
        if self._server is not None:
            self._stop(self._server)
            self._server = None
            self._urls.clear()

    def _stop(self, server: ProviderServer) -> None:
        """Stop a server and search what it wrote for secrets."""
        server.stop()
        for label, text in (
            ("server stdout", server.stdout_text()),
            ("server stderr", server.stderr_text()),
        ):
            self.leaks.record(label, text)
            # The server outlives many scenarios: look for any gateway key, too.
            if GATEWAY_KEY.search(text):
                self.log_leaks.append(f"a gateway key in the provider's {label}")

    def _current_server(self) -> ProviderServer:
        """The running server; a new one after `restart_every` processes."""
        restart = self._generations >= self.restart_every and self._active == 0
        if self._server is None or restart:
            self._stop_server()
            self._server = ProviderServer(project="scenarios", env=self._env)
            self._server.get_plugin_info()
            self._generations = 0
        return self._server

    def _configured(self, url: str, organization: str = ORGANIZATION) -> ProviderServer:
        self._generations += 1
        assert self._server is not None
        self._server.configure(
            edgee_config(url, token=TOKEN, organization=organization),
            secret_keys=SECRET_CONFIG_KEYS,
        )
        return self._server

    @contextlib.contextmanager
    def _endpoint(self) -> Iterator[str]:
        """A listening port of this worker's emulator that this server has never seen."""
        held: list[EmulatorServer] = []
        try:
            while True:
                server = EmulatorServer(self._app)
                held.append(server)
                if server.url not in self._urls:
                    break
            self._urls.add(server.url)
            server.start()
            yield server.url
        finally:
            for each in held:
                each.stop()

    @contextlib.contextmanager
    def process(
        self,
        leaks: LeakDetector | None = None,
        organization: str = ORGANIZATION,
        row: Resource = API_KEY,
    ) -> Iterator[ProviderProcess]:
        """A provider process for one command (see the module docstring) on resources of
        the registry `row`, configured for `organization`; safe to use from two threads at
        once."""
        leaks = self.leaks if leaks is None else leaks
        if not self.fresh_processes and organization == ORGANIZATION and row is API_KEY:
            with self._lock:
                if self._server is None:
                    self._current_server()
                    self._configured(self.emulator.url)
                server = self._server
            assert server is not None
            yield ProviderProcess(server, PROVIDER, leaks)
            return
        with contextlib.ExitStack() as held:
            with self._lock:
                server = self._current_server()
                url = held.enter_context(self._endpoint())
                self._configured(url, organization)
                instance = _PROVIDERS[row.name]()
                instance.process = (os.getpid(), id(self), url)  # type: ignore[attr-defined]
                provider = provider_payload(instance)
                # The server configures a provider on its first call, with the last Configure.
                server.check(urn("warm-up"), {}, {"name": "warm-up", "__provider": provider})
                self._active += 1
            try:
                yield ProviderProcess(server, provider, leaks)
            finally:
                with self._lock:
                    self._active -= 1

    def up(self, stack: ModelStack, program: Mapping[str, dict[str, Any]]) -> None:
        """`pulumi up` of `program` on `stack`; raises StepFailed as the CLI would fail."""
        with self.process() as process:
            process.up(stack, program)

    def refresh(self, stack: ModelStack) -> None:
        """`pulumi refresh` of `stack`; raises StepFailed if any read failed."""
        with self.process() as process:
            process.refresh(stack)

    def destroy(self, stack: ModelStack) -> None:
        """`pulumi destroy` of `stack`; raises StepFailed at the first failed delete."""
        with self.process() as process:
            process.destroy(stack)

    def live_keys(self) -> dict[str, dict[str, Any]]:
        """The organization's live keys by id, secrets included (registered as secrets)."""
        keys = [key_json(k, secret=True, email=True) for k in self.emulator.backend.all_keys()]
        live = {str(k["id"]): k for k in keys if k["organization_id"] == ORGANIZATION}
        self.leaks.add_secrets(*(str(k["key"]) for k in live.values()))
        return live

    def take_requests(self) -> list[dict[str, Any]]:
        """The Console API requests logged since the last call (then the log is emptied)."""
        # The backend directly, not the admin API: this runs after every command.
        backend = self.emulator.backend
        requests = [request_json(record) for record in backend.requests()]
        backend.clear_requests()
        self.leaks.record("request log", requests)
        return requests
