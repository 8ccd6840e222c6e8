"""Drive the `edgee` provider plugin the way the Pulumi engine does.

`EngineLogServer` is the engine's side the plugin talks back to (the Engine service's
`Log`); `PluginProcess` starts `pulumi-resource-edgee <engine address>` as the engine
does and speaks the ResourceProvider protocol with secrets kept wrapped; `PluginEngine`
runs the engine's call sequences per CLI command (preview, up, refresh, import, destroy),
each command with a fresh plugin process, keeping the stack's state between them.
"""

from __future__ import annotations

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
from .provider_server import (
    CheckResponse,
    ProviderServer,
    ReadResponse,
    UpdateResponse,
    _change,
    _target,
    decode_properties,
    encode_properties,
)

__all__ = [
    "EngineLogServer",
    "InvokeResponse",
    "LogRecord",
    "PluginDiffResponse",
    "PluginEngine",
    "PluginEngineError",
    "PluginProcess",
    "PluginStep",
    "Resource",
    "plugin_command",
]

API_KEY_TYPE = API_KEY.token
PROVIDER_TYPE = f"pulumi:providers:{PACKAGE}"

_KIND_NAMES = {v: k for k, v in provider_pb2.PropertyDiff.Kind.items()}
_CHANGES = {
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_SOME: "some",
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
}


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


