"""Run an unchanged Pulumi Python program in-process, with the engine's part played faithfully.

``ProgramRunner`` executes a program directory (``__main__.py``, ``Pulumi.yaml``) with the
SDK's mock runtime, but its ``EngineMonitor`` does what the Pulumi engine does with each
registration: it keeps a state between runs and drives a real dynamic provider server
(``ProviderServer``) with the engine's call sequences for preview, up, refresh and destroy,
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
import contextvars
import dataclasses
import json
import os
import runpy
import sys
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import yaml  # type: ignore[import-untyped]
from google.protobuf import empty_pb2
from pulumi.errors import RunError
from pulumi.runtime import config as runtime_config
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks, set_mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack

from .provider_server import (
    CheckResponse,
    ProviderServer,
    decode_properties,
    encode_properties,
    urn_name,
)

__all__ = [
    "DYNAMIC_TYPE_PREFIX",
    "EngineError",
    "EngineMonitor",
    "Operation",
    "OutputValue",
    "ProgramRunner",
    "ResourceState",
    "RunResult",
    "StackState",
    "Step",
    "StepOp",
]

DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_KEY = "__provider"

# How a secret looks in a checkpoint: the signature key and secret signature, plus the
# ciphertext. The harness never encrypts; it writes a placeholder, so an exported state
# never holds the plaintext.
_MASKED = {
    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    "ciphertext": "[secret]",
}

Operation = Literal["preview", "up", "refresh", "destroy"]
StepOp = Literal[
    "create",
    "update",
    "replace",
    "same",
    "delete",
    "delete-replaced",
    "read",
    "import",
    "refresh",
    "refresh-delete",
]

T = TypeVar("T")


class EngineError(Exception):
    """The engine itself refused a step: check failures, a protected resource, a duplicate
    URN, a resource type this harness cannot serve."""


@dataclass(frozen=True)
class OutputValue:
    """A stack output and whether it is a secret (Automation API's ``OutputValue``)."""

    value: Any
    secret: bool = False


@dataclass(frozen=True)
class ResourceState:
    """One resource in the state, as the engine's checkpoint records it.

    ``inputs`` and ``outputs`` hold plain values; ``secret_inputs`` and ``secret_outputs``
    name the top-level properties the checkpoint would encrypt. ``pending_delete`` marks an
    old resource replaced create-before-delete whose Delete has not happened yet.
    """

    urn: str
    type: str
    custom: bool
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_inputs: frozenset[str] = frozenset()
    secret_outputs: frozenset[str] = frozenset()
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    delete_before_replace: bool | None = None
    additional_secret_outputs: tuple[str, ...] = ()
    retain_on_delete: bool = False
    external: bool = False
    pending_delete: bool = False

    @property
    def name(self) -> str:
        """The logical name (last URN segment)."""
        return urn_name(self.urn)

    @property
    def provider(self) -> str | None:
        """The serialized dynamic provider (``__provider``) the engine uses for this resource."""
        value = self.outputs.get(PROVIDER_KEY, self.inputs.get(PROVIDER_KEY))
        return None if value is None else str(value)


@dataclass(frozen=True)
class Step:
    """One engine step: the resource, what happened to it, and the provider calls it made."""

    urn: str
    op: StepOp
    calls: tuple[str, ...] = ()
    error: BaseException | None = None

    @property
    def name(self) -> str:
        """The logical name of the resource the step acted on."""
        return urn_name(self.urn)


@dataclass(frozen=True)
class RunResult:
    """What one command did: its steps in order, the stack outputs, every provider call of
    the command (handshake included), and the error that failed it, if any."""

    operation: Operation
    steps: list[Step]
    outputs: dict[str, OutputValue]
    calls: list[str]
    error: BaseException | None = None

    @property
    def change_summary(self) -> dict[str, int]:
        """Step counts by operation, like Automation API's ``resource_changes``."""
        return dict(Counter(step.op for step in self.steps))

    def steps_for(self, name: str) -> list[Step]:
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
class _Props:
    """Plain property values plus the names of those that are secret."""

    values: dict[str, Any]
    secrets: frozenset[str] = frozenset()

    def wrapped(self) -> dict[str, Any]:
        return {
            k: rpc.wrap_rpc_secret(v) if k in self.secrets else v for k, v in self.values.items()
        }


@dataclass(frozen=True)
class _Goal:
    """A resource registration as the engine reads it from the program."""

    type: str
    custom: bool
    parent: str
    props: _Props
    dependencies: tuple[str, ...]
    protect: bool
    delete_before_replace: bool | None
    additional_secret_outputs: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    retain_on_delete: bool
    import_id: str

    def state(self, urn: str, id_: str, inputs: _Props, outputs: _Props) -> ResourceState:
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


def _goal(request: Any, props: _Props) -> _Goal:
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


def _annotate(
    outputs: Mapping[str, Any], provider_secrets: Collection[str], sent: _Props
) -> _Props:
    """The engine's secret marking of provider outputs (it sent everything in plain text):
    an output is secret if the provider wrapped it or an input of the same name was secret."""
    secrets = frozenset(k for k in outputs if k in provider_secrets or k in sent.secrets)
    return _Props(dict(outputs), secrets)


def _checked(response: CheckResponse, news: _Props) -> _Props:
    return _annotate(response.inputs, response.secret_keys, news)


def _ignore_changes(news: _Props, old: ResourceState, paths: Sequence[str]) -> _Props:
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
    return _Props(values, frozenset(secrets))


def _logged(calls: list[str], method: str, fn: Callable[..., T], *args: Any) -> T:
    calls.append(method)
    return fn(*args)


def _delete(
    server: ProviderServer, res: ResourceState, calls: list[str], *, preview: bool, replacing: bool
) -> None:
    """A Delete step: protected resources are refused; components, external (read) and
    retained resources leave state without a provider call; a preview makes no call."""
    if res.protect and not replacing:
        raise EngineError(
            f"unable to delete resource {res.urn!r} as it is currently marked for protection"
        )
    if preview or not res.custom or res.external or res.retain_on_delete:
        return
    _logged(calls, "Delete", server.delete, res.id, res.urn, res.outputs, res.inputs)


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
        self.server = server
        self.preview = preview
        self.steps: list[Step] = []
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

    def _record(self, step: Step) -> None:
        with self._lock:
            self.steps.append(step)
            if step.error is not None and self.failure is None:
                self.failure = step.error

    def _complete(self, step: Step, new: ResourceState, old: ResourceState | None) -> None:
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
        goal = _goal(request, _Props(*decode_properties(request.object)))
        old = self._begin(urn)
        if not request.custom:
            new = self._register_component(urn, goal, old)
        else:
            new = self._register_custom(urn, goal, old)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, new.id, new.outputs)
        outputs = _Props(new.outputs, new.secret_outputs)
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
        props = _Props(*decode_properties(request.properties))
        old = self._begin(urn)
        calls: list[str] = []
        try:
            self._require_dynamic(request.type)
            read = _logged(
                calls, "Read", self.server.read, request.id, urn, props.values, props.values
            )
            if not read.id:
                raise EngineError(f"resource {request.id!r} does not exist")
        except Exception as exn:
            self._record(Step(urn, "read", tuple(calls), exn))
            raise
        outputs = _annotate(read.outputs, read.secret_keys, props)
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
        self._complete(Step(urn, "read", tuple(calls)), new, old)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, new.id, new.outputs)
        wrapped = _Props(new.outputs, new.secret_outputs).wrapped()
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
                        k: OutputValue(v, k in secrets) for k, v in values.items()
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
        outputs = _Props(old.outputs, old.secret_outputs) if old is not None else _Props({})
        new = goal.state(urn, "", goal.props, outputs)
        self._complete(Step(urn, op), new, old)
        return new

    def _register_custom(self, urn: str, goal: _Goal, old: ResourceState | None) -> ResourceState:
        calls: list[str] = []
        op: StepOp = "create" if old is None else "same"
        try:
            self._require_dynamic(goal.type)
            if goal.import_id and (old is None or old.id != goal.import_id):
                op = "import"
                self._import(urn, goal, calls)
            news = goal.props
            if old is not None:
                news = _ignore_changes(news, old, goal.ignore_changes)
            check = _logged(
                calls, "Check", self.server.check, urn, old.inputs if old else {}, news.values
            )
            self._raise_failures(urn, check)
            inputs = _checked(check, news)
            if old is None:
                new = self._create(urn, goal, inputs, calls)
            else:
                op, provider_dbr = self._diff(urn, goal, old, inputs, calls)
                if op == "same":
                    new = goal.state(urn, old.id, inputs, _Props(old.outputs, old.secret_outputs))
                elif op == "update":
                    new = self._update(urn, goal, old, inputs, calls)
                else:
                    new = self._replace(urn, goal, old, provider_dbr, calls)
        except Exception as exn:
            self._record(Step(urn, op, tuple(calls), exn))
            raise
        self._complete(Step(urn, op, tuple(calls)), new, old)
        return new

    def _import(self, urn: str, goal: _Goal, calls: list[str]) -> None:
        """The engine's import reads the id with no properties and no inputs; the Python
        dynamic provider server then fails (it cannot find ``__provider``)."""
        _logged(calls, "Read", self.server.read, goal.import_id, urn, {}, {})
        raise EngineError(
            "the dynamic provider server accepted an import Read; "
            "ProgramRunner does not model imports any further"
        )

    @staticmethod
    def _raise_failures(urn: str, check: CheckResponse) -> None:
        if check.failures:
            reasons = "; ".join(f"{prop}: {reason}" for prop, reason in check.failures)
            raise EngineError(f"resource {urn!r} is invalid: {reasons}")

    def _create(self, urn: str, goal: _Goal, inputs: _Props, calls: list[str]) -> ResourceState:
        """Create; in a preview the provider is not called and the outputs are the checked
        inputs with an unknown id (the server answers supportsPreview=False)."""
        if self.preview:
            return goal.state(urn, "", inputs, inputs)
        created = _logged(calls, "Create", self.server.create, urn, inputs.values)
        return goal.state(
            urn, created.id, inputs, _annotate(created.outputs, created.secret_keys, inputs)
        )

    def _diff(
        self, urn: str, goal: _Goal, old: ResourceState, inputs: _Props, calls: list[str]
    ) -> tuple[StepOp, bool]:
        """Diff against the old outputs; the step to take and the provider's
        delete-before-replace answer."""
        diff = _logged(
            calls, "Diff", self.server.diff, old.id, urn, old.outputs, inputs.values, old.inputs
        )
        changes, replaces = diff.changes, list(diff.replaces)
        if changes == "unknown":
            # The engine diffs the inputs itself, `__provider` included; only then does it
            # know changed keys, and so only then can `replace_on_changes` apply.
            keys = old.inputs.keys() | inputs.values.keys()
            changed = sorted(k for k in keys if old.inputs.get(k) != inputs.values.get(k))
            changes = "some" if changed else "none"
            replaces += [
                k for k in changed if k in goal.replace_on_changes or "*" in goal.replace_on_changes
            ]
        if changes == "none":
            return "same", diff.delete_before_replace
        return ("replace" if replaces else "update"), diff.delete_before_replace

    def _update(
        self, urn: str, goal: _Goal, old: ResourceState, inputs: _Props, calls: list[str]
    ) -> ResourceState:
        """Update in place; a preview keeps the checked inputs as the outputs."""
        if self.preview:
            return goal.state(urn, old.id, inputs, inputs)
        updated = _logged(
            calls, "Update", self.server.update, old.id, urn, old.outputs, inputs.values, old.inputs
        )
        return goal.state(
            urn, old.id, inputs, _annotate(updated.outputs, updated.secret_keys, inputs)
        )

    def _replace(
        self, urn: str, goal: _Goal, old: ResourceState, provider_dbr: bool, calls: list[str]
    ) -> ResourceState:
        """Replace: Check again from scratch, then Create the new resource; the old one is
        deleted after the program (create-before-delete) or first when the resource option,
        or else the provider's diff, asks for delete-before-replace."""
        if old.protect and goal.protect:
            raise EngineError(
                f"unable to replace resource {urn!r} as it is currently marked for protection"
            )
        check = _logged(calls, "Check", self.server.check, urn, {}, goal.props.values)
        self._raise_failures(urn, check)
        inputs = _checked(check, goal.props)
        dbr = goal.delete_before_replace
        if dbr is None:
            dbr = provider_dbr
        if dbr:
            _delete(self.server, old, calls, preview=self.preview, replacing=True)
            with self._lock:
                self._deleted.add(id(old))
            return self._create(urn, goal, inputs, calls)
        new = self._create(urn, goal, inputs, calls)
        with self._lock:
            self._condemned.add(id(old))
        return new

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
                _delete(
                    self.server,
                    old,
                    calls,
                    preview=self.preview,
                    replacing=op == "delete-replaced",
                )
            except Exception as exn:
                self._record(Step(old.urn, op, tuple(calls), exn))
                return
            self._record(Step(old.urn, op, tuple(calls)))
            self._deleted.add(id(old))


