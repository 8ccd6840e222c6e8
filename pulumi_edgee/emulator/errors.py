"""Typed errors of the emulator's state; the HTTP layer maps each to a status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class BackendError(Exception):
    """Base of the errors the HTTP layer maps to statuses."""


class KeyNotFound(BackendError):
    """No live key with this id in this organization (404)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"No API key with id {key_id}.")
        self.key_id = key_id


@dataclass(frozen=True)
class FieldError:
    """One failed rule, named by the top-level body field it concerns."""

    field: str
    message: str


class ValidationFailed(BackendError):
    """A body broke one or more rules (422); every failing field is reported at once."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("Validation failed: " + "; ".join(e.message for e in errors))
        self.errors: tuple[FieldError, ...] = tuple(errors)


class Immutable(ValidationFailed):
    """An update named a field that cannot change after creation (422)."""

    def __init__(self, fields: Sequence[str], errors: Sequence[FieldError]) -> None:
        super().__init__(errors)
        self.fields: tuple[str, ...] = tuple(fields)


class InvalidPageRequest(BackendError):
    """A bad `limit` or an unknown `cursor` on the list (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class StateNotSaved(BackendError):
    """A write could not be saved to the state file, so it was not applied (503)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(
            "The change could not be saved to the emulator's state file"
            f" ({cause.strerror or type(cause).__name__}), so it was not applied."
        )


class StateFileError(Exception):
    """The state file exists but cannot be read as emulator state."""
