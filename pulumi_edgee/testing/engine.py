"""The Pulumi engine's call sequences for a resource, written once.

In the spirit of pulumi-go-provider's ``integration.LifeCycleTest``: ``LifeCycle`` speaks
the sequences the engine uses with a provider (check -> diff -> create, update or
replace honouring delete-before-replace -> read -> delete) over a real
``ProviderServer``, marking secrets as the engine does. ``ProgramRunner`` builds its
resource monitor on it; ``ModelStack`` runs ``up``/``refresh``/``destroy`` of a program
given as plain inputs (no Python program), for the fault scenarios, the provider tests,
the concurrency test and the benchmarks.

Also here, once: the URN of a resource, the ``__provider`` payload of a provider instance,
and a provider server configured for an emulator.
"""

from __future__ import annotations

import base64
import dataclasses
import pickle
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pulumi.dynamic import ResourceProvider
from pulumi.runtime import rpc

from ..registry import API_KEY, DYNAMIC_PREFIX, Resource
from .provider_server import DiffResponse, ProviderServer, urn_name

__all__ = [
    "API_KEY_TYPE",
    "DYNAMIC_TYPE_PREFIX",
    "PROVIDER_KEY",
    "UNKNOWN",
    "EngineError",
    "LifeCycle",
    "ModelStack",
    "Props",
    "Registration",
    "ResourceState",
    "StepOp",
    "configured_server",
    "edgee_config",
    "provider_payload",
    "resource_urn",
]

DYNAMIC_TYPE_PREFIX = DYNAMIC_PREFIX
_Answer = TypeVar("_Answer")
API_KEY_TYPE = API_KEY.dynamic_token
PROVIDER_KEY = "__provider"
# The unknown-value sentinel on the wire (``rpc.UNKNOWN``); never shown to a user.
UNKNOWN = rpc.UNKNOWN

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


class EngineError(Exception):
    """The engine itself refused a step: check failures, a protected resource, a duplicate
    URN, a resource type this harness cannot serve."""


def resource_urn(
    name: str, *, project: str = "project", stack: str = "test", type_: str = API_KEY_TYPE
) -> str:
    """The URN the engine gives a top-level resource."""
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def provider_payload(instance: ResourceProvider | None = None) -> str:
    """The ``__provider`` payload of a provider instance (the ``ApiKeyProvider`` by default).

    Pickled as ``serialize_provider`` pickles it (the class by reference, the instance's
    attributes by value), but not through it: each call of ``serialize_provider`` wraps
    ``pickle.Pickler._batch_setitems`` once more (pulumi 3.272), and about a thousand
    calls in one process end in RecursionError.
    """
    if instance is None:
        from pulumi_edgee.provider import ApiKeyProvider

        instance = ApiKeyProvider()
    return base64.b64encode(pickle.dumps(instance, protocol=pickle.DEFAULT_PROTOCOL)).decode()


SECRET_CONFIG_KEYS = ("edgee:apiToken",)


def edgee_config(url: str, *, token: str, organization: str) -> dict[str, str]:
    """The stack config that points the provider at a Console API (an emulator's URL)."""
    return {
        "edgee:apiToken": token,
        "edgee:organizationId": organization,
        "edgee:consoleUrl": url,
    }


def configured_server(
    url: str,
    *,
    token: str,
    organization: str,
    project: str = "project",
    env: Mapping[str, str] | None = None,
    call_timeout: float | None = 60.0,
) -> ProviderServer:
    """A started provider server that has had the engine's handshake (GetPluginInfo, then
    Configure with the token as a secret) for the Console API at ``url``. Stop it after."""
    server = ProviderServer(project=project, env=env, call_timeout=call_timeout)
    try:
        server.get_plugin_info()
        server.configure(
            edgee_config(url, token=token, organization=organization),
            secret_keys=SECRET_CONFIG_KEYS,
        )
    except BaseException:
        server.stop()
        raise
    return server


@dataclass(frozen=True)
class Props:
    """Plain property values plus the names of the top-level ones that are secret."""

    values: dict[str, Any]
    secrets: frozenset[str] = frozenset()

    def wrapped(self) -> dict[str, Any]:
        """The values with secrets wrapped, as they cross the wire to the program."""
        return {
            k: rpc.wrap_rpc_secret(v) if k in self.secrets else v for k, v in self.values.items()
        }


