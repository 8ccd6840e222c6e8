"""The Console API's rules for create and update bodies, as plain functions.

Kept apart from the store so that the rules read as the contract states them
(docs/console-api.md) and can be compared with `pulumi_edgee.spec.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from .errors import FieldError, Immutable, ValidationFailed
from .keys import StoredKey

KEY_TYPES = ("api", "coding_agent")
CODING_ASSISTANTS = ("claude_code", "opencode", "codex")
IMMUTABLE_FIELDS = ("type", "coding_assistant", "expires_in_days")
MAX_USAGE_RANGE = (1, 1_000_000_000)
EXPIRES_IN_DAYS_RANGE = (1, 3650)
MAX_EMAIL_LENGTH = 254

_MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:-]*")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name_error(value: object) -> str | None:
    if not isinstance(value, str):
        return "name must be a string."
    if not 1 <= len(value) <= 255:
        return "name must be 1 to 255 characters long."
    if not value.strip():
        return "name must not be only white space."
    return None


def _models_error(value: object) -> str | None:
    if not isinstance(value, list):
        return "models must be a list of '{author}/{model}' strings."
    seen: set[str] = set()
    for index, model in enumerate(value):
        if not isinstance(model, str) or _MODEL_RE.fullmatch(model) is None:
            return (
                f"models[{index}] must be an '{{author}}/{{model}}' string"
                " such as 'openai/gpt-5.2'."
            )
        if model in seen:
            return f"models[{index}] repeats {model!r}; models must be distinct."
        seen.add(model)
    return None


def int_range_error(field: str, value: object, bounds: tuple[int, int]) -> str | None:
    """Why `value` is not an integer within `bounds`, or None when it is."""
    low, high = bounds
    if not _is_int(value):
        return f"{field} must be an integer."
    assert isinstance(value, int)
    if not low <= value <= high:
        return f"{field} must be between {low} and {high}."
    return None


def _email_error(value: object) -> str | None:
    if not isinstance(value, str):
        return "email must be a string."
    if len(value) > MAX_EMAIL_LENGTH:
        return f"email must be at most {MAX_EMAIL_LENGTH} characters long."
    if _EMAIL_RE.fullmatch(value) is None:
        return "email must be an email address such as 'ops@example.com'."
    return None


def _coding_assistant_error(key_type: object, value: object) -> str | None:
    if value is not None and value not in CODING_ASSISTANTS:
        return "coding_assistant must be one of: " + ", ".join(CODING_ASSISTANTS) + "."
    if key_type == "coding_agent" and value is None:
        return "coding_assistant is required when type is coding_agent."
    if key_type == "api" and value is not None:
        return "coding_assistant must be absent or null when type is api."
    return None


@dataclass(frozen=True)
class CreateFields:
    """A create body that passed validation, with defaults filled in."""

    name: str
    type: str
    coding_assistant: str | None
    models: tuple[str, ...]
    max_usage: int | None
    expires_in_days: int | None
    email: str | None


def validate_create(body: Mapping[str, object]) -> CreateFields:
    """Apply the create rules; null counts as absent for every optional field."""
    errors: list[FieldError] = []

    def check(field: str, message: str | None) -> None:
        if message is not None:
            errors.append(FieldError(field, message))

    name = body.get("name")
    check("name", "name is required." if name is None else _name_error(name))
    key_type = body.get("type")
    if key_type is None:
        key_type = "api"
    elif key_type not in KEY_TYPES:
        check("type", "type must be one of: " + ", ".join(KEY_TYPES) + ".")
    assistant = body.get("coding_assistant")
    check("coding_assistant", _coding_assistant_error(key_type, assistant))
    models = body.get("models")
    if models is not None:
        check("models", _models_error(models))
    max_usage = body.get("max_usage")
    if max_usage is not None:
        check("max_usage", int_range_error("max_usage", max_usage, MAX_USAGE_RANGE))
    days = body.get("expires_in_days")
    if days is not None:
        check(
            "expires_in_days",
            int_range_error("expires_in_days", days, EXPIRES_IN_DAYS_RANGE),
        )
    email = body.get("email")
    if email is not None:
        check("email", _email_error(email))
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(name, str)
    assert isinstance(key_type, str)
    return CreateFields(
        name=name,
        type=key_type,
        coding_assistant=assistant if isinstance(assistant, str) else None,
        models=tuple(models) if isinstance(models, list) else (),
        max_usage=max_usage if isinstance(max_usage, int) else None,
        expires_in_days=days if isinstance(days, int) else None,
        email=email if isinstance(email, str) else None,
    )


def validate_update(key: StoredKey, body: Mapping[str, object]) -> StoredKey:
    """Apply the update rules and return the updated key (not yet stored).

    null on `models`, `max_usage` or `email` removes the restriction, limit or address.
    """
    immutable = [field for field in IMMUTABLE_FIELDS if field in body]
    errors = [FieldError(field, f"{field} cannot change after creation.") for field in immutable]

    def check(field: str, message: str | None) -> bool:
        if message is not None:
            errors.append(FieldError(field, message))
        return message is None

    updated = key
    name = body.get("name")
    if "name" in body and check("name", _name_error(name)) and isinstance(name, str):
        updated = replace(updated, name=name)
    active = body.get("active")
    if "active" in body:
        if isinstance(active, bool):
            updated = replace(updated, active=active)
        else:
            check("active", "active must be a boolean.")
    models = body.get("models")
    if "models" in body and (models is None or check("models", _models_error(models))):
        updated = replace(updated, models=tuple(models) if isinstance(models, list) else ())
    max_usage = body.get("max_usage")
    if "max_usage" in body and (
        max_usage is None
        or check("max_usage", int_range_error("max_usage", max_usage, MAX_USAGE_RANGE))
    ):
        updated = replace(updated, max_usage=max_usage if isinstance(max_usage, int) else None)
    email = body.get("email")
    if "email" in body and (email is None or check("email", _email_error(email))):
        updated = replace(updated, email=email if isinstance(email, str) else None)
    if immutable:
        raise Immutable(immutable, errors)
    if errors:
        raise ValidationFailed(errors)
    return updated


def stored_key_errors(item: Mapping[str, object], exempt: Collection[str]) -> list[str]:
    """Why a key read back from the state file breaks the contract's rules, field by field.

    Fields in `exempt` (those of a key inserted as given) are not checked.
    """
    checks: dict[str, str | None] = {
        "name": _name_error(item.get("name")),
        "type": (
            None
            if item.get("type") in KEY_TYPES
            else "type must be one of: " + ", ".join(KEY_TYPES) + "."
        ),
        "coding_assistant": _coding_assistant_error(item.get("type"), item.get("coding_assistant")),
        "models": _models_error(item.get("models")),
        "max_usage": (
            None
            if item.get("max_usage") is None
            else int_range_error("max_usage", item.get("max_usage"), MAX_USAGE_RANGE)
        ),
        "active": None if isinstance(item.get("active"), bool) else "active must be a boolean.",
        "debug_mode": (
            None if isinstance(item.get("debug_mode"), bool) else "debug_mode must be a boolean."
        ),
        "email": None if item.get("email") is None else _email_error(item.get("email")),
    }
    return [message for name, message in checks.items() if message and name not in exempt]
