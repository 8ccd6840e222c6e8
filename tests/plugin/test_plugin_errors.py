"""What the engine is told when a call fails: the gRPC code follows the Console error
the lifecycle met (even when it re-raised it as its own, `from None`), the message is
one line, and the token never appears in it."""

from __future__ import annotations

import grpc
import pytest

from pulumi_edgee.console import (
    AuthenticationError,
    InvalidKeyIdError,
    NotFoundError,
    OrganizationNotFoundError,
    ServerError,
)
from pulumi_edgee.key_finder import NoMatchError, SeveralMatchesError
from pulumi_edgee.lifecycle import ApiKeyError
from pulumi_edgee.plugin.errors import status_of
from pulumi_edgee.settings import SettingsError

TOKEN = "tok_errors_4f6a8c0e2b"


def raised_by_lifecycle(cause: Exception) -> ApiKeyError:
    """An ApiKeyError raised `from None` while handling `cause`, as the lifecycle does."""
    try:
        try:
            raise cause
        except Exception as error:
            raise ApiKeyError(f"reading API key k failed: {error}") from None
    except ApiKeyError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("cause", "code"),
    [
        (AuthenticationError(401, "GET", "/keys"), grpc.StatusCode.UNAUTHENTICATED),
        (
            OrganizationNotFoundError(404, "GET", "/keys", organization_id="org_x"),
            grpc.StatusCode.NOT_FOUND,
        ),
        (NotFoundError(404, "GET", "/keys/k"), grpc.StatusCode.NOT_FOUND),
        (ServerError(503, "GET", "/keys", retry_after=None), grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_the_console_error_under_a_lifecycle_error_decides_the_code(
    cause: Exception, code: grpc.StatusCode
) -> None:
    got, message = status_of(raised_by_lifecycle(cause))
    assert got == code
    assert message.startswith("reading API key k failed: ")


def test_settings_and_lookup_errors() -> None:
    assert status_of(SettingsError("token not set"))[0] == grpc.StatusCode.FAILED_PRECONDITION
    assert status_of(NoMatchError("no API key is named 'x'"))[0] == grpc.StatusCode.NOT_FOUND
    assert status_of(SeveralMatchesError("2 keys"))[0] == grpc.StatusCode.FAILED_PRECONDITION
    # a lifecycle refusal with no Console error under it: the state or settings must change
    refused = ApiKeyError("reading API key k refused: the stack's state says it belongs to ...")
    assert status_of(refused)[0] == grpc.StatusCode.FAILED_PRECONDITION


def test_an_id_no_key_can_have_is_the_callers_mistake_whatever_wraps_it() -> None:
    wrapped = raised_by_lifecycle(InvalidKeyIdError(".."))
    code, message = status_of(wrapped)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == (
        "reading API key k failed: '..' is not an API key id: ids are the Console's "
        "(e.g. key_abc123), never empty, '.' or '..'"
    )


def test_an_unexpected_error_is_internal_one_line_and_masks_the_token() -> None:
    code, message = status_of(RuntimeError(f"bad\nvalue {TOKEN}"), TOKEN)
    assert code == grpc.StatusCode.INTERNAL
    assert "RuntimeError" in message
    assert TOKEN not in message
    assert "\n" not in message
