"""Where the provider's credentials come from: stack config first, then the environment.

Kept apart from the provider so that the rule (and its error text) lives in one place.
The token is held only in memory for the process; it is never stored on the provider
instance, which is pickled into every resource's state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from .console import ConfigurationError, check_base_url, check_token
from .errors import EdgeeError

DEFAULT_CONSOLE_URL = "https://api.edgee.app"


@dataclass(frozen=True)
class Source:
    """One setting: its stack config key and its environment variable."""

    config_key: str
    env_var: str
    secret: bool = False

    def how_to_set(self) -> str:
        secret = "--secret " if self.secret else ""
        return (
            f"set it with `pulumi config set {secret}{self.config_key} <value>` "
            f"or the environment variable {self.env_var}"
        )


API_TOKEN = Source("edgee:apiToken", "EDGEE_CONSOLE_API_TOKEN", secret=True)
ORGANIZATION_ID = Source("edgee:organizationId", "EDGEE_ORGANIZATION_ID")
CONSOLE_URL = Source("edgee:consoleUrl", "EDGEE_CONSOLE_URL")
CONFIG_SOURCES: tuple[Source, ...] = (API_TOKEN, ORGANIZATION_ID, CONSOLE_URL)


class SettingsError(EdgeeError):
    """A missing or unusable setting; the message says how to fix it and holds no secret."""


@dataclass(frozen=True)
class Settings:
    """Resolved connection settings. `repr` leaves the token out."""

    console_url: str
    organization_id: str
    api_token: str = field(repr=False)


def resolve(
    config: Mapping[str, str | None],
    environ: Mapping[str, str] | None = None,
    how_to_set: Callable[[Source], str] = Source.how_to_set,
) -> Settings:
    """Read each setting from stack config, else the environment, and check it is usable.
    `how_to_set` words the fix for a tool that takes settings otherwise."""
    env = os.environ if environ is None else environ

    def lookup(source: Source) -> str | None:
        value = config.get(source.config_key) or env.get(source.env_var)
        return value.strip() if value and value.strip() else None

    token = lookup(API_TOKEN)
    organization = lookup(ORGANIZATION_ID)
    url = canonical_url(lookup(CONSOLE_URL) or DEFAULT_CONSOLE_URL)
    missing = [
        f"the Console API token is not set: {how_to_set(API_TOKEN)}" if token is None else "",
        f"the organization id is not set: {how_to_set(ORGANIZATION_ID)}"
        if organization is None
        else "",
    ]
    problems = [m for m in missing if m]
    if token is not None:
        try:
            check_token(token)
        except ConfigurationError as error:
            problems.append(f"{error}: {how_to_set(API_TOKEN)}")
    url_problem = _url_problem(url, how_to_set)
    if url_problem:
        problems.append(url_problem)
    if problems or token is None or organization is None:
        raise SettingsError("Edgee provider configuration: " + "; ".join(problems) + ".")
    return Settings(console_url=url, organization_id=organization, api_token=token)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def canonical_url(url: str) -> str:
    """The one spelling of a Console URL: scheme and host in lower case, no default port,
    no trailing slash. Spellings that reach the same Console are the same setting, so
    moving between them changes nothing (a changed Console URL replaces every key)."""
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:  # not a URL: `_url_problem` says so
        return url
    if host is None or parts.username is not None or parts.password is not None:
        return url
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))


def canonical(source: Source, value: str | None) -> str | None:
    """A setting as `resolve` reads it (None when unset or blank), for comparing two
    configurations: the Console URL in its one spelling, the others without spaces."""
    if value is None or not value.strip():
        return None
    return canonical_url(value) if source is CONSOLE_URL else value.strip()


def _url_problem(url: str, how_to_set: Callable[[Source], str]) -> str | None:
    """What makes the Console URL unusable, with the fix; None when it is usable."""
    try:
        check_base_url(url)
    except ConfigurationError as error:
        return f"{error}: {how_to_set(CONSOLE_URL)}"
    parts = urlsplit(url)
    if parts.path.strip("/") or parts.query or parts.fragment:
        # Request paths (`/v1/organizations/...`) are added to the base URL: a base with a
        # path would reach the wrong route and read as "organization not found".
        # Never echo the query, fragment or userinfo: they may carry a credential.
        base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        shown = base + parts.path
        return (
            f"the Console API URL {shown!r} (query and fragment not shown) is not a base URL "
            f"(it has a path, query or fragment); give only {base!r}: {how_to_set(CONSOLE_URL)}"
        )
    return None
