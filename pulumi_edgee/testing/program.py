"""Run an unchanged Pulumi Python program in-process, with the engine's part played faithfully.

``ProgramRunner`` executes a program directory (``__main__.py``, ``Pulumi.yaml``) with the
SDK's mock runtime, but its ``EngineMonitor`` does what the Pulumi engine does with each
registration: it keeps a state between runs and drives a real dynamic provider server
(``ProviderServer``, a process of its own for each command, as the CLI starts one) with the
engine's call sequences (``engine.LifeCycle``) for preview, up, refresh and destroy,
including secret propagation and deferred deletes. The aim is that a test sees the provider
calls, the state and the stack outputs that ``pulumi`` itself would produce.

Knowingly not modelled (the engine does these; this harness does not): CheckConfig and
DiffConfig (the server answers UNIMPLEMENTED anyway); parallel delete antichains (deletes run
one at a time, last in state first); delete-before-replace of dependents that would also be
replaced, and the ``pendingReplacement`` marker a failed delete-before-replace Create leaves;
nested ``ignore_changes`` paths; secretness below the top level of a property (an output
object with one secret field is wholly secret here); aliases, ``deleted_with``,
``replace_with``, custom timeouts, targets, transforms, hooks, policy packs; explicit
providers, non-dynamic resources and invokes (refused with ``EngineError``); imports beyond
the Read that fails in the Python server; encryption (secrets in ``export_state()`` are
masked, not encrypted).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import json
import os
import runpy
import sys
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml  # type: ignore[import-untyped]
from google.protobuf import empty_pb2
from pulumi.errors import RunError
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks, set_mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack

from .engine import (
    DYNAMIC_TYPE_PREFIX,
    PROVIDER_KEY,
    UNKNOWN,
    EngineError,
    LifeCycle,
    Props,
    ResourceState,
    StepOp,
    annotate,
)
from .provider_server import (
    ProviderServer,
    decode_properties,
    encode_properties,
    urn_name,
)

__all__ = [
    "DYNAMIC_TYPE_PREFIX",
    "UNKNOWN_VALUE",
    "EngineError",
    "EngineMonitor",
    "Operation",
    "OutputValue",
    "ProgramRunner",
    "ProgramStep",
    "ResourceState",
    "RunResult",
    "StackState",
    "StepOp",
    "Unknown",
]

STACK_TYPE = "pulumi:pulumi:Stack"

# How a secret looks in a checkpoint: the signature key and secret signature, plus the
# ciphertext. The harness never encrypts; it writes a placeholder, so an exported state
# never holds the plaintext.
_MASKED = {
    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    "ciphertext": "[secret]",
}

Operation = Literal["preview", "up", "refresh", "destroy"]


class Unknown:
    """An output value not known until the resource is created (a preview's ids and
    provider-computed outputs). Shown as ``[unknown]``, as the CLI shows ``output<string>``."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "[unknown]"


UNKNOWN_VALUE = Unknown()


def _known(value: Any) -> Any:
    """A decoded value with the wire's unknown sentinel replaced by ``UNKNOWN_VALUE``."""
    if value == UNKNOWN:
        return UNKNOWN_VALUE
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known(v) for v in value]
    return value


@dataclass(frozen=True)
class OutputValue:
    """A stack output and whether it is a secret (Automation API's ``OutputValue``); an
    output not known yet (in a preview) holds ``UNKNOWN_VALUE`` and keeps its secretness."""

    value: Any
    secret: bool = False

    @property
    def known(self) -> bool:
        """False when the value (or a part of it) is only known after an ``up``."""
        return UNKNOWN_VALUE is not self.value and repr(UNKNOWN_VALUE) not in repr(self.value)

    def __str__(self) -> str:
        return "[secret]" if self.secret else repr(self.value)