def annotate(outputs: Mapping[str, Any], provider_secrets: Collection[str], sent: Props) -> Props:
    """The engine's secret marking of provider outputs (it sent everything in plain text):
    an output is secret if the provider wrapped it or an input of the same name was secret."""
    secrets = frozenset(k for k in outputs if k in provider_secrets or k in sent.secrets)
    return Props(dict(outputs), secrets)


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
class FrontDoor:
    """How the engine speaks to one front door: the resources' type token, whether every
    property bag carries the serialized provider (`__provider`, the dynamic provider's),
    whether secrets are sent wrapped (a plugin accepts them; the SDK's dynamic server is
    sent plain values), and whether Create and Update are called in a preview (a plugin
    answers `supportsPreview`)."""

    type_token: str
    provider_in_bags: bool
    accepts_secrets: bool
    previews: bool

    def type_for(self, row: Resource) -> str:
        """The type token of a registry row's resources through this door."""
        return row.dynamic_token if self.provider_in_bags else row.token


DYNAMIC_DOOR = FrontDoor(API_KEY.dynamic_token, True, False, False)
PLUGIN_DOOR = FrontDoor(API_KEY.token, False, True, True)


@dataclass(frozen=True)
class Registration:
    """What the engine did for one registered resource: the step, the new id, inputs and
    outputs, and what became of the old resource on a replacement (``"deleted"`` first, or
    ``"condemned"`` to be deleted once the program is done)."""

    op: StepOp
    id: str
    inputs: Props
    outputs: Props
    replaced: Literal["", "deleted", "condemned"] = ""
    diff: DiffResponse | None = None  # the provider's answer, when it was asked


