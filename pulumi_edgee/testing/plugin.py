"""Drive the `edgee` provider plugin the way the Pulumi engine does.

`EngineLogServer` is the engine's side the plugin talks back to (the Engine service's
`Log`); `PluginProcess` starts `pulumi-resource-edgee <engine address>` as the engine
does and speaks the ResourceProvider protocol with secrets kept wrapped; `PluginEngine`
runs the engine's call sequences per CLI command (preview, up, refresh, import, destroy),
each command with a fresh plugin process, keeping the stack's state between them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import sys
import sysconfig
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2

from ..registry import API_KEY, PACKAGE
from .engine import (
    PLUGIN_DOOR,
    EngineError,
    LifeCycle,
    ModelStack,
    Props,
    ResourceState,
)
from .provider_server import (
    CheckResponse,
    DiffResponse,
    ProviderServer,
    _target,
    decode_properties,
    diff_response,
    encode_properties,
)

__all__ = [
    "EngineLogServer",
    "InvokeResponse",
    "LogRecord",
    "PluginEngine",
    "PluginProcess",
    "PluginStep",
    "plugin_command",
]

API_KEY_TYPE = API_KEY.token
PROVIDER_TYPE = f"pulumi:providers:{PACKAGE}"


def plugin_command() -> list[str]:
    """How the engine finds the plugin: `pulumi-resource-edgee` on PATH, or where pip put
    this interpreter's console scripts (the same file in an activated environment); in a
    source tree that was never installed, the same entry point run with this interpreter."""
    name = f"pulumi-resource-{PACKAGE}"
    found = shutil.which(name) or shutil.which(name, path=sysconfig.get_path("scripts"))
    return [found] if found else [sys.executable, "-m", "pulumi_edgee.plugin"]


class LogRecord(NamedTuple):
    severity: str
    message: str
    urn: str


class EngineLogServer(engine_pb2_grpc.EngineServicer):
    """The engine's gRPC service, as far as a provider uses it: `Log`, recorded."""

    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"
        self._server.start()

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        record = LogRecord(
            engine_pb2.LogSeverity.Name(request.severity), request.message, request.urn
        )
        with self._lock:
            self.records.append(record)
        return empty_pb2.Empty()

    def stop(self) -> None:
        self._server.stop(grace=None)

    def __enter__(self) -> EngineLogServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class InvokeResponse(NamedTuple):
    """A function's result (plain values), its secret names, and argument failures."""

    result: dict[str, Any]
    secret_keys: frozenset[str]
    failures: list[tuple[str, str]]