class PluginDiffResponse(NamedTuple):
    """A diff with the plugin's detail: property -> kind (`UPDATE`, `ADD_REPLACE`, ...)."""

    changes: str
    replaces: list[str]
    delete_before_replace: bool
    detailed_diff: dict[str, str]
    has_detailed_diff: bool


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

    def diff_config(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> PluginDiffResponse:
        response = self._call(
            "DiffConfig",
            provider_pb2.DiffRequest(
                **_target(f"urn:pulumi:test::project::{PROVIDER_TYPE}::default"),
                olds=encode_properties(olds),
                news=encode_properties(news),
                old_inputs=encode_properties(olds),
            ),
        )
        return _diff_response(response)

    def configure(  # plain config names, as the engine sends them
        self, config: Mapping[str, Any], *, secret_keys: Collection[str] = ()
    ) -> Any:
        """Configure like the engine: `args` keyed by plain name with secrets wrapped, and
        the older `variables` spelling (`edgee:config:apiToken`) in plain text."""
        from pulumi.runtime import rpc

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

    def diff(  # type: ignore[override] # the plugin's diff carries the detail
        self,
        id: str,
        urn: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
        ignore_changes: Sequence[str] = (),
    ) -> PluginDiffResponse:
        request = provider_pb2.DiffRequest(
            **_change(id, urn, olds, news, old_inputs), ignoreChanges=list(ignore_changes)
        )
        return _diff_response(self._call("Diff", request))

    def update(  # adds the preview flag
        self,
        id: str,
        urn: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
        preview: bool = False,
    ) -> UpdateResponse:
        request = provider_pb2.UpdateRequest(
            **_change(id, urn, olds, news, old_inputs), preview=preview
        )
        outputs, secret_keys = decode_properties(self._call("Update", request).properties)
        return UpdateResponse(outputs, secret_keys)

    def invoke(self, token: str, args: Mapping[str, Any]) -> InvokeResponse:
        response = self._call(
            "Invoke", provider_pb2.InvokeRequest(tok=token, args=encode_properties(args))
        )
        result, secret_keys = decode_properties(getattr(response, "return"))
        return InvokeResponse(
            result, secret_keys, [(f.property, f.reason) for f in response.failures]
        )


def _diff_response(response: provider_pb2.DiffResponse) -> PluginDiffResponse:
    return PluginDiffResponse(
        changes=_CHANGES[response.changes],
        replaces=list(response.replaces),
        delete_before_replace=response.deleteBeforeReplace,
        detailed_diff={k: _KIND_NAMES[v.kind] for k, v in response.detailedDiff.items()},
        has_detailed_diff=response.hasDetailedDiff,
    )


class PluginEngineError(Exception):
    """A command the engine would stop with an error (the message is what it prints)."""


@dataclass
class Resource:
    """One ApiKey in the stack's state."""

    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass
class PluginStep:
    """What a command did (or, in a preview, would do) to one resource."""

    name: str
    op: str  # create, update, replace, delete, same, refresh, import
    diff: PluginDiffResponse | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_keys: frozenset[str] = frozenset()


@dataclass
class PluginEngine:
    """The engine's call sequences for `edgee:index:ApiKey` resources, over a fresh
    plugin process per command, with the stack's state kept between commands.

    `config` is the provider's config by plain name; `answers` collects every response
    (for secret checks), `logs` what the plugin sent to the engine's log.
    """

    config: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    stack: str = "test"
    project: str = "project"
    state: dict[str, Resource] = field(default_factory=dict)
    answers: list[tuple[str, Any]] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    old_config: dict[str, Any] | None = None

    def urn(self, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{API_KEY_TYPE}::{name}"

    # -- one command ------------------------------------------------------------------

    def _start(self, engine: EngineLogServer) -> PluginProcess:
        """Start and configure the plugin as the engine does at the start of a command."""
        plugin = PluginProcess(engine.address, env=self.env)
        try:
            plugin.get_plugin_info()
            checked = plugin.check_config(self.config)
            self.answers.append(("CheckConfig", checked))
            if checked.failures:
                raise PluginEngineError(
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

    def _command(self, run: Callable[[PluginProcess], list[PluginStep]]) -> list[PluginStep]:
        with EngineLogServer() as engine:
            plugin = self._start(engine)
            try:
                return run(plugin)
            finally:
                self._finish(plugin, engine)

    def _answer(self, method: str, answer: Any) -> Any:
        self.answers.append((method, answer))
        return answer

    def _check(
        self, plugin: PluginProcess, name: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        checked = self._answer("Check", plugin.check(self.urn(name), olds, news))
        if checked.failures:
            raise PluginEngineError(
                f"{name}: " + "; ".join(f"{prop}: {reason}" for prop, reason in checked.failures)
            )
        # The engine keeps the secrets Check marked in every later call's inputs.
        inputs: dict[str, Any] = {
            k: rpc.wrap_rpc_secret(v) if k in checked.secret_keys else v
            for k, v in checked.inputs.items()
        }
        return inputs

    def _deploy(
        self, program: Mapping[str, Mapping[str, Any]], *, preview: bool
    ) -> list[PluginStep]:
        def run(plugin: PluginProcess) -> list[PluginStep]:
            steps: list[PluginStep] = []
            deletes: list[tuple[str, Resource]] = []
            for name, news in program.items():
                old = self.state.get(name)
                urn = self.urn(name)
                if old is None:
                    inputs = self._check(plugin, name, {}, news)
                    created = self._answer("Create", plugin.create(urn, inputs, preview=preview))
                    steps.append(
                        PluginStep(name, "create", None, created.outputs, created.secret_keys)
                    )
                    if not preview:
                        self.state[name] = Resource(created.id, inputs, created.outputs)
                    continue
                inputs = self._check(plugin, name, old.inputs, news)
                diff = plugin.diff(old.id, urn, old.outputs, inputs, old.inputs)
                if diff.changes == "none":
                    steps.append(PluginStep(name, "same", diff))
                elif diff.replaces:
                    inputs = self._check(plugin, name, {}, news)
                    created = self._answer("Create", plugin.create(urn, inputs, preview=preview))
                    steps.append(
                        PluginStep(name, "replace", diff, created.outputs, created.secret_keys)
                    )
                    if not preview:
                        deletes.append((name, old))
                        self.state[name] = Resource(created.id, inputs, created.outputs)
                else:
                    updated = self._answer(
                        "Update",
                        plugin.update(
                            old.id, urn, old.outputs, inputs, old.inputs, preview=preview
                        ),
                    )
                    steps.append(
                        PluginStep(name, "update", diff, updated.outputs, updated.secret_keys)
                    )
                    if not preview:
                        self.state[name] = Resource(old.id, inputs, updated.outputs)
            for name in [n for n in self.state if n not in program]:
                steps.append(PluginStep(name, "delete"))
                if not preview:
                    deletes.append((name, self.state.pop(name)))
            for name, old in deletes:
                plugin.delete(old.id, self.urn(name), old.outputs, old.inputs)
            return steps

        return self._command(run)

    # -- the CLI commands -------------------------------------------------------------

    def preview(self, program: Mapping[str, Mapping[str, Any]]) -> list[PluginStep]:
        """`pulumi preview` of a program declaring these resources (name -> inputs)."""
        return self._deploy(program, preview=True)

    def up(self, program: Mapping[str, Mapping[str, Any]]) -> list[PluginStep]:
        """`pulumi up`: creates, updates, replacements (create first), then deletes."""
        return self._deploy(program, preview=False)

    def refresh(self) -> list[PluginStep]:
        """`pulumi refresh`: Read with old outputs and inputs; an empty id drops it."""

        def run(plugin: PluginProcess) -> list[PluginStep]:
            steps: list[PluginStep] = []
            for name, old in list(self.state.items()):
                read = self._answer(
                    "Read", plugin.read(old.id, self.urn(name), old.outputs, old.inputs)
                )
                if not read.id:
                    del self.state[name]
                    steps.append(PluginStep(name, "delete"))
                    continue
                self.state[name] = Resource(read.id, read.inputs or old.inputs, read.outputs)
                steps.append(PluginStep(name, "refresh", None, read.outputs, read.secret_keys))
            return steps

        return self._command(run)

    def import_(
        self, name: str, key_id: str, program_inputs: Mapping[str, Any]
    ) -> list[PluginStep]:
        """The `import` resource option: Read(id) alone, then Check with the program's
        inputs and Diff, which must find no change."""

        def run(plugin: PluginProcess) -> list[PluginStep]:
            urn = self.urn(name)
            read: ReadResponse = self._answer("Read", plugin.read(key_id, urn, {}, {}))
            if not read.id or read.inputs is None:
                raise PluginEngineError(f"{name}: the provider returned no state for {key_id}")
            inputs = self._check(plugin, name, read.inputs, program_inputs)
            diff = plugin.diff(key_id, urn, read.outputs, inputs, read.inputs)
            if diff.changes != "none":
                raise PluginEngineError(
                    f"{name}: inputs to import do not match the existing resource: "
                    f"{sorted(diff.detailed_diff)}"
                )
            self.state[name] = Resource(read.id, inputs, read.outputs)
            return [PluginStep(name, "import", diff, read.outputs, read.secret_keys)]

        return self._command(run)

    def destroy(self) -> list[PluginStep]:
        """`pulumi destroy`: Delete every resource, newest first."""

        def run(plugin: PluginProcess) -> list[PluginStep]:
            steps: list[PluginStep] = []
            for name, old in reversed(list(self.state.items())):
                plugin.delete(old.id, self.urn(name), old.outputs, old.inputs)
                del self.state[name]
                steps.append(PluginStep(name, "delete"))
            return steps

        return self._command(run)

    def invoke(self, token: str, args: Mapping[str, Any]) -> InvokeResponse:
        """A function call of a program (`fn::invoke`), in its own command."""
        result: list[InvokeResponse] = []

        def run(plugin: PluginProcess) -> list[PluginStep]:
            result.append(self._answer("Invoke", plugin.invoke(token, args)))
            return []

        self._command(run)
        return result[0]
