"""The floor: a dynamic provider that does nothing but answer with an ApiKey-sized
payload, so that what the SDK's server costs per call can be told apart from what
pulumi-edgee adds. Loaded by reference by `python -m pulumi.dynamic`, so it imports
only what the SDK already has loaded."""

from __future__ import annotations

import itertools
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, ReadResult, ResourceProvider
from pulumi.runtime.rpc import wrap_rpc_secret

_ids = itertools.count(1)
_SECRET = "ek_" + "f" * 48  # a gateway key's length


def outputs(props: dict[str, Any], secret: str) -> dict[str, Any]:
    """The fourteen outputs the real provider returns, with the key a secret."""
    return {
        "name": props.get("name"),
        "type": props.get("type", "api"),
        "codingAssistant": None,
        "models": list(props.get("models") or []),
        "maxUsage": props.get("maxUsage"),
        "expiresInDays": props.get("expiresInDays"),
        "email": props.get("email"),
        "active": True,
        "organizationId": "org_bench",
        "debugMode": False,
        "createdAt": props.get("createdAt", "2026-01-01T00:00:00Z"),
        "expiresAt": None,
        "lastUsedAt": None,
        "key": wrap_rpc_secret(secret),
    }


class FloorProvider(ResourceProvider):
    """Answers Check, Create and Read from its arguments alone."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult({k: v for k, v in news.items() if k != "__provider"}, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"key_floor_{next(_ids):024d}", outputs(props, _SECRET))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, outputs(props, str(props.get("key") or _SECRET)))