@dataclass(frozen=True)
class ProgramStep:
    """One engine step: the resource, what happened to it, the provider calls it made, and
    for a refresh the outputs it found changed."""

    urn: str
    op: StepOp
    calls: tuple[str, ...] = ()
    error: BaseException | None = None
    changed: tuple[str, ...] = ()
    drifted: bool = False  # a refresh whose engine Diff found a difference

    @property
    def name(self) -> str:
        """The logical name of the resource the step acted on."""
        return urn_name(self.urn)

    @property
    def as_reported(self) -> str:
        """The step as the Pulumi CLI reports it (``--json``): a refresh whose Diff found a
        difference is an ``update``, one whose outputs moved only by use (the last-used
        time) is ``same``, a refresh that found the key gone is a ``delete``, and the steps
        of a replacement are one ``replace``."""
        if self.op == "refresh":
            return "update" if self.drifted else "same"
        return {"refresh-delete": "delete", "delete-replaced": "replace"}.get(self.op, self.op)


@dataclass(frozen=True)
class RunResult:
    """What one command did: its steps in order, the stack outputs, every provider call of
    the command (handshake included), the error that failed it, if any, and what its
    provider process printed (empty when the runner reuses one process)."""

    operation: Operation
    steps: list[ProgramStep]
    outputs: dict[str, OutputValue]
    calls: list[str]
    error: BaseException | None = None
    logs: str = ""

    @property
    def change_summary(self) -> dict[str, int]:
        """Step counts by operation, like Automation API's ``resource_changes``."""
        return dict(Counter(step.op for step in self.steps))

    def steps_for(self, name: str) -> list[ProgramStep]:
        """The steps that acted on the resource with this logical name, in order."""
        return [step for step in self.steps if step.name == name]


@dataclass(frozen=True)
class StackState:
    """A snapshot of the stack's state: resources in checkpoint (dependency) order."""

    resources: tuple[ResourceState, ...]

    def get(self, name: str) -> ResourceState:
        """The live (not pending-delete) resource with this logical name or URN."""
        for res in self.resources:
            if not res.pending_delete and name in (res.urn, res.name):
                return res
        raise KeyError(name)

    def names(self) -> list[str]:
        """Logical names of the live custom resources, in state order."""
        return [r.name for r in self.resources if r.custom and not r.pending_delete]

    @property
    def outputs(self) -> dict[str, OutputValue]:
        """The stack outputs recorded on the Stack resource."""
        for res in self.resources:
            if res.type == STACK_TYPE:
                return {k: OutputValue(v, k in res.secret_outputs) for k, v in res.outputs.items()}
        return {}


@dataclass(frozen=True)
class _Goal:
    """A resource registration as the engine reads it from the program."""

    type: str
    custom: bool
    parent: str
    props: Props
    dependencies: tuple[str, ...]
    protect: bool
    delete_before_replace: bool | None
    additional_secret_outputs: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    retain_on_delete: bool
    import_id: str

    def state(self, urn: str, id_: str, inputs: Props, outputs: Props) -> ResourceState:
        aso = frozenset(self.additional_secret_outputs) & outputs.values.keys()
        return ResourceState(
            urn=urn,
            type=self.type,
            custom=self.custom,
            id=id_,
            inputs=inputs.values,
            outputs=outputs.values,
            secret_inputs=inputs.secrets,
            secret_outputs=outputs.secrets | aso,
            parent=self.parent,
            dependencies=self.dependencies,
            protect=self.protect,
            delete_before_replace=self.delete_before_replace,
            additional_secret_outputs=self.additional_secret_outputs,
            retain_on_delete=self.retain_on_delete,
        )


def _goal(request: Any, props: Props) -> _Goal:
    return _Goal(
        type=request.type,
        custom=request.custom,
        parent=request.parent,
        props=props,
        dependencies=tuple(request.dependencies),
        protect=bool(request.protect),
        delete_before_replace=(
            request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None
        ),
        additional_secret_outputs=tuple(request.additionalSecretOutputs),
        ignore_changes=tuple(request.ignoreChanges),
        replace_on_changes=tuple(request.replaceOnChanges),
        retain_on_delete=bool(request.retainOnDelete),
        import_id=request.importId,
    )


def _ignore_changes(news: Props, old: ResourceState, paths: Sequence[str]) -> Props:
    """Apply ``ignore_changes`` like the engine: the old input value replaces the new one."""
    values, secrets = dict(news.values), set(news.secrets)
    for path in paths:
        if not path.isidentifier():
            raise EngineError(f"ignoreChanges path {path!r}: only top-level names are supported")
        secrets.discard(path)
        if path in old.inputs:
            values[path] = old.inputs[path]
            if path in old.secret_inputs:
                secrets.add(path)
        else:
            values.pop(path, None)
    return Props(values, frozenset(secrets))


