"""`RotatingApiKey`, the resource a Pulumi program declares for a key that rotates without
downtime, and `RotatingApiKeyArgs`, its inputs. See docs/guides/rotation.md.

Shaped like `ApiKey` (keyword arguments or an args object, snake_case in Python and
camelCase in state); imported by every program that uses it, so it imports nothing heavy.
"""

# No `from __future__ import annotations`: see api_key.py (the SDK reads these hints).
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi.dynamic

from .api_key import registered_props
from .properties import (
    PYTHON_TO_WIRE,
    ROTATING_PROPS,
    WIRE_TO_PYTHON,
    output_only_python,
)
from .provider import RotatingApiKeyProvider
from .registry import PACKAGE, ROTATING_API_KEY


@dataclass
class RotatingApiKeyArgs:
    """The inputs of a `RotatingApiKey`: an `ApiKey`'s, and how it rotates."""

    name: pulumi.Input[str]
    type: pulumi.Input[str] | None = None
    coding_assistant: pulumi.Input[str] | None = None
    models: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    max_usage: pulumi.Input[int] | None = None
    expires_in_days: pulumi.Input[int] | None = None
    email: pulumi.Input[str] | None = None
    active: pulumi.Input[bool] | None = None
    adopt_id: pulumi.Input[str] | None = None
    rotate_before_expiry_days: pulumi.Input[int] | None = None
    rotate_every_days: pulumi.Input[int] | None = None
    grace_days: pulumi.Input[int] | None = None
    retire_when_idle_hours: pulumi.Input[int] | None = None


class RotatingApiKey(pulumi.dynamic.Resource, module=PACKAGE, name=ROTATING_API_KEY.name):
    """An Edgee AI Gateway API key that rotates with an overlap: after a rotation the old
    key stays valid as `previous_key` for `grace_days`. `key` and `previous_key` are
    always Pulumi secrets."""

    name: pulumi.Output[str]
    type: pulumi.Output[str]
    coding_assistant: pulumi.Output[str | None]
    models: pulumi.Output[list[str]]
    max_usage: pulumi.Output[int | None] = pulumi.property("maxUsage")
    expires_in_days: pulumi.Output[int | None] = pulumi.property("expiresInDays")
    email: pulumi.Output[str | None]
    active: pulumi.Output[bool]
    adopt_id: pulumi.Output[str | None]
    rotate_before_expiry_days: pulumi.Output[int | None] = pulumi.property("rotateBeforeExpiryDays")
    rotate_every_days: pulumi.Output[int | None] = pulumi.property("rotateEveryDays")
    grace_days: pulumi.Output[int] = pulumi.property("graceDays")
    retire_when_idle_hours: pulumi.Output[int | None] = pulumi.property("retireWhenIdleHours")
    organization_id: pulumi.Output[str]
    debug_mode: pulumi.Output[bool]
    created_at: pulumi.Output[str]
    expires_at: pulumi.Output[str | None]
    last_used_at: pulumi.Output[str | None]
    expired: pulumi.Output[bool]
    key_id: pulumi.Output[str]
    rotated_at: pulumi.Output[str]
    previous_key_id: pulumi.Output[str | None]
    previous_retires_at: pulumi.Output[str | None]
    previous_last_used_at: pulumi.Output[str | None]
    key: pulumi.Output[str]
    previous_key: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: RotatingApiKeyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: pulumi.Input[str] | None = None,
        type: pulumi.Input[str] | None = None,
        coding_assistant: pulumi.Input[str] | None = None,
        models: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        max_usage: pulumi.Input[int] | None = None,
        expires_in_days: pulumi.Input[int] | None = None,
        email: pulumi.Input[str] | None = None,
        active: pulumi.Input[bool] | None = None,
        adopt_id: pulumi.Input[str] | None = None,
        rotate_before_expiry_days: pulumi.Input[int] | None = None,
        rotate_every_days: pulumi.Input[int] | None = None,
        grace_days: pulumi.Input[int] | None = None,
        retire_when_idle_hours: pulumi.Input[int] | None = None,
    ) -> None:
        keywords = {
            "name": name,
            "type": type,
            "coding_assistant": coding_assistant,
            "models": models,
            "max_usage": max_usage,
            "expires_in_days": expires_in_days,
            "email": email,
            "active": active,
            "adopt_id": adopt_id,
            "rotate_before_expiry_days": rotate_before_expiry_days,
            "rotate_every_days": rotate_every_days,
            "grace_days": grace_days,
            "retire_when_idle_hours": retire_when_idle_hours,
        }
        outputs = output_only_python(ROTATING_PROPS)
        props = registered_props("RotatingApiKey", resource_name, keywords, args, outputs)
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["key", "previous_key"])
        super().__init__(
            RotatingApiKeyProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )

    def translate_input_property(self, prop: str) -> str:
        return PYTHON_TO_WIRE.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return WIRE_TO_PYTHON.get(prop, prop)
