"""What a failure looks like to the engine: one clear line and a gRPC code that means
something, never a Python traceback (which the engine would print whole).
"""

from __future__ import annotations

import grpc

from ..console import (
    AuthenticationError,
    CommunicationError,
    ConsoleError,
    InvalidKeyIdError,
    InvalidRequestError,
    NotFoundError,
    OrganizationNotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RetryableApiError,
)
from ..console.errors import mask
from ..key_finder import KeyLookupError, NoMatchError
from ..lifecycle import ApiKeyError
from ..settings import SettingsError


class PluginError(Exception):
    """A failure the plugin reports with a chosen code."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


# Most specific first: the first class in this table that matches a link of an error's
# chain decides. A lifecycle error with no Console error under it is a deliberate refusal
# (a key in another organization, an adoption that cannot be done): the stack's state or
# settings must change first.
_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (SettingsError, grpc.StatusCode.FAILED_PRECONDITION),
    (InvalidKeyIdError, grpc.StatusCode.INVALID_ARGUMENT),
    (AuthenticationError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (OrganizationNotFoundError, grpc.StatusCode.NOT_FOUND),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (NoMatchError, grpc.StatusCode.NOT_FOUND),
    (KeyLookupError, grpc.StatusCode.FAILED_PRECONDITION),
    (InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (OutcomeUnknownError, grpc.StatusCode.UNAVAILABLE),
    (RetryableApiError, grpc.StatusCode.UNAVAILABLE),
    (CommunicationError, grpc.StatusCode.UNAVAILABLE),
    (ApiKeyError, grpc.StatusCode.FAILED_PRECONDITION),
)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from or during (lifecycle errors are raised
    `from None`, which hides the Console error from tracebacks but keeps it here)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def status_of(error: BaseException, *secrets: str) -> tuple[grpc.StatusCode, str]:
    """The code and the one-line message the engine shows for `error`.

    Unexpected errors (a bug) are INTERNAL; the given secrets are masked in every text,
    since an unexpected error's text was not written to be shown.
    """
    if isinstance(error, PluginError):
        return error.code, _one_line(str(error), secrets)
    chain = _chain(error)
    code = next(
        (code for kind, code in _CODES for link in chain if isinstance(link, kind)),
        grpc.StatusCode.UNKNOWN,
    )
    if code is grpc.StatusCode.UNKNOWN and not _expected(error):
        return grpc.StatusCode.INTERNAL, _one_line(
            f"internal error in the Edgee provider ({type(error).__name__}: {error})", secrets
        )
    return code, _one_line(str(error), secrets)


def _one_line(text: str, secrets: tuple[str, ...]) -> str:
    """The text on one line, with every given secret masked."""
    return " ".join(mask(text, *secrets).split())


def _expected(error: BaseException) -> bool:
    """Errors written for people: lifecycle, settings, lookup and Console errors."""
    return isinstance(error, (ApiKeyError, ConsoleError, SettingsError, KeyLookupError))