class _NoMocks(Mocks):
    """The harness serves registrations itself; invokes have no provider to go to."""

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise EngineError(f"invoke {args.token!r} is not supported by ProgramRunner")

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        raise EngineError(f"resource type {args.typ!r} is not supported by ProgramRunner")


class EngineMonitor(MockMonitor):
    """The resource monitor for one command: it plays the engine's step generator and executor.

    Each dynamic resource registration becomes the engine's calls on the provider server
    (``ProgramRunner`` lists the sequences). Registrations arrive
    concurrently from the SDK's executor threads, as they reach the engine; provider calls
    run in parallel and only the bookkeeping is serialized. After the first failed step the
    monitor refuses further registrations, as the engine cancels the deployment.
    """

    def __init__(
        self, server: ProviderServer, old: Sequence[ResourceState], *, preview: bool
    ) -> None:
        super().__init__(_NoMocks())
        self.engine = LifeCycle(server, preview=preview)
        self.preview = preview
        self.steps: list[ProgramStep] = []
        self.stack_outputs: dict[str, OutputValue] = {}
        self.failure: BaseException | None = None
        self._old = list(old)
        self._live_old = {r.urn: r for r in self._old if not r.pending_delete}
        self._new: dict[str, ResourceState] = {}
        self._seen: set[str] = set()
        self._superseded: set[int] = set()  # id() of old states a new state replaces
        self._condemned: set[int] = set()  # id() of old states replaced create-before-delete
        self._deleted: set[int] = set()  # id() of old states deleted by this command
        self._lock = threading.Lock()

    # -- bookkeeping ----------------------------------------------------------------------

    def _begin(self, urn: str) -> ResourceState | None:
        with self._lock:
            if self.failure is not None:
                raise RunError("the deployment was cancelled after an earlier step failed")
            if urn in self._seen:
                raise EngineError(f"duplicate resource URN {urn!r}")
            self._seen.add(urn)
            return self._live_old.get(urn)

    def _record(self, step: ProgramStep) -> None:
        with self._lock:
            self.steps.append(step)
            if step.error is not None and self.failure is None:
                self.failure = step.error

    def _complete(self, step: ProgramStep, new: ResourceState, old: ResourceState | None) -> None:
        with self._lock:
            self.steps.append(step)
            self._new[new.urn] = new
            if old is not None:
                self._superseded.add(id(old))

    def snapshot(self) -> list[ResourceState]:
        """The state after this command, merged like the engine's snapshot manager: this
        command's resources in completion order, then the old ones it did not replace."""
        rest = []
        for old in self._old:
            if id(old) in self._deleted:
                continue
            if id(old) in self._condemned:
                rest.append(dataclasses.replace(old, pending_delete=True))
            elif id(old) not in self._superseded:
                rest.append(old)
        return [*self._new.values(), *rest]

    # -- the resource monitor service -------------------------------------------------------

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        goal = _goal(request, Props(*decode_properties(request.object)))
        old = self._begin(urn)
        if not request.custom:
            new = self._register_component(urn, goal, old)
        else:
            new = self._register_custom(urn, goal, old)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, new.id, new.outputs)
        outputs = Props(new.outputs, new.secret_outputs)
        return resource_pb2.RegisterResourceResponse(
            urn=urn,
            id=new.id,
            object=encode_properties(outputs.wrapped()),
            propertyDependencies={
                k: resource_pb2.RegisterResourceResponse.PropertyDependencies(urns=list(v.urns))
                for k, v in request.propertyDependencies.items()
            },
        )

    def ReadResource(self, request: Any) -> Any:
        """A ``get`` (resource option ``id=``): Read with the program's props as both the
        properties and the inputs; runs in previews too; the result is an external resource."""
        urn = self.make_urn(request.parent, request.type, request.name)
        props = Props(*decode_properties(request.properties))
        old = self._begin(urn)
        calls: list[str] = []
        try:
            self._require_dynamic(request.type)
            calls.append("Read")
            read = self.engine.server.read(request.id, urn, props.values, props.values)
            if not read.id:
                raise EngineError(f"resource {request.id!r} does not exist")
        except Exception as exn:
            self._record(ProgramStep(urn, "read", tuple(calls), exn))
            raise
        outputs = annotate(read.outputs, read.secret_keys, props)
        aso = frozenset(request.additionalSecretOutputs) & outputs.values.keys()
        new = ResourceState(
            urn=urn,
            type=request.type,
            custom=True,
            id=read.id,
            inputs=props.values,
            outputs=outputs.values,
            secret_inputs=props.secrets,
            secret_outputs=outputs.secrets | aso,
            parent=request.parent,
            dependencies=tuple(request.dependencies),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            external=True,
        )
        self._complete(ProgramStep(urn, "read", tuple(calls)), new, old)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, new.id, new.outputs)
        wrapped = Props(new.outputs, new.secret_outputs).wrapped()
        return resource_pb2.ReadResourceResponse(urn=urn, properties=encode_properties(wrapped))

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """Component outputs; on the Stack resource these are the stack outputs."""
        values, secrets = decode_properties(request.outputs)
        with self._lock:
            res = self._new.get(request.urn)
            if res is not None:
                self._new[request.urn] = dataclasses.replace(
                    res, outputs=values, secret_outputs=secrets
                )
                if res.type == STACK_TYPE:
                    self.stack_outputs = {
                        k: OutputValue(_known(v), k in secrets) for k, v in values.items()
                    }
        return empty_pb2.Empty()

    # -- steps --------------------------------------------------------------------------

    @staticmethod
    def _require_dynamic(type_: str) -> None:
        if not type_.startswith(DYNAMIC_TYPE_PREFIX):
            raise EngineError(
                f"resource type {type_!r} is not a Python dynamic resource: "
                "ProgramRunner serves only dynamic providers"
            )

    def _register_component(
        self, urn: str, goal: _Goal, old: ResourceState | None
    ) -> ResourceState:
        """Components have no provider: the engine compares their inputs itself."""
        if old is None:
            op: StepOp = "create"
        else:
            op = "same" if old.inputs == goal.props.values else "update"
        outputs = Props(old.outputs, old.secret_outputs) if old is not None else Props({})
        new = goal.state(urn, "", goal.props, outputs)
        self._complete(ProgramStep(urn, op), new, old)
        return new

    def _register_custom(self, urn: str, goal: _Goal, old: ResourceState | None) -> ResourceState:
        calls: list[str] = []
        decided: list[StepOp] = ["create" if old is None else "same"]
        try:
            self._require_dynamic(goal.type)
            if goal.import_id and (old is None or old.id != goal.import_id):
                decided.append("import")
                self._import(urn, goal, calls)
            news = goal.props
            if old is not None:
                news = _ignore_changes(news, old, goal.ignore_changes)
            done = self.engine.register(
                urn,
                news,
                old,
                calls,
                delete_before_replace=goal.delete_before_replace,
                replace_on_changes=goal.replace_on_changes,
                secret_outputs=goal.additional_secret_outputs,
                protect=goal.protect,
                decided=decided.append,
            )
        except Exception as exn:
            self._record(ProgramStep(urn, decided[-1], tuple(calls), exn))
            raise
        if old is not None and done.replaced:
            with self._lock:
                (self._deleted if done.replaced == "deleted" else self._condemned).add(id(old))
        new = goal.state(urn, done.id, done.inputs, done.outputs)
        self._complete(ProgramStep(urn, done.op, tuple(calls)), new, old)
        return new

    def _import(self, urn: str, goal: _Goal, calls: list[str]) -> None:
        """The engine's import reads the id with no properties and no inputs; the Python
        dynamic provider server then fails (it cannot find ``__provider``)."""
        calls.append("Read")
        self.engine.server.read(goal.import_id, urn, {}, {})
        raise EngineError(
            "the dynamic provider server accepted an import Read; "
            "ProgramRunner does not model imports any further"
        )

    def finish(self) -> None:
        """The deletes the engine generates once the program has finished: it walks the old
        state backwards (reverse dependency order) deleting resources replaced
        create-before-delete and resources the program no longer registers."""
        for old in reversed(self._old):
            if id(old) in self._deleted:
                continue
            if old.pending_delete or id(old) in self._condemned:
                op: StepOp = "delete-replaced"
            elif old.urn not in self._seen:
                op = "delete"
            else:
                continue
            calls: list[str] = []
            try:
                self.engine.delete(old, calls, replacing=op == "delete-replaced")
            except Exception as exn:
                self._record(ProgramStep(old.urn, op, tuple(calls), exn))
                return
            self._record(ProgramStep(old.urn, op, tuple(calls)))
            self._deleted.add(id(old))


