"""The ApiKey property table and input model: the one place that says what each property
is, how it is validated and whether changing it updates in place or replaces the key.

`check`, `diff`, the README's reference table and `schema.json` all read this module, so
they cannot disagree. Property names here are the wire names (camelCase, as in Pulumi
state and the package schema); the Python resource maps them to snake_case.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

KeyType = Literal["api", "coding_agent"]
CodingAssistant = Literal["claude_code", "opencode", "codex"]

KEY_TYPES: tuple[str, ...] = ("api", "coding_agent")
CODING_ASSISTANTS: tuple[str, ...] = ("claude_code", "opencode", "codex")
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:-]*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_NAME_LENGTH = 255
MAX_EMAIL_LENGTH = 254
MAX_USAGE_LIMIT = 1_000_000_000
MAX_EXPIRY_DAYS = 3650

_MODEL_RE = re.compile(MODEL_PATTERN)
_EMAIL_RE = re.compile(EMAIL_PATTERN)


class Change(enum.Enum):
    """What a changed value does to the existing key."""

    IN_PLACE = "in-place update"
    REPLACE = "replacement"
    OUTPUT_ONLY = "output only"


@dataclass(frozen=True)
class Prop:
    """One property of the ApiKey resource, as the engine, the schema and the docs see it."""

    wire: str
    python: str
    schema_type: str
    change: Change
    description: str
    fix: str = ""
    required: bool = False
    default: Any = None
    secret: bool = False
    items: str | None = None
    enum: tuple[str, ...] = ()


PROPS: tuple[Prop, ...] = (
    Prop(
        "name",
        "name",
        "string",
        Change.IN_PLACE,
        "Descriptive name of the key, shown in the Edgee Console.",
        fix=f"Set `name` to a non-empty string of at most {MAX_NAME_LENGTH} characters.",
        required=True,
    ),
    Prop(
        "type",
        "type",
        "string",
        Change.REPLACE,
        "`api` for Gateway requests or `coding_agent` for coding assistants.",
        fix="Set `type` to `api` or `coding_agent` (or leave it unset for `api`).",
        default="api",
        enum=KEY_TYPES,
    ),
    Prop(
        "codingAssistant",
        "coding_assistant",
        "string",
        Change.REPLACE,
        "The coding assistant a `coding_agent` key is for.",
        fix=(
            "Set `coding_assistant` to `claude_code`, `opencode` or `codex` when `type` is "
            "`coding_agent`, and leave it unset for `api` keys."
        ),
        enum=CODING_ASSISTANTS,
    ),
    Prop(
        "models",
        "models",
        "array",
        Change.IN_PLACE,
        "Models the key may call, as `{author}/{model}`; empty means unrestricted. "
        "Order and duplicates are ignored.",
        fix="List models as `author/model` strings, e.g. `anthropic/claude-opus-4-6`.",
        items="string",
    ),
    Prop(
        "maxUsage",
        "max_usage",
        "integer",
        Change.IN_PLACE,
        "Monthly usage limit in USD; the key stops working past it.",
        fix=(
            f"Set `max_usage` to a whole number of USD per month from 1 to {MAX_USAGE_LIMIT}, "
            "or leave it unset for no limit."
        ),
    ),
    Prop(
        "expiresInDays",
        "expires_in_days",
        "integer",
        Change.REPLACE,
        "Days from creation after which the key stops working. Changing it creates a new key.",
        fix=f"Set `expires_in_days` to a whole number of days from 1 to {MAX_EXPIRY_DAYS}, "
        "or leave it unset for a key that does not expire.",
    ),
    Prop(
        "email",
        "email",
        "string",
        Change.IN_PLACE,
        "Email associated with the key, for billing and organization tracking.",
        fix=f"Set `email` to an address like `team@example.com` (at most {MAX_EMAIL_LENGTH} "
        "characters), or leave it unset.",
    ),
    Prop(
        "active",
        "active",
        "boolean",
        Change.IN_PLACE,
        "Whether the key works; `false` disables it without deleting it.",
        fix="Set `active` to true or false.",
        default=True,
    ),
    Prop("organizationId", "organization_id", "string", Change.OUTPUT_ONLY,
         "Organization that owns the key."),
    Prop("debugMode", "debug_mode", "boolean", Change.OUTPUT_ONLY,
         "Whether debug logging is on for the key."),
    Prop("createdAt", "created_at", "string", Change.OUTPUT_ONLY,
         "When the key was created (ISO 8601, UTC)."),
    Prop("expiresAt", "expires_at", "string", Change.OUTPUT_ONLY,
         "When the key stops working (ISO 8601, UTC), if it expires."),
    Prop("lastUsedAt", "last_used_at", "string", Change.OUTPUT_ONLY,
         "When the key was last used (ISO 8601, UTC), if ever."),
    Prop("key", "key", "string", Change.OUTPUT_ONLY,
         "The secret Gateway API key. Always a Pulumi secret.", secret=True),
)  # fmt: skip

PROPS_BY_WIRE: dict[str, Prop] = {p.wire: p for p in PROPS}
INPUT_PROPS: tuple[Prop, ...] = tuple(p for p in PROPS if p.change is not Change.OUTPUT_ONLY)
REPLACE_PROPS: tuple[str, ...] = tuple(p.wire for p in PROPS if p.change is Change.REPLACE)
PYTHON_TO_WIRE: dict[str, str] = {p.python: p.wire for p in PROPS}
WIRE_TO_PYTHON: dict[str, str] = {p.wire: p.python for p in PROPS}


def _whole_number(value: Any) -> Any:
    """Accept integral floats: the Pulumi wire format carries every number as a double."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number), Field(strict=True)]


