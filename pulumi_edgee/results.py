"""What a lifecycle step answers, in the project's own terms; each front door renders it
(the dynamic provider as `pulumi.dynamic` results, the plugin as gRPC responses), so a rule
decided in the lifecycle reaches both."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Kind(enum.Enum):
    """How a property's value changes: set, unset, or changed."""

    ADD = "add"
    DELETE = "delete"
    UPDATE = "update"


@dataclass(frozen=True)
class PropertyChange:
    kind: Kind
    replaces: bool


@dataclass(frozen=True)
class Diff:
    """Each changed input property with what it does to the key; none: no change."""

    changes: Mapping[str, PropertyChange] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def replaces(self) -> list[str]:
        return [name for name, change in self.changes.items() if change.replaces]


class Failure(NamedTuple):
    """What is wrong with one input, and how to fix it."""

    property: str
    reason: str


@dataclass(frozen=True)
class Checked:
    """The inputs a step will use, and what is wrong with them."""

    inputs: dict[str, Any]
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class Found:
    """A key made, adopted or read: its id (None: it no longer exists) and its state."""

    id: str | None
    outputs: dict[str, Any] = field(default_factory=dict)