@dataclass
class _Command:
    """What one command collects: its provider server, its steps, its first failure, and
    (for a process of its own) what the provider printed."""

    server: ProviderServer
    start: int
    steps: list[ProgramStep] = field(default_factory=list)
    error: BaseException | None = None
    logs: str = ""

    def fail(self, step: ProgramStep) -> None:
        self.steps.append(step)
        if self.error is None:
            self.error = step.error

    def result(self, operation: Operation, outputs: dict[str, OutputValue]) -> RunResult:
        return RunResult(
            operation=operation,
            steps=self.steps,
            outputs=outputs,
            calls=self.server.calls[self.start :],
            error=self.error,
            logs=self.logs,
        )


def _changed_outputs(old: ResourceState, new: ResourceState) -> tuple[str, ...]:
    """The outputs a refresh found different (the provider payload aside)."""
    keys = (old.outputs.keys() | new.outputs.keys()) - {PROVIDER_KEY}
    return tuple(sorted(k for k in keys if old.outputs.get(k) != new.outputs.get(k)))


class ProgramRunner:
    """An in-process stack for an unchanged Pulumi Python program (Automation API naming).

    Every command runs against a provider process of its own, as the CLI starts one per
    command (``python -m pulumi.dynamic`` in the program directory, with ``env`` added to
    this process's environment), so config changes between commands take effect and no
    per-process cache outlives a command. It starts like the engine with GetPluginInfo and
    Configure (the whole stack config, secrets wrapped), then:

    - ``preview()``: Check, and Diff for existing resources; no Create/Update/Delete. New
      resources get their checked inputs as outputs and an unknown id. The state is kept.
    - ``up()``: create = Check(olds={}) -> Create; update = Check(old inputs) ->
      Diff(old outputs) -> Update; replace = Check -> Diff -> Check(olds={}) -> Create, the
      old resource deleted after the program (or Delete before Create with
      delete-before-replace); unchanged = Check -> Diff; then resources no longer
      registered are deleted in reverse dependency order.
    - ``refresh()``: Read(id, old outputs, old inputs) then Diff for each resource; an empty
      id drops it from the state, otherwise its outputs (and inputs, if returned) are replaced.
    - ``destroy()``: Delete in reverse dependency order.

    The program runs with the runner's config (``Pulumi.yaml`` config defaults, then the
    given ``config``; keys without a namespace get the project's), in the program directory,
    with its directory first on ``sys.path``. Several runs in one process are isolated: each
    runs in a fresh context with a freshly reset SDK runtime.

    Passing ``server`` reuses that one provider process for every command instead, which
    is faster for tests of the harness itself but unlike the CLI: the server keeps each
    provider configured by the first Configure it saw, so a later config change does not
    reach it, and per-process caches (such as a shared list view) carry over.
    """

    def __init__(
        self,
        program_dir: str | os.PathLike[str],
        server: ProviderServer | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        secret_config_keys: Iterable[str] = (),
        project: str | None = None,
        stack: str = "dev",
        organization: str = "organization",
    ) -> None:
        self.program_dir = Path(program_dir).resolve()
        self._server = server
        self.env = dict(env or {})
        project_name, defaults = _read_project_file(self.program_dir)
        self.project = project or project_name or self.program_dir.name
        self.stack = stack
        self.organization = organization
        self.config: dict[str, str] = {self._key(k): _config_text(v) for k, v in defaults.items()}
        self.secret_config_keys: set[str] = {self._key(k) for k in secret_config_keys}
        for key, value in (config or {}).items():
            self.config[self._key(key)] = _config_text(value)
        self._resources: list[ResourceState] = []

    def _key(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"

    def set_config(self, key: str, value: Any, *, secret: bool = False) -> None:
        """Set one config value, like ``pulumi config set [--secret]``."""
        name = self._key(key)
        self.config[name] = _config_text(value)
        if secret:
            self.secret_config_keys.add(name)
        else:
            self.secret_config_keys.discard(name)

    @property
    def state(self) -> StackState:
        """The current state (read-only snapshot)."""
        return StackState(tuple(self._resources))

    def outputs(self) -> dict[str, OutputValue]:
        """The stack outputs recorded by the last successful program run."""
        return self.state.outputs

    def export_state(self) -> dict[str, Any]:
        """The state as a checkpoint-shaped JSON document. Secret values are replaced by a
        ciphertext placeholder, as a real checkpoint holds only their ciphertext, so tests
        can search it for leaked secrets."""
        return {
            "version": 3,
            "deployment": {"resources": [_export_resource(r) for r in self._resources]},
        }

    # -- commands -----------------------------------------------------------------------

    def preview(self) -> RunResult:
        """``pulumi preview``: only Check/Diff calls; the state is not changed."""
        return self._run_program("preview")

    def up(self) -> RunResult:
        """``pulumi up``: the state is saved even when a step fails, as the engine does."""
        return self._run_program("up")

    def refresh(self) -> RunResult:
        """``pulumi refresh``: Read (then Diff) each custom resource in state order; each
        step's ``changed`` names the outputs the refresh found different."""
        with self._command() as command:
            engine = LifeCycle(command.server)
            refreshed: list[ResourceState] = []
            for res in self._resources:
                if command.error is not None or not res.custom:
                    refreshed.append(res)
                    continue
                calls: list[str] = []
                try:
                    new, drifted = engine.refresh_with_drift(res, calls)
                except Exception as exn:
                    command.fail(ProgramStep(res.urn, "refresh", tuple(calls), exn))
                    refreshed.append(res)
                    continue
                if new is None:
                    command.steps.append(ProgramStep(res.urn, "refresh-delete", tuple(calls)))
                    continue
                changed = _changed_outputs(res, new)
                command.steps.append(
                    ProgramStep(res.urn, "refresh", tuple(calls), changed=changed, drifted=drifted)
                )
                refreshed.append(new)
            self._resources = refreshed
        return command.result("refresh", self.outputs())

    def destroy(self) -> RunResult:
        """``pulumi destroy``: Delete every resource, last in state first; stops at a failure
        and keeps what was not deleted."""
        with self._command() as command:
            engine = LifeCycle(command.server)
            while self._resources:
                res = self._resources[-1]
                calls: list[str] = []
                try:
                    engine.delete(res, calls)
                except Exception as exn:
                    command.fail(ProgramStep(res.urn, "delete", tuple(calls), exn))
                    break
                command.steps.append(ProgramStep(res.urn, "delete", tuple(calls)))
                self._resources.pop()
        return command.result("destroy", self.outputs())

    # -- internals ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _command(self) -> Iterator[_Command]:
        """One command's provider process (fresh, unless the runner reuses one), after the
        engine's handshake: GetPluginInfo, then Configure with the whole stack config."""
        if self._server is not None:
            server = self._server
            start = len(server.calls)
        else:
            server = ProviderServer(project=self.project, cwd=self.program_dir, env=self.env)
            start = 0
        command = _Command(server, start)
        try:
            server.get_plugin_info()
            server.configure(self.config, secret_keys=self.secret_config_keys)
            yield command
        finally:
            if self._server is None:
                server.stop()
                command.logs = server.stdout_text() + server.stderr_text()

    def _run_program(self, operation: Literal["preview", "up"]) -> RunResult:
        with self._command() as command:
            monitor = EngineMonitor(command.server, self._resources, preview=operation == "preview")
            program_error = contextvars.copy_context().run(self._execute, monitor)
            if program_error is None and monitor.failure is None:
                monitor.finish()
            if operation == "up":
                self._resources = monitor.snapshot()
            command.steps = list(monitor.steps)
            command.error = monitor.failure or program_error
        return command.result(operation, dict(monitor.stack_outputs))

    def _execute(self, monitor: EngineMonitor) -> BaseException | None:
        """Run the program the way the Python language host does (``run_in_stack`` around
        ``runpy``), in the current (fresh, copied) context so settings do not leak out."""
        settings.reset_options(
            project=self.project,
            stack=self.stack,
            root_directory=str(self.program_dir),
            preview=monitor.preview,
            organization=self.organization,
        )
        runtime_config.set_all_config(dict(self.config), sorted(self.secret_config_keys))
        # `set_mocks` registers a root Stack of its own when none exists; the program's Stack
        # must come from `run_in_stack`, which registers the stack outputs after the program.
        token = settings.ROOT.set(cast(Any, object()))
        try:
            set_mocks(
                monitor.mocks,
                project=self.project,
                stack=self.stack,
                preview=monitor.preview,
                monitor=monitor,
                organization=self.organization,
            )
        finally:
            settings.ROOT.reset(token)

        program = str(self.program_dir)
        cwd = os.getcwd()
        modules = set(sys.modules)
        sys.path.insert(0, program)
        os.chdir(program)
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_ignore_unobserved_failures)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(run_in_stack(lambda: _run_main(program)))
            return None
        except (Exception, SystemExit) as exn:
            return exn
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            # Registrations still in flight in executor threads (after a program error)
            # must finish before the state is merged.
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            asyncio.set_event_loop(None)
            os.chdir(cwd)
            sys.path.remove(program)
            _forget_program_modules(self.program_dir, set(sys.modules) - modules)


