"""Manage Edgee AI Gateway API keys as code with Pulumi.

Only the names a program needs are imported here, and none of them imports the HTTP
client or pydantic: those load when the provider first runs.
"""

from .api_key import ApiKey, ApiKeyArgs
from .provider import ApiKeyProvider

__all__ = ["ApiKey", "ApiKeyArgs", "ApiKeyProvider"]
