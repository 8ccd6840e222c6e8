"""The rules the client applies to its settings, kept free of the HTTP stack so that the
provider can apply them at preview time without importing httpx (its first call in a
process then stays cheap)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses, the only hosts allowed plain http."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """The URL without trailing slash, or `ConfigurationError`: https, or http to loopback.

    The one rule for Console URLs; provider settings apply it at preview time.
    """
    base_url = base_url.strip().rstrip("/")
    if any(not c.isprintable() or c.isspace() for c in base_url):
        raise ConfigurationError("the Console API URL is not a valid URL")
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise ConfigurationError("the Console API URL is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("the Console API URL must not embed credentials")
    shown = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    if not host or parts.scheme not in ("https", "http"):
        raise ConfigurationError(f"the Console API URL {shown!r} is not an https:// URL")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigurationError(
            f"refusing plain-http Console API URL {shown!r}: the token would travel "
            "unencrypted; use https:// (http:// is allowed only for loopback hosts such "
            "as the local emulator)"
        )
    return base_url


def check_token(token: str) -> str:
    """The token without surrounding space, or `ConfigurationError` (naming no part of it)."""
    token = token.strip()
    if not token or not token.isascii() or not token.isprintable() or " " in token:
        raise ConfigurationError("The Console API token is empty or not printable ASCII")
    return token