class ApiKeySpec(BaseModel):
    """The desired state of one key, validated the way the Console API validates it."""

    model_config = ConfigDict(
        alias_generator=lambda field: PYTHON_TO_WIRE.get(field, field),
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        strict=True,
    )

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    type: KeyType = "api"
    coding_assistant: CodingAssistant | None = None
    models: tuple[str, ...] = ()
    max_usage: WholeNumber | None = Field(default=None, ge=1, le=MAX_USAGE_LIMIT)
    expires_in_days: WholeNumber | None = Field(default=None, ge=1, le=MAX_EXPIRY_DAYS)
    email: str | None = Field(default=None, max_length=MAX_EMAIL_LENGTH)
    active: bool = True

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL_RE.match(value):
            raise ValueError("is not an email address")
        return value

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be only white space")
        return value

    @field_validator("models", mode="before")
    @classmethod
    def _models_list(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(value)
        return value

    @field_validator("models")
    @classmethod
    def _models_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in value if not _MODEL_RE.match(m)]
        if bad:
            raise ValueError(f"not of the form author/model: {', '.join(repr(m) for m in bad)}")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _assistant_matches_type(self, info: ValidationInfo) -> ApiKeySpec:
        unknown: frozenset[str] = (info.context or {}).get("unknown", frozenset())
        problem = _assistant_problem(self.type, self.coding_assistant, unknown)
        if problem:
            raise ValueError(f"codingAssistant: {problem}")
        return self

    def to_wire(self) -> dict[str, Any]:
        """Inputs as stored in Pulumi state: wire names, unset optionals omitted."""
        values = self.model_dump(by_alias=True, exclude_none=True)
        values["models"] = list(self.models)
        return values


def _assistant_problem(key_type: Any, assistant: Any, unknown: frozenset[str]) -> str | None:
    """`codingAssistant` is required exactly for `coding_agent` keys."""
    if "type" in unknown or "codingAssistant" in unknown or key_type not in KEY_TYPES:
        return None
    if key_type == "coding_agent" and assistant is None:
        return "required when type is `coding_agent`"
    if key_type != "coding_agent" and assistant is not None:
        return "only allowed when type is `coding_agent`"
    return None


@dataclass(frozen=True)
class Failure:
    """One bad property and how to fix it (becomes a Pulumi CheckFailure)."""

    property: str
    reason: str


def validate(
    inputs: Mapping[str, Any], unknown: frozenset[str] = frozenset()
) -> tuple[ApiKeySpec | None, list[Failure]]:
    """Validate wire-named inputs; properties in `unknown` are not judged yet (preview).

    Returns the spec when every known property is valid and nothing is unknown.
    """
    known = {k: v for k, v in inputs.items() if k not in unknown and v is not None}
    if "name" in unknown:
        known["name"] = "pending"
    try:
        spec = ApiKeySpec.model_validate(known, context={"unknown": unknown})
    except ValidationError as error:
        failures = _failures(error, unknown)
        problem = _assistant_problem(
            known.get("type", "api"), known.get("codingAssistant"), unknown
        )
        if problem and all(f.property != "codingAssistant" for f in failures):
            prop = PROPS_BY_WIRE["codingAssistant"]
            failures.append(Failure(prop.wire, f"{prop.wire}: {problem}. {prop.fix}"))
        return None, failures
    return (spec if not unknown else None), []


def _failures(error: ValidationError, unknown: frozenset[str]) -> list[Failure]:
    failures: list[Failure] = []
    for item in error.errors(include_url=False, include_input=False):
        loc = item.get("loc", ())
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        wire = str(loc[0]) if loc else ""
        if not wire:
            wire, _, message = message.partition(": ")
        if wire in unknown:
            continue
        prop = PROPS_BY_WIRE.get(wire)
        if prop is None:
            continue
        where = prop.wire + "".join(f"[{part}]" for part in loc[1:])
        failures.append(Failure(prop.wire, f"{where}: {message}. {prop.fix}".strip()))
    return failures