class ProgramRunner:
    """An in-process stack for an unchanged Pulumi Python program (Automation API naming).

    Every command starts like the engine with GetPluginInfo and Configure (the whole stack
    config, secrets wrapped), then:

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
    """

    def __init__(
        self,
        program_dir: str | os.PathLike[str],
        server: ProviderServer,
        config: Mapping[str, Any] | None = None,
        *,
        secret_config_keys: Iterable[str] = (),
        project: str | None = None,
        stack: str = "dev",
        organization: str = "organization",
    ) -> None:
        self.program_dir = Path(program_dir).resolve()
        self.server = server
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
        """``pulumi refresh``: Read (then Diff) each custom resource in state order."""
        start = self._handshake()
        steps: list[Step] = []
        error: BaseException | None = None
        refreshed: list[ResourceState] = []
        for res in self._resources:
            if error is not None or not res.custom:
                refreshed.append(res)
                continue
            calls: list[str] = []
            try:
                new = self._refresh_one(res, calls)
            except Exception as exn:
                error = exn
                steps.append(Step(res.urn, "refresh", tuple(calls), exn))
                refreshed.append(res)
                continue
            steps.append(Step(res.urn, "refresh" if new else "refresh-delete", tuple(calls)))
            if new is not None:
                refreshed.append(new)
        self._resources = refreshed
        return self._result("refresh", steps, start, error)

    def destroy(self) -> RunResult:
        """``pulumi destroy``: Delete every resource, last in state first; stops at a failure
        and keeps what was not deleted."""
        start = self._handshake()
        steps: list[Step] = []
        error: BaseException | None = None
        while self._resources:
            res = self._resources[-1]
            calls: list[str] = []
            try:
                _delete(self.server, res, calls, preview=False, replacing=False)
            except Exception as exn:
                error = exn
                steps.append(Step(res.urn, "delete", tuple(calls), exn))
                break
            steps.append(Step(res.urn, "delete", tuple(calls)))
            self._resources.pop()
        return self._result("destroy", steps, start, error)

    # -- internals ----------------------------------------------------------------------

    def _handshake(self) -> int:
        start = len(self.server.calls)
        self.server.get_plugin_info()
        self.server.configure(self.config, secret_keys=self.secret_config_keys)
        return start

    def _result(
        self, operation: Operation, steps: list[Step], start: int, error: BaseException | None
    ) -> RunResult:
        return RunResult(
            operation=operation,
            steps=steps,
            outputs=self.outputs(),
            calls=self.server.calls[start:],
            error=error,
        )

    def _refresh_one(self, res: ResourceState, calls: list[str]) -> ResourceState | None:
        read = _logged(calls, "Read", self.server.read, res.id, res.urn, res.outputs, res.inputs)
        if not read.id:
            return None
        inputs = read.inputs if read.inputs is not None else res.inputs
        if not res.external:
            # Engine refresh diff: new state as the "old" side, the old inputs as the "new".
            _logged(
                calls, "Diff", self.server.diff, read.id, res.urn, read.outputs, res.inputs, inputs
            )
        sent = _Props(res.outputs, res.secret_outputs)
        outputs = _annotate(read.outputs, read.secret_keys, sent)
        aso = frozenset(res.additional_secret_outputs) & outputs.values.keys()
        return dataclasses.replace(
            res,
            id=read.id,
            inputs=inputs,
            outputs=outputs.values,
            secret_inputs=res.secret_inputs & inputs.keys(),
            secret_outputs=outputs.secrets | aso,
        )

    def _run_program(self, operation: Literal["preview", "up"]) -> RunResult:
        start = self._handshake()
        monitor = EngineMonitor(self.server, self._resources, preview=operation == "preview")
        program_error = contextvars.copy_context().run(self._execute, monitor)
        if program_error is None and monitor.failure is None:
            monitor.finish()
        if operation == "up":
            self._resources = monitor.snapshot()
        return RunResult(
            operation=operation,
            steps=list(monitor.steps),
            outputs=dict(monitor.stack_outputs),
            calls=self.server.calls[start:],
            error=monitor.failure or program_error,
        )

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
