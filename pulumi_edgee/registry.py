"""The resources this package serves, one row each. The plugin dispatches on them, the
schema generator describes them, the guardrails and the report recognise them in state.

A row names the resource, its property table and the module holding its lifecycle (the
steps in `Lifecycle`, imported when a step first runs, so that importing the registry stays
as light as importing the property table). docs/contributing.md lists what else a second
resource touches.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from .properties import PROPS, ROTATING_PROPS, Change, Prop

if TYPE_CHECKING:
    from .results import Checked, Diff, Found
    from .session import Session

PACKAGE = "edgee"
# A dynamic resource's type token: `pulumi-python:dynamic/<module>:<name>`.
DYNAMIC_PREFIX = "pulumi-python:dynamic"


class Lifecycle(Protocol):
    """What a resource's lifecycle module provides, in wire-named property dicts."""

    def check(
        self,
        news: Mapping[str, Any],
        olds: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> Checked: ...

    def diff(
        self,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        key_id: str | None = None,
        session: Session | None = None,
        ignored: Collection[str] = (),
    ) -> Diff: ...

    def create(self, session: Session, props: Mapping[str, Any]) -> Found: ...

    def read(self, session: Session, key_id: str, props: Mapping[str, Any]) -> Found: ...

    def update(
        self, session: Session, key_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def delete(self, session: Session, key_id: str, props: Mapping[str, Any]) -> None: ...

    def preview_update(
        self, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Resource:
    name: str  # as the schema and every language's SDK spell it
    summary: str  # the first sentence of its description in the schema and the docs
    props: tuple[Prop, ...]
    lifecycle_module: str
    # The outputs naming the keys a resource holds; none: its id is its key's.
    key_id_outputs: tuple[str, ...] = ()

    @property
    def token(self) -> str:
        """The plugin's type token."""
        return f"{PACKAGE}:index:{self.name}"

    @property
    def dynamic_token(self) -> str:
        """The Python dynamic resource's type token (`module=PACKAGE, name=name`)."""
        return f"{DYNAMIC_PREFIX}/{PACKAGE}:{self.name}"

    @property
    def input_props(self) -> tuple[Prop, ...]:
        return tuple(p for p in self.props if p.change is not Change.OUTPUT_ONLY)

    @property
    def replace_props(self) -> tuple[str, ...]:
        return tuple(p.wire for p in self.props if p.change is Change.REPLACE)

    @property
    def secret_outputs(self) -> frozenset[str]:
        return frozenset(p.wire for p in self.props if p.secret)

    def held_key_ids(self, resource_id: str, outputs: Mapping[str, Any]) -> list[str]:
        """The ids of the keys a resource of this row holds, as its state says."""
        if not self.key_id_outputs:
            return [resource_id]
        return [str(outputs[name]) for name in self.key_id_outputs if outputs.get(name)]

    def lifecycle(self) -> Lifecycle:
        return cast("Lifecycle", importlib.import_module(self.lifecycle_module))


API_KEY = Resource("ApiKey", "An Edgee AI Gateway API key.", PROPS, "pulumi_edgee.lifecycle")

ROTATING_API_KEY = Resource(
    "RotatingApiKey",
    "An Edgee AI Gateway API key that rotates without downtime: a rotation makes a new "
    "current key and keeps the old one valid as the previous key for `graceDays`, so "
    "that consumers reading the secret at their own pace move over before it is deleted.",
    ROTATING_PROPS,
    "pulumi_edgee.rotating",
    key_id_outputs=("keyId", "previousKeyId"),
)

RESOURCES: tuple[Resource, ...] = (API_KEY, ROTATING_API_KEY)
BY_TOKEN: dict[str, Resource] = {r.token: r for r in RESOURCES}
BY_STATE_TYPE: dict[str, Resource] = {
    token: r for r in RESOURCES for token in (r.token, r.dynamic_token)
}
# Every type token under which a resource of this package sits in Pulumi state.
STATE_TYPES: frozenset[str] = frozenset(
    token for r in RESOURCES for token in (r.token, r.dynamic_token)
)