class LifeCycle:
    """The engine's calls on one provider server, one resource step at a time.

    Every method appends the provider methods it calls to ``calls`` (when given), so a
    step can report them. ``preview`` makes no Create, Update or Delete call, as the
    server answers ``supportsPreview=False``. ``provider`` replaces the ``__provider`` in
    every property bag sent (a fresh instance stands for a fresh provider process).
    ``on_outputs(label, outputs)`` sees every output bag the provider returns (a leak
    detector's hook), ``on_answer(method, answer)`` every answer. ``door`` says how the
    server is spoken to (the dynamic provider's server by default, or the plugin). Safe to
    use from several threads at once.
    """

    def __init__(
        self,
        server: ProviderServer,
        *,
        door: FrontDoor = DYNAMIC_DOOR,
        preview: bool = False,
        provider: str | None = None,
        on_outputs: Callable[[str, Props], None] | None = None,
        on_answer: Callable[[str, object], None] | None = None,
    ) -> None:
        self.server = server
        self.door = door
        self.preview = preview
        self.provider = provider
        self.on_outputs = on_outputs
        self.on_answer = on_answer

    def _bag(self, props: Mapping[str, Any], secrets: Collection[str] = ()) -> dict[str, Any]:
        """A property bag as this door is sent it: secrets wrapped for a plugin, the
        provider added for the dynamic server (replacing the one in state, if any)."""
        bag = dict(props)
        if self.door.accepts_secrets:
            bag = {k: rpc.wrap_rpc_secret(v) if k in secrets else v for k, v in bag.items()}
        if self.provider is not None and self.door.provider_in_bags:
            bag[PROVIDER_KEY] = self.provider
        return bag

    def _answered(self, method: str, answer: _Answer) -> _Answer:
        if self.on_answer is not None:
            self.on_answer(method, answer)
        return answer

    def _seen(self, label: str, outputs: Props) -> Props:
        if self.on_outputs is not None:
            self.on_outputs(label, outputs)
        return outputs

    def check(
        self,
        urn: str,
        olds: Mapping[str, Any],
        news: Props,
        calls: list[str] | None = None,
        *,
        old_secrets: Collection[str] = (),
    ) -> Props:
        """Check; failures stop the step as the engine stops it (``EngineError``)."""
        _log(calls, "Check")
        sent_olds = self._bag(olds, old_secrets) if olds else {}
        checked = self._answered(
            "Check", self.server.check(urn, sent_olds, self._bag(news.values, news.secrets))
        )
        if checked.failures:
            reasons = "; ".join(
                f"{prop}: {reason}" if prop else reason for prop, reason in checked.failures
            )
            raise EngineError(f"resource {urn!r} is invalid: {reasons}")
        return annotate(checked.inputs, checked.secret_keys, news)

    def create(
        self,
        urn: str,
        inputs: Props,
        calls: list[str] | None = None,
        *,
        secret_outputs: Iterable[str] = (),
    ) -> tuple[str, Props]:
        """Create from checked inputs: the new id and outputs. A preview makes no call: the
        outputs are the checked inputs, the id and every ``secret_outputs`` name absent
        from them are unknown, and those stay secret."""
        if self.preview and not self.door.previews:
            unknown = {k: UNKNOWN for k in secret_outputs if k not in inputs.values}
            return "", Props({**inputs.values, **unknown}, inputs.secrets | unknown.keys())
        _log(calls, "Create")
        sent = self._bag(inputs.values, inputs.secrets)
        created = self._answered("Create", self.server.create(urn, sent, preview=self.preview))
        return created.id, self._seen(
            f"create {urn_name(urn)}", annotate(created.outputs, created.secret_keys, inputs)
        )

    def diff(
        self,
        urn: str,
        old: ResourceState,
        inputs: Props,
        calls: list[str] | None = None,
        *,
        replace_on_changes: Sequence[str] = (),
        ignore_changes: Sequence[str] = (),
    ) -> tuple[StepOp, DiffResponse]:
        """Diff against the old outputs: ``same``, ``update`` or ``replace``, and the
        provider's answer (its delete-before-replace, a plugin's detail)."""
        _log(calls, "Diff")
        diff = self._answered(
            "Diff",
            self.server.diff(
                old.id,
                urn,
                self._bag(old.outputs, old.secret_outputs),
                self._bag(inputs.values, inputs.secrets),
                self._bag(old.inputs, old.secret_inputs),
                ignore_changes,
            ),
        )
        changes, replaces = diff.changes, list(diff.replaces)
        if changes == "unknown":
            # The engine diffs the inputs itself, `__provider` included; only then does it
            # know changed keys, and so only then can `replace_on_changes` apply.
            keys = old.inputs.keys() | inputs.values.keys()
            changed = sorted(k for k in keys if old.inputs.get(k) != inputs.values.get(k))
            changes = "some" if changed else "none"
            replaces += [k for k in changed if k in replace_on_changes or "*" in replace_on_changes]
        if changes == "none":
            return "same", diff
        return ("replace" if replaces else "update"), diff

    def update(
        self, urn: str, old: ResourceState, inputs: Props, calls: list[str] | None = None
    ) -> Props:
        """Update in place; a preview keeps the checked inputs as the outputs (a plugin is
        asked, with the preview flag)."""
        if self.preview and not self.door.previews:
            return inputs
        _log(calls, "Update")
        updated = self._answered(
            "Update",
            self.server.update(
                old.id,
                urn,
                self._bag(old.outputs, old.secret_outputs),
                self._bag(inputs.values, inputs.secrets),
                self._bag(old.inputs, old.secret_inputs),
                preview=self.preview,
            ),
        )
        return self._seen(
            f"update {urn_name(urn)}", annotate(updated.outputs, updated.secret_keys, inputs)
        )

    def delete(
        self, res: ResourceState, calls: list[str] | None = None, *, replacing: bool = False
    ) -> None:
        """A Delete step: protected resources are refused; components, external (read) and
        retained resources leave state without a provider call; a preview makes no call."""
        if res.protect and not replacing:
            raise EngineError(
                f"unable to delete resource {res.urn!r} as it is currently marked for protection"
            )
        if self.preview or not res.custom or res.external or res.retain_on_delete:
            return
        _log(calls, "Delete")
        self.server.delete(
            res.id,
            res.urn,
            self._bag(res.outputs, res.secret_outputs),
            self._bag(res.inputs, res.secret_inputs),
        )

    def register(
        self,
        urn: str,
        news: Props,
        old: ResourceState | None,
        calls: list[str] | None = None,
        *,
        delete_before_replace: bool | None = None,
        replace_on_changes: Sequence[str] = (),
        secret_outputs: Iterable[str] = (),
        protect: bool = False,
        ignore_changes: Sequence[str] = (),
        decided: Callable[[StepOp], None] | None = None,
    ) -> Registration:
        """A custom resource's registration: create = Check(olds={}) -> Create; otherwise
        Check(old inputs) -> Diff(old outputs), then nothing, Update, or a replacement:
        Check(olds={}) -> Create, the old resource deleted first when the resource option,
        or else the provider's diff, asks for delete-before-replace. ``decided`` hears
        the step as soon as the diff has chosen it (a later failure still belongs to it)."""
        secret_outputs = tuple(secret_outputs)
        if old is None:
            inputs = self.check(urn, {}, news, calls)
            id_, outputs = self.create(urn, inputs, calls, secret_outputs=secret_outputs)
            return Registration("create", id_, inputs, outputs)
        inputs = self.check(urn, old.inputs, news, calls, old_secrets=old.secret_inputs)
        op, diff = self.diff(
            urn,
            old,
            inputs,
            calls,
            replace_on_changes=replace_on_changes,
            ignore_changes=ignore_changes,
        )
        if decided is not None:
            decided(op)
        if op == "same":
            kept = Props(old.outputs, old.secret_outputs)
            return Registration("same", old.id, inputs, kept, diff=diff)
        if op == "update":
            updated = self.update(urn, old, inputs, calls)
            return Registration("update", old.id, inputs, updated, diff=diff)
        if old.protect and protect:
            raise EngineError(
                f"unable to replace resource {urn!r} as it is currently marked for protection"
            )
        inputs = self.check(urn, {}, news, calls)
        dbr = diff.delete_before_replace if delete_before_replace is None else delete_before_replace
        if dbr:
            self.delete(old, calls, replacing=True)
        id_, outputs = self.create(urn, inputs, calls, secret_outputs=secret_outputs)
        replaced: Literal["deleted", "condemned"] = "deleted" if dbr else "condemned"
        return Registration("replace", id_, inputs, outputs, replaced, diff)

    def refresh(self, res: ResourceState, calls: list[str] | None = None) -> ResourceState | None:
        """Refresh one resource: Read(id, old outputs, old inputs), then the engine's
        refresh Diff; None when the resource is gone."""
        return self.refresh_with_drift(res, calls)[0]

    def refresh_with_drift(
        self, res: ResourceState, calls: list[str] | None = None
    ) -> tuple[ResourceState | None, bool]:
        """``refresh``, and whether the engine would report the resource changed: its
        refresh Diff found a difference (an output that moved by use alone is none)."""
        _log(calls, "Read")
        old_outputs = self._bag(res.outputs, res.secret_outputs)
        old_inputs = self._bag(res.inputs, res.secret_inputs)
        read = self._answered("Read", self.server.read(res.id, res.urn, old_outputs, old_inputs))
        if not read.id:
            return None, True
        inputs = read.inputs if read.inputs is not None else res.inputs
        sent = Props(res.outputs, res.secret_outputs)
        outputs = self._seen(f"read {res.name}", annotate(read.outputs, read.secret_keys, sent))
        drifted = False
        if not res.external:
            # Engine refresh diff: new state as the "old" side, the old inputs as the "new".
            _log(calls, "Diff")
            diff = self.server.diff(
                read.id,
                res.urn,
                self._bag(outputs.values, outputs.secrets),
                old_inputs,
                self._bag(inputs, res.secret_inputs),
            )
            drifted = diff.changes != "none"
        aso = frozenset(res.additional_secret_outputs) & outputs.values.keys()
        new = dataclasses.replace(
            res,
            id=read.id,
            inputs=dict(inputs),
            outputs=outputs.values,
            secret_inputs=res.secret_inputs & inputs.keys(),
            secret_outputs=outputs.secrets | aso,
        )
        return new, drifted


