"""Typed failures of the Console API client.

The provider decides what to do from the class alone (retry, reconcile, report), so every
HTTP or transport failure maps to exactly one class here. Messages are shown to people in
`pulumi up` output and logs: they never carry the Console API token or a gateway key.

Hierarchy:

* ConsoleError (under `pulumi_edgee.errors.EdgeeError`, the package's root)
  + ConfigurationError - settings the client refuses (plain-http remote URL, empty token)
  + InvalidKeyIdError - a key id no Console key can have ('', '.', '..'), before any request
  + CommunicationError - no readable HTTP answer (refused, dropped, timed out)
    - DeadlineExceededError - a request's or a step's total time budget ran out
  + UnexpectedResponseError - a 2xx body that cannot be read, a list walk that does not end
  + OutcomeUnknownError - a create that may or may not have been applied
  + ApiError - an HTTP error status
    - AuthenticationError - 401
    - NotFoundError - 404 on a key
    - UnsupportedOperationError - 405, 501
    - InvalidRequestError - 400, 422
    - OrganizationScopedError
      · PermissionDeniedError - 403
      · OrganizationNotFoundError - 404 on the key collection
    - RetryableApiError
      · RateLimitedError - 429
      · ServerError - 5xx except 501
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

from ..errors import EdgeeError

_SECRET_PATTERNS = (
    (re.compile(r"(?i)\bbearer(?:\s|%20|\+)+[^\s\"',;&]+"), "Bearer ***"),
    (re.compile(r"\bek_[A-Za-z0-9_-]+"), "ek_***"),
)
_MAX_DETAIL = 300
# Secrets this long are masked wherever they appear, even run into other text.
_SUBSTRING_MIN = 12


def mask(text: str, *secrets: str) -> str:
    """`text` with each given secret masked, in the forms text may quote it (as is, URL-
    or JSON-escaped, as Python's repr shows it)."""
    forms = {
        form
        for secret in secrets
        if secret
        for form in (
            secret,
            quote(secret, safe=""),
            quote_plus(secret),
            json.dumps(secret, ensure_ascii=False)[1:-1],
            repr(secret)[1:-1],
        )
        if form
    }
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= _SUBSTRING_MIN:
            text = text.replace(form, "***")
        else:
            # Whole words only, so that a short secret does not mangle ordinary words.
            text = re.sub(rf"(?<![\w-]){re.escape(form)}(?![\w-])", "***", text)
    return text


def scrub(text: str, *secrets: str) -> str:
    """Mask bearer tokens, gateway keys and the given secrets, and bound the length.

    Server text is echoed into messages only through this, since a misbehaving server or
    proxy could reflect the request's credentials back.
    """
    text = mask(text, *secrets)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _suffix(detail: str) -> str:
    return f": {detail}" if detail else ""


class ConsoleError(EdgeeError):
    """Base class of every error the Console API client raises."""


class ConfigurationError(ConsoleError):
    """The client was given settings it refuses to use (e.g. a plain-http remote URL)."""


class InvalidKeyIdError(ConsoleError, ValueError):
    """An id that cannot name a key (it would address the key collection or its parent):
    refused before any request, as the caller's mistake rather than the Console's."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"{key_id!r} is not an API key id: ids are the Console's (e.g. key_abc123), "
            "never empty, '.' or '..'"
        )
        self.key_id = key_id


class UnexpectedResponseError(ConsoleError):
    """A successful status whose body the client cannot read, or pagination that loops."""

    def __init__(self, method: str, path: str, detail: str) -> None:
        self.method = method
        self.path = path
        super().__init__(
            f"Unexpected answer from the Edgee Console API to {method} {path}: {detail}"
        )


class CommunicationError(ConsoleError):
    """The exchange failed below HTTP (connection refused, timeout, dropped connection).

    `may_have_been_sent` is False only when no byte of the request can have reached the
    server, i.e. the server cannot have acted on it. (Named apart from httpx's
    `TransportError`, which this wraps without chaining.)
    """

    def __init__(self, method: str, path: str, *, may_have_been_sent: bool, detail: str) -> None:
        self.method = method
        self.path = path
        self.may_have_been_sent = may_have_been_sent
        super().__init__(
            f"Could not complete {method} {path} with the Edgee Console API{_suffix(detail)}"
        )


class DeadlineExceededError(CommunicationError):
    """A request or a whole step ran past its total time budget (not a per-read timeout:
    a server that drips one byte at a time is cut off too)."""


class OutcomeUnknownError(ConsoleError):
    """A create may or may not have been applied; the caller must reconcile by listing.

    Raised instead of retrying because a create has no idempotency key: a blind retry
    could leave a second, orphaned gateway key.
    """

    def __init__(self, method: str, path: str, cause: ConsoleError) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        super().__init__(
            f"The outcome of {method} {path} is unknown (the key may or may not have been "
            f"created; list the keys to find out). Cause: {cause}"
        )


class ApiError(ConsoleError):
    """The Console API answered with an HTTP error status."""

    def __init__(self, status: int, method: str, path: str, detail: str = "") -> None:
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail
        super().__init__(self._describe())

    def _describe(self) -> str:
        return f"{self.method} {self.path} failed with HTTP {self.status}{_suffix(self.detail)}"


class AuthenticationError(ApiError):
    """401: the token is missing, wrong or expired."""

    def _describe(self) -> str:
        return (
            f"The Edgee Console API rejected the API token (HTTP {self.status} on "
            f"{self.method} {self.path}{_suffix(self.detail)}). Set a valid Console API token "
            "with `pulumi config set --secret edgee:apiToken <token>` or the environment "
            "variable EDGEE_CONSOLE_API_TOKEN."
        )


class OrganizationScopedError(ApiError):
    """An answer about the organization as a whole; says which one was asked for."""

    def __init__(
        self, status: int, method: str, path: str, detail: str = "", *, organization_id: str
    ) -> None:
        self.organization_id = organization_id
        super().__init__(status, method, path, detail)


class PermissionDeniedError(OrganizationScopedError):
    """403: the token is valid but may not do this in this organization."""

    def _describe(self) -> str:
        return (
            f"The Console API token lacks permission for organization {self.organization_id!r} "
            f"(HTTP {self.status} on {self.method} {self.path}{_suffix(self.detail)}). Check "
            "that `edgee:organizationId` / EDGEE_ORGANIZATION_ID names the token's "
            "organization and that the token may manage API keys."
        )


class NotFoundError(ApiError):
    """404: the key (or path) does not exist; for a delete the provider counts it as done."""

    def _describe(self) -> str:
        return f"Not found: {self.method} {self.path} (HTTP {self.status}){_suffix(self.detail)}"


class OrganizationNotFoundError(OrganizationScopedError):
    """404 on the organization's key list: the organization id is wrong or not the token's.

    Deliberately not a `NotFoundError`: nothing may conclude from it that a key is gone.
    """

    def _describe(self) -> str:
        return (
            f"Organization {self.organization_id!r} was not found (HTTP {self.status} on "
            f"{self.method} {self.path}{_suffix(self.detail)}). Check that "
            "`edgee:organizationId` / EDGEE_ORGANIZATION_ID names the organization of the "
            "Console API token."
        )


class UnsupportedOperationError(ApiError):
    """405/501: the server does not serve this method on this path.

    Kept apart from `ServerError` because it is permanent: retrying cannot help, and
    `get_api_key` uses it to fall back to the list.
    """


class InvalidRequestError(ApiError):
    """400/422: the body or query failed validation; `field_errors` maps field to reason."""

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        detail: str = "",
        *,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        self.field_errors = dict(field_errors or {})
        super().__init__(status, method, path, detail)

    def _describe(self) -> str:
        fields = "; ".join(
            f"{name}: {reason.rstrip('.')}" for name, reason in self.field_errors.items()
        )
        parts = [part.rstrip(".") for part in (self.detail, fields) if part]
        return (
            f"The Edgee Console API rejected {self.method} {self.path} as invalid "
            f"(HTTP {self.status}){_suffix(': '.join(parts))}"
        )


class RetryableApiError(ApiError):
    """An answer the server may accept later; `retry_after` is its requested wait in seconds."""

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        detail: str = "",
        *,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(status, method, path, detail)


class RateLimitedError(RetryableApiError):
    """429: too many requests."""

    def _describe(self) -> str:
        wait = "" if self.retry_after is None else f", retry after {self.retry_after:g}s"
        where = f"{self.method} {self.path} (HTTP {self.status}{wait})"
        return f"Rate limited on {where}{_suffix(self.detail)}"


class ServerError(RetryableApiError):
    """5xx (except 501): a server-side failure, possibly transient."""
