"""`ApiKey`, the resource a Pulumi program declares, and `ApiKeyArgs`, its inputs.

Shaped like a generated Pulumi SDK: keyword arguments or an args object, snake_case in
Python and camelCase in state. Imported by every program, so it imports nothing heavy.
"""

# No `from __future__ import annotations`: the SDK reads the output annotations of every
# resource it registers (`typing.get_type_hints`), and string annotations would be
# compiled again for each one (about 0.3 ms per key).
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import pulumi
import pulumi.dynamic

from .properties import OUTPUT_ONLY_PYTHON, PYTHON_TO_WIRE, SECRET_INPUTS, WIRE_TO_PYTHON
from .provider import ApiKeyProvider
from .registry import API_KEY, PACKAGE


@dataclass
class ApiKeyArgs:
    """The inputs of an `ApiKey`. See the README's reference table for each property."""

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


class ApiKey(pulumi.dynamic.Resource, module=PACKAGE, name=API_KEY.name):
    """An Edgee AI Gateway API key. Its secret, `key`, is always a Pulumi secret."""

    name: pulumi.Output[str]
    type: pulumi.Output[str]
    coding_assistant: pulumi.Output[str | None]
    models: pulumi.Output[list[str]]
    # Named by their wire names so that the SDK finds their type and hands the program an
    # `int` (every number crosses the wire as a double).
    max_usage: pulumi.Output[int | None] = pulumi.property("maxUsage")
    expires_in_days: pulumi.Output[int | None] = pulumi.property("expiresInDays")
    email: pulumi.Output[str | None]
    active: pulumi.Output[bool]
    adopt_id: pulumi.Output[str | None]
    rotate_before_expiry_days: pulumi.Output[int | None]
    rotate_every_days: pulumi.Output[int | None]
    organization_id: pulumi.Output[str]
    debug_mode: pulumi.Output[bool]
    created_at: pulumi.Output[str]
    expires_at: pulumi.Output[str | None]
    last_used_at: pulumi.Output[str | None]
    expired: pulumi.Output[bool]
    key: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ApiKeyArgs | None = None,
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
        }
        by_id = opts is not None and opts.id is not None
        props = registered_props("ApiKey", resource_name, keywords, args, OUTPUT_ONLY_PYTHON, by_id)
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["key"])
        super().__init__(
            ApiKeyProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )

    @staticmethod
    def get(
        resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> "ApiKey":
        """Read an existing key this stack does not manage (the Pulumi `get` convention).

        Its outputs are the live key's, its secret `key` included (as a Pulumi secret);
        the stack never updates or deletes it.
        """
        return ApiKey(
            resource_name, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        )

    def translate_input_property(self, prop: str) -> str:
        return PYTHON_TO_WIRE.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return WIRE_TO_PYTHON.get(prop, prop)


def registered_props(
    kind: str,
    resource_name: str,
    keywords: dict[str, Any],
    args: Any,
    outputs: Sequence[str],
    by_id: bool = False,
) -> dict[str, Any]:
    """The properties a resource of `kind` registers: its keyword arguments or its args
    object (not both), `name` required unless it is read by id, every output unset, and
    the names of the inputs given as secrets."""
    if args is not None:
        given = sorted(k for k, v in keywords.items() if v is not None)
        if given:
            raise TypeError(
                f"{kind} {resource_name!r}: pass either `args` or keyword arguments, "
                f"not both (got args and {', '.join(given)})"
            )
        keywords = {f.name: getattr(args, f.name) for f in fields(args)}
    if keywords["name"] is None and not by_id:
        raise TypeError(f"{kind} {resource_name!r}: missing required argument `name`")
    props: dict[str, Any] = {**keywords, **dict.fromkeys(outputs)}
    if not all(map(_plain, keywords.values())):
        props[SECRET_INPUTS] = _secret_inputs(keywords)
    return props


def _plain(value: Any) -> bool:
    """Whether an input is a plain value (which cannot be a secret)."""
    if isinstance(value, (list, tuple)):
        return all(map(_plain, value))
    return value is None or isinstance(value, (str, int, float, bool))


def _secret_inputs(keywords: dict[str, Any]) -> pulumi.Output[list[str]]:
    """The wire names of the inputs given as secrets, for the provider to keep their
    values out of its messages (a dynamic provider receives them plain; see
    `redaction`). Itself no secret: names only."""
    given = {PYTHON_TO_WIRE[k]: v for k, v in keywords.items() if not _plain(v)}

    async def names() -> list[str]:
        return [w for w, v in given.items() if await pulumi.Output.from_input(v).is_secret()]

    return pulumi.Output.from_input(names())