def _ignore_unobserved_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Like the language host, stay quiet about the failed futures a failed program leaves
    unobserved (every output of a failed resource); report anything else."""
    if "never retrieved" not in context.get("message", ""):
        loop.default_exception_handler(context)


def _run_main(program: str) -> None:
    """Execute the program directory's ``__main__.py`` as the language host does."""
    runpy.run_path(program, run_name="__main__")


def _forget_program_modules(program_dir: Path, names: Iterable[str]) -> None:
    """Unload the program's own modules, so the next run imports them afresh like a new
    process would (and two programs with a same-named helper module do not collide)."""
    for name in names:
        path = getattr(sys.modules.get(name), "__file__", None)
        if path is not None and Path(path).resolve().is_relative_to(program_dir):
            del sys.modules[name]


def _read_project_file(program_dir: Path) -> tuple[str | None, dict[str, Any]]:
    """The project name and project-level config values from ``Pulumi.yaml``, if any."""
    path = program_dir / "Pulumi.yaml"
    if not path.exists():
        return None, {}
    doc = yaml.safe_load(path.read_text()) or {}
    config: dict[str, Any] = {}
    for key, spec in (doc.get("config") or {}).items():
        value = spec.get("value", spec.get("default")) if isinstance(spec, dict) else spec
        if value is not None:
            config[key] = value
    name = doc.get("name")
    return (str(name) if name else None), config


def _config_text(value: Any) -> str:
    """Config values are strings; structured values travel as JSON, as the CLI stores them."""
    return value if isinstance(value, str) else json.dumps(value)


def _masked(values: Mapping[str, Any], secrets: Collection[str]) -> dict[str, Any]:
    return {k: dict(_MASKED) if k in secrets else v for k, v in values.items()}


def _export_resource(res: ResourceState) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "urn": res.urn,
        "custom": res.custom,
        "type": res.type,
        "inputs": _masked(res.inputs, res.secret_inputs),
        "outputs": _masked(res.outputs, res.secret_outputs),
        "parent": res.parent,
        "dependencies": list(res.dependencies),
        "protect": res.protect,
        "external": res.external,
        "delete": res.pending_delete,
        "retainOnDelete": res.retain_on_delete,
        "additionalSecretOutputs": list(res.additional_secret_outputs),
    }
    if res.id:
        doc["id"] = res.id
    if res.delete_before_replace is not None:
        doc["deleteBeforeReplace"] = res.delete_before_replace
    return doc