class PluginProcess(ProviderServer):
    """`pulumi-resource-edgee [flags] <engine address>` and a client speaking like the engine."""

    def __init__(
        self,
        engine_address: str,
        *,
        flags: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        call_timeout: float | None = 60.0,
    ) -> None:
        super().__init__(
            env=env,
            cwd=cwd,
            call_timeout=call_timeout,
            command=[*plugin_command(), *flags, engine_address],
        )

    def get_schema(self) -> dict[str, Any]:
        response = self._call("GetSchema", provider_pb2.GetSchemaRequest(version=0))
        schema: dict[str, Any] = json.loads(response.schema)
        return schema

    def check_config(
        self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None
    ) -> CheckResponse:
        """CheckConfig with the provider's inputs keyed by plain name (`apiToken`)."""
        response = self._call(
            "CheckConfig",
            provider_pb2.CheckRequest(
                **_target(f"urn:pulumi:test::project::{PROVIDER_TYPE}::default"),
                olds=encode_properties(olds or {}),
                news=encode_properties(news),
            ),
        )
        inputs, secret_keys = decode_properties(response.inputs)
        return CheckResponse(
            inputs, [(f.property, f.reason) for f in response.failures], secret_keys
        )

    def diff_config(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResponse:
        response = self._call(
            "DiffConfig",
            provider_pb2.DiffRequest(
                **_target(f"urn:pulumi:test::project::{PROVIDER_TYPE}::default"),
                olds=encode_properties(olds),
                news=encode_properties(news),
                old_inputs=encode_properties(olds),
            ),
        )
        return diff_response(response)

    def configure(  # plain config names, as the engine sends them
        self, config: Mapping[str, Any], *, secret_keys: Collection[str] = ()
    ) -> Any:
        """Configure like the engine: `args` keyed by plain name with secrets wrapped, and
        the older `variables` spelling (`edgee:config:apiToken`) in plain text."""

        response = self._call(
            "Configure",
            provider_pb2.ConfigureRequest(
                variables={f"{PACKAGE}:config:{k}": str(v) for k, v in config.items()},
                args=encode_properties(
                    {
                        k: rpc.wrap_rpc_secret(v) if k in secret_keys else v
                        for k, v in config.items()
                    }
                ),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
            ),
        )
        return response

    def invoke(self, token: str, args: Mapping[str, Any]) -> InvokeResponse:
        response = self._call(
            "Invoke", provider_pb2.InvokeRequest(tok=token, args=encode_properties(args))
        )
        result, secret_keys = decode_properties(getattr(response, "return"))
        return InvokeResponse(
            result, secret_keys, [(f.property, f.reason) for f in response.failures]
        )


@dataclass
class PluginStep:
    """What a command did (or, in a preview, would do) to one resource."""

    name: str
    op: str  # create, update, replace, delete, same, refresh, import
    diff: DiffResponse | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_keys: frozenset[str] = frozenset()


@dataclass
class PluginEngine:
    """The engine's commands for the plugin's resources (of `type_token`, one type per
    stack; `edgee:index:ApiKey` unless given) through the plugin: the
    same call sequences as for the dynamic provider (`LifeCycle` on a `ModelStack`, spoken
    to as `PLUGIN_DOOR`), a fresh plugin process per command, each started with the
    engine's handshake (GetPluginInfo, CheckConfig, DiffConfig once the config changed,
    Configure). The stack's state is kept between commands.

    `config` is the provider's config by plain name; `answers` collects every response
    (for secret checks), `logs` what the plugin sent to the engine's log.
    """

    config: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    stack: str = "test"
    project: str = "project"
    answers: list[tuple[str, Any]] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    old_config: dict[str, Any] | None = None
    # The resources' type (one per stack): `edgee:index:ApiKey` unless given.
    type_token: str = PLUGIN_DOOR.type_token
    model: ModelStack = field(init=False)

    def __post_init__(self) -> None:
        self.model = ModelStack(self.project, self.stack, self.type_token)

    @property
    def state(self) -> dict[str, ResourceState]:
        return self.model.resources

    def urn(self, name: str) -> str:
        return self.model.urn(name)

    # -- one command ------------------------------------------------------------------

    def _start(self, engine: EngineLogServer) -> PluginProcess:
        """Start and configure the plugin as the engine does at the start of a command."""
        plugin = PluginProcess(engine.address, env=self.env)
        try:
            plugin.get_plugin_info()
            checked = plugin.check_config(self.config)
            self.answers.append(("CheckConfig", checked))
            if checked.failures:
                raise EngineError(
                    "error: could not validate provider configuration: "
                    + "; ".join(f"{prop}: {reason}" for prop, reason in checked.failures)
                )
            if self.old_config is not None:
                plugin.diff_config(self.old_config, checked.inputs)
            plugin.configure(checked.inputs, secret_keys=checked.secret_keys)
        except BaseException:
            self._finish(plugin, engine)
            raise
        self.old_config = checked.inputs
        return plugin

    def _finish(self, plugin: PluginProcess, engine: EngineLogServer) -> None:
        plugin.stop()
        self.stderr.append(plugin.stderr_text() + plugin.stdout_text())
        self.logs.extend(engine.records)

    def _command(
        self, run: Callable[[LifeCycle], list[PluginStep]], preview: bool = False
    ) -> list[PluginStep]:
        with EngineLogServer() as engine:
            plugin = self._start(engine)
            lifecycle = LifeCycle(
                plugin,
                door=PLUGIN_DOOR,
                preview=preview,
                on_answer=lambda method, answer: self.answers.append((method, answer)),
            )
            try:
                return run(lifecycle)
            finally:
                self._finish(plugin, engine)

    def _step(self, model: ModelStack, name: str, op: str) -> PluginStep:
        done = model.registrations.get(name)
        if done is None or op == "delete":
            return PluginStep(name, op)
        return PluginStep(name, op, done.diff, done.outputs.values, done.outputs.secrets)

    # -- the CLI commands -------------------------------------------------------------

    def _deploy(
        self, program: Mapping[str, Mapping[str, Any]], *, preview: bool
    ) -> list[PluginStep]:
        # A preview changes no state: it runs on a copy.
        model = copy.deepcopy(self.model) if preview else self.model

        def run(lifecycle: LifeCycle) -> list[PluginStep]:
            done = model.up(lifecycle, program, provider=None)
            return [self._step(model, name, op) for name, op in done if op != "delete-replaced"]

        return self._command(run, preview)

    def preview(self, program: Mapping[str, Mapping[str, Any]]) -> list[PluginStep]:
        """`pulumi preview` of a program declaring these resources (name -> inputs)."""
        return self._deploy(program, preview=True)

    def up(self, program: Mapping[str, Mapping[str, Any]]) -> list[PluginStep]:
        """`pulumi up`: creates, updates, replacements (create first), then deletes."""
        return self._deploy(program, preview=False)

    def refresh(self) -> list[PluginStep]:
        """`pulumi refresh`: Read with old outputs and inputs (then the engine's refresh
        Diff); an empty id drops the resource."""

        def run(lifecycle: LifeCycle) -> list[PluginStep]:
            steps = []
            for name, op in self.model.refresh(lifecycle):
                if op == "refresh-delete":
                    steps.append(PluginStep(name, "delete"))
                    continue
                res = self.model.resources[name]
                steps.append(PluginStep(name, "refresh", None, res.outputs, res.secret_outputs))
            return steps

        return self._command(run)

    def import_(
        self, name: str, key_id: str, program_inputs: Mapping[str, Any]
    ) -> list[PluginStep]:
        """The `import` resource option: Read(id) alone, then Check with the program's
        inputs and Diff, which must find no change."""

        def run(lifecycle: LifeCycle) -> list[PluginStep]:
            urn = self.urn(name)
            imported = lifecycle.refresh(
                ResourceState(urn=urn, type=self.type_token, custom=True, id=key_id, external=True)
            )
            if imported is None:
                raise EngineError(f"{name}: the provider returned no state for {key_id}")
            inputs = lifecycle.check(urn, imported.inputs, Props(dict(program_inputs)))
            op, diff = lifecycle.diff(urn, imported, inputs)
            if op != "same":
                raise EngineError(
                    f"{name}: inputs to import do not match the existing resource: "
                    f"{sorted(diff.detailed_diff)}"
                )
            self.model.resources[name] = dataclasses.replace(
                imported, inputs=inputs.values, secret_inputs=inputs.secrets, external=False
            )
            return [PluginStep(name, "import", diff, imported.outputs, imported.secret_outputs)]

        return self._command(run)

    def destroy(self) -> list[PluginStep]:
        """`pulumi destroy`: Delete every resource, newest first."""

        def run(lifecycle: LifeCycle) -> list[PluginStep]:
            return [PluginStep(name, "delete") for name, _ in self.model.destroy(lifecycle)]

        return self._command(run)

    def invoke(self, token: str, args: Mapping[str, Any]) -> InvokeResponse:
        """A function call of a program (`fn::invoke`), in its own command."""
        result: list[InvokeResponse] = []

        def run(lifecycle: LifeCycle) -> list[PluginStep]:
            plugin = lifecycle.server
            assert isinstance(plugin, PluginProcess)
            result.append(plugin.invoke(token, args))
            self.answers.append(("Invoke", result[0]))
            return []

        self._command(run)
        return result[0]
