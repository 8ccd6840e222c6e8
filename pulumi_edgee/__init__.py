"""Manage Edgee AI Gateway API keys as code with Pulumi.

The public names load on first use, so that `python -m pulumi_edgee.emulator` and the
console client do not pay for the Pulumi SDK; a program's `from pulumi_edgee import
ApiKey` loads the resource, which imports neither the HTTP client nor pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .api_key import ApiKey, ApiKeyArgs
    from .functions import ApiKeyInfo, ApiKeyLookup, get_api_key, get_api_keys
    from .provider import ApiKeyProvider

__all__ = [
    "ApiKey",
    "ApiKeyArgs",
    "ApiKeyInfo",
    "ApiKeyLookup",
    "ApiKeyProvider",
    "__version__",
    "get_api_key",
    "get_api_keys",
]

_HOMES = {
    "ApiKey": ".api_key",
    "ApiKeyArgs": ".api_key",
    "ApiKeyInfo": ".functions",
    "ApiKeyLookup": ".functions",
    "ApiKeyProvider": ".provider",
    "get_api_key": ".functions",
    "get_api_keys": ".functions",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value
    return value
