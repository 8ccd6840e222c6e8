"""Lookups for Python programs: `get_api_key` and `get_api_keys`.

The dynamic provider has no functions (invokes), so these run in the program's own
process, with the provider's settings (stack config `edgee:*`, else the environment),
through the same shared core as the provider plugin's functions (`key_finder`). They return
Outputs: arguments may be Outputs of other resources, and a lookup whose arguments are
known runs in a preview too. The secret `key` is fetched only with `reveal=True`, and is
then a Pulumi secret.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.runtime import get_config

from .properties import WIRE_TO_PYTHON

if TYPE_CHECKING:
    from .session import Session


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as a lookup sees it (never its secret; `email` is not returned by the API)."""

    id: str
    name: str
    type: str
    coding_assistant: str | None
    models: list[str]
    max_usage: int | None
    expires_in_days: int | None
    active: bool
    organization_id: str
    debug_mode: bool
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    expired: bool


_INFO_FIELDS = tuple(f.name for f in fields(ApiKeyInfo))


def _info(found: Mapping[str, Any]) -> ApiKeyInfo:
    values: dict[str, Any] = {WIRE_TO_PYTHON.get(k, k): v for k, v in found.items()}
    chosen: dict[str, Any] = {name: values.get(name) for name in _INFO_FIELDS}
    return ApiKeyInfo(**chosen)


class ApiKeyLookup:
    """One looked-up key: `info` (its settings and timestamps), its `id` and `name`, and
    `key`, its secret (a Pulumi secret; None unless looked up with `reveal=True`)."""

    def __init__(self, found: pulumi.Output[dict[str, Any]]) -> None:
        self.info: pulumi.Output[ApiKeyInfo] = found.apply(_info)
        self.id: pulumi.Output[str] = self.info.apply(lambda i: i.id)
        self.name: pulumi.Output[str] = self.info.apply(lambda i: i.name)
        self.key: pulumi.Output[str | None] = pulumi.Output.secret(
            found.apply(lambda f: f.get("key"))
        )


def _session() -> Session:
    """The process's session for the provider's settings, as the program sees them."""
    from .session import session_for
    from .settings import CONFIG_SOURCES, resolve

    config = {s.config_key: get_config(s.config_key) for s in CONFIG_SOURCES}
    return session_for(resolve(config, os.environ))


GET_API_KEY = "edgee:index:getApiKey"
GET_API_KEYS = "edgee:index:getApiKeys"


def _mocked() -> bool:
    """Whether the program runs under `pulumi.runtime.set_mocks` (a unit test): lookups
    are then answered by the mocks' `call`, with the plugin's tokens and shapes. Only
    set_mocks' own monitor counts: a harness that plays the engine with a monitor of its
    own (`pulumi_edgee.testing`) runs lookups as the engine would, against the Console."""
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_monitor

    return type(get_monitor()) is MockMonitor


async def _mock_call(token: str, args: dict[str, Any]) -> Any:
    given = {k: v for k, v in args.items() if v is not None}
    return await pulumi.runtime.invoke_async(token, given)


def _lookup_one(id: str | None, name: str | None, reveal: bool) -> dict[str, Any]:
    from . import key_finder

    return key_finder.get_api_key(_session(), id=id, name=name, reveal=reveal)


def _lookup_many(name_prefix: str | None, type: str | None) -> list[ApiKeyInfo]:
    from . import key_finder

    found = key_finder.get_api_keys(_session(), name_prefix=name_prefix, type=type)
    return [_info(k) for k in found]


def get_api_key(
    *,
    id: pulumi.Input[str] | None = None,
    name: pulumi.Input[str] | None = None,
    reveal: bool = False,
) -> ApiKeyLookup:
    """The one key with this `id`, or the one key with this `name` (exactly one of them).

    Fails the program when no key matches, when several keys have the name (their ids
    are listed), or when the settings or credentials are unusable.
    """
    if (id is None) == (name is None):
        raise TypeError("get_api_key: give exactly one of `id` and `name`")
    if _mocked():
        found: pulumi.Output[dict[str, Any]] = pulumi.Output.all(id, name).apply(
            lambda args: _mock_call(GET_API_KEY, {"id": args[0], "name": args[1], "reveal": reveal})
        )
        return ApiKeyLookup(found)
    found = pulumi.Output.all(id, name).apply(
        lambda args: asyncio.ensure_future(asyncio.to_thread(_lookup_one, args[0], args[1], reveal))
    )
    return ApiKeyLookup(found)


def get_api_keys(
    *,
    name_prefix: pulumi.Input[str] | None = None,
    type: pulumi.Input[str] | None = None,
) -> pulumi.Output[list[ApiKeyInfo]]:
    """The keys whose name starts with `name_prefix` and whose type is `type` (each filter
    applies only when given), ordered by name then id, without secrets."""
    if _mocked():
        return pulumi.Output.all(name_prefix, type).apply(lambda args: _mocked_many(*args))
    return pulumi.Output.all(name_prefix, type).apply(
        lambda args: asyncio.ensure_future(asyncio.to_thread(_lookup_many, args[0], args[1]))
    )


async def _mocked_many(name_prefix: str | None, type: str | None) -> list[ApiKeyInfo]:
    found = await _mock_call(GET_API_KEYS, {"namePrefix": name_prefix, "type": type})
    return [_info(k) for k in found.get("keys", [])]