def _log(calls: list[str] | None, method: str) -> None:
    if calls is not None:
        calls.append(method)


@dataclass
class ModelStack:
    """A stack's state for a program given as plain inputs by logical name, without a
    Python program: ``up``, ``refresh`` and ``destroy`` run the engine's sequences for
    each resource, in program order, and stop at the first failed step as the engine does
    (the state then holds what had completed). Resources are of one type, top-level.
    """

    project: str = "project"
    stack: str = "test"
    type: str = API_KEY_TYPE
    resources: dict[str, ResourceState] = field(default_factory=dict)
    pending_deletes: list[ResourceState] = field(default_factory=list)
    # The last registration of each resource (its outputs and the provider's diff).
    registrations: dict[str, Registration] = field(default_factory=dict)

    def urn(self, name: str) -> str:
        """The URN of the resource with this logical name."""
        return resource_urn(name, project=self.project, stack=self.stack, type_=self.type)

    def all(self) -> list[tuple[str, ResourceState]]:
        """Every resource in state, replaced ones not yet deleted included."""
        return list(self.resources.items()) + [(r.name, r) for r in self.pending_deletes]

    def state(self, name: str, id_: str, inputs: Props, outputs: Props) -> ResourceState:
        """A resource of this stack as state records it."""
        return ResourceState(
            urn=self.urn(name),
            type=self.type,
            custom=True,
            id=id_,
            inputs=inputs.values,
            outputs=outputs.values,
            secret_inputs=inputs.secrets,
            secret_outputs=outputs.secrets,
        )

    def register(
        self, engine: LifeCycle, name: str, inputs: Mapping[str, Any], provider: str | None
    ) -> StepOp:
        """Register one resource of the program: its inputs, plus the ``__provider`` when
        the dynamic provider serves it (``provider``; None for the plugin). Secret inputs
        are given as ``rpc`` secrets, as a program sends them."""
        plain = {k: rpc.unwrap_rpc_secret(v) for k, v in inputs.items() if v is not None}
        secrets = frozenset(k for k, v in inputs.items() if rpc.is_rpc_secret(v))
        if provider is not None:
            plain[PROVIDER_KEY] = provider
        old = self.resources.get(name)
        done = engine.register(self.urn(name), Props(plain, secrets), old)
        self.registrations[name] = done
        self.resources[name] = self.state(name, done.id, done.inputs, done.outputs)
        if done.replaced == "condemned" and old is not None:
            self.pending_deletes.append(old)
        return done.op

    def up(
        self, engine: LifeCycle, program: Mapping[str, Mapping[str, Any]], provider: str | None
    ) -> list[tuple[str, StepOp]]:
        """``pulumi up``: registrations in program order, then the deletes of resources no
        longer declared (last in state first) and of replaced resources."""
        steps = [
            (name, self.register(engine, name, inputs, provider))
            for name, inputs in program.items()
        ]
        for name in reversed(list(self.resources)):
            if name not in program:
                engine.delete(self.resources[name])
                del self.resources[name]
                steps.append((name, "delete"))
        self._delete_pending(engine, steps)
        return steps

    def _delete_pending(self, engine: LifeCycle, steps: list[tuple[str, StepOp]]) -> None:
        while self.pending_deletes:
            old = self.pending_deletes[0]
            engine.delete(old, replacing=True)
            self.pending_deletes.pop(0)
            steps.append((old.name, "delete-replaced"))

    def refresh(self, engine: LifeCycle) -> list[tuple[str, StepOp]]:
        """``pulumi refresh``: read every resource; a failed read keeps that resource, the
        others go on, and the first failure is raised at the end."""
        failure: Exception | None = None
        steps: list[tuple[str, StepOp]] = []
        for name, resource in list(self.resources.items()):
            try:
                new = engine.refresh(resource)
            except Exception as error:
                failure = failure or error
                continue
            if new is None:
                del self.resources[name]
                steps.append((name, "refresh-delete"))
            else:
                self.resources[name] = new
                steps.append((name, "refresh"))
        if failure is not None:
            raise failure
        return steps

    def destroy(self, engine: LifeCycle) -> list[tuple[str, StepOp]]:
        """``pulumi destroy``: delete last in state first; a failure keeps that resource."""
        steps: list[tuple[str, StepOp]] = []
        for name in reversed(list(self.resources)):
            engine.delete(self.resources[name])
            del self.resources[name]
            steps.append((name, "delete"))
        self._delete_pending(engine, steps)
        return steps
