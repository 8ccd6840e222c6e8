"""Property structs on the engine's wire <-> the plain dicts the lifecycle works with.

The plugin says `acceptSecrets`, so the engine sends secrets wrapped and keeps the ones
the plugin returns wrapped. The lifecycle sees plain values (and `Unknown` for values not
known in a preview); the adapter remembers which top-level properties were secret and
wraps them again on the way out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc


def _plain(value: Any) -> tuple[Any, bool]:
    """The value with every secret wrapper removed, and whether there was one."""
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))[0], True
    if isinstance(value, dict):
        items = {k: _plain(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        elements = [_plain(v) for v in value]
        return [v for v, _ in elements], any(s for _, s in elements)
    return value, False


def decode(struct: struct_pb2.Struct | None) -> tuple[dict[str, Any], frozenset[str]]:
    """Plain values (unknowns as `pulumi.output.Unknown`) and the names of the top-level
    properties that held a secret anywhere inside."""
    if struct is None:
        return {}, frozenset()
    raw: dict[str, Any] = rpc.deserialize_properties(struct, keep_unknowns=True)
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for name, value in raw.items():
        values[name], secret = _plain(value)
        if secret:
            secrets.add(name)
    return values, frozenset(secrets)


def encode(props: Mapping[str, Any], secrets: Collection[str] = ()) -> struct_pb2.Struct:
    """A property struct; the `secrets` named (when set) are wrapped, None values left out."""
    wrapped = {
        name: rpc.wrap_rpc_secret(value)
        if name in secrets and value is not None and not rpc.is_rpc_secret(value)
        else value
        for name, value in props.items()
    }
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(wrapped, {}))
    finally:
        loop.close()
