"""Manage Edgee AI Gateway API keys as code with Pulumi.

The public names load on first use, so that `python -m pulumi_edgee.emulator` and the
console client do not pay for the Pulumi SDK; a program's `from pulumi_edgee import
ApiKey` loads the resource, which imports neither the HTTP client nor pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_getattr
from ._version import __version__

if TYPE_CHECKING:
    from .api_key import ApiKey, ApiKeyArgs
    from .functions import ApiKeyInfo, ApiKeyLookup, get_api_key, get_api_keys
    from .provider import ApiKeyProvider, RotatingApiKeyProvider
    from .rotating_api_key import RotatingApiKey, RotatingApiKeyArgs

__all__ = [
    "ApiKey",
    "ApiKeyArgs",
    "ApiKeyInfo",
    "ApiKeyLookup",
    "ApiKeyProvider",
    "RotatingApiKey",
    "RotatingApiKeyArgs",
    "RotatingApiKeyProvider",
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
    "RotatingApiKey": ".rotating_api_key",
    "RotatingApiKeyArgs": ".rotating_api_key",
    "RotatingApiKeyProvider": ".provider",
    "get_api_key": ".functions",
    "get_api_keys": ".functions",
}


__getattr__ = lazy_getattr(__name__, _HOMES)
