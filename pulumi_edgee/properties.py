"""The ApiKey property table: what each property is, and whether changing it updates the
key in place or replaces it.

The one place that decides it: `check`, `diff`, the Python resource's name mapping, the
README's reference table and `schema.json` all read this module, so they cannot
disagree. Names are the wire names (camelCase, as in Pulumi state and the package
schema) with their Python spelling. Imported by every program, so it imports nothing
heavy (validation lives in `spec`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal, get_args

KeyType = Literal["api", "coding_agent"]
CodingAssistant = Literal["claude_code", "opencode", "codex"]

KEY_TYPES: tuple[str, ...] = get_args(KeyType)
CODING_ASSISTANTS: tuple[str, ...] = get_args(CodingAssistant)
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:-]*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_NAME_LENGTH = 255
MAX_EMAIL_LENGTH = 254
MAX_USAGE_LIMIT = 1_000_000_000
MAX_EXPIRY_DAYS = 3650
KEY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
# The input by which a dynamic resource names its secret inputs (see `redaction`).
SECRET_INPUTS = "__secretInputs"  # noqa: S105 - a property name


class Change(enum.Enum):
    """What a changed value does to the existing key."""

    IN_PLACE = "in-place update"
    REPLACE = "replacement"
    # A setting of the resource, not of the key: a change is recorded without an API call.
    STATE_ONLY = "in-place update (no API call)"
    # Read once, when the resource is created; later changes are not changes.
    CREATE_ONLY = "nothing once created"
    OUTPUT_ONLY = "output only"


class Returned(enum.Enum):
    """Where the Console API gives a property's value back."""

    IN_KEY_OBJECT = "in every key object"
    DERIVED = "worked out from other fields"  # `expiresInDays`, from `expires_at`
    ONCE = "only in the create and reveal answers"  # the secret
    NEVER = "never"  # `email`: write-only


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
    # How the Console API returns the value: outputs of the others come from the inputs
    # (never returned), from another field or from the one answer that has it.
    returned: Returned = Returned.IN_KEY_OBJECT

    @property
    def echoed(self) -> bool:
        return self.returned is Returned.IN_KEY_OBJECT


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
        returned=Returned.DERIVED,
    ),
    Prop(
        "email",
        "email",
        "string",
        Change.IN_PLACE,
        "Email associated with the key, for billing and organization tracking.",
        fix=f"Set `email` to an address like `team@example.com` (at most {MAX_EMAIL_LENGTH} "
        "characters), or leave it unset.",
        returned=Returned.NEVER,
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
    Prop(
        "adoptId",
        "adopt_id",
        "string",
        Change.CREATE_ONLY,
        "Id of an existing key to take under management instead of creating one: its "
        "secret is recovered and the declared settings applied in place.",
        fix="Set `adopt_id` to the id of a key of this organization (`key_...`, as "
        "`python -m pulumi_edgee.adopt` lists them), or leave it unset to create a new key.",
    ),
    Prop(
        "rotateBeforeExpiryDays",
        "rotate_before_expiry_days",
        "integer",
        Change.STATE_ONLY,
        "Replace the key (new key first) once its expiry is this many days away or less.",
        fix=f"Set `rotate_before_expiry_days` to a whole number of days from 1 to "
        f"{MAX_EXPIRY_DAYS - 1}, below `expires_in_days` (which it needs), or leave it unset.",
    ),
    Prop(
        "rotateEveryDays",
        "rotate_every_days",
        "integer",
        Change.STATE_ONLY,
        "Replace the key (new key first) once it is this many days old.",
        fix=f"Set `rotate_every_days` to a whole number of days from 1 to {MAX_EXPIRY_DAYS}, "
        "or leave it unset.",
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
    Prop("expired", "expired", "boolean", Change.OUTPUT_ONLY,
         "Whether the key is past `expiresAt` as the last `up` or `refresh` saw it: an "
         "expired key no longer works at the Gateway.", returned=Returned.DERIVED),
    Prop("key", "key", "string", Change.OUTPUT_ONLY,
         "The secret Gateway API key. Always a Pulumi secret.", secret=True,
         returned=Returned.ONCE),
)  # fmt: skip

PROPS_BY_WIRE: dict[str, Prop] = {p.wire: p for p in PROPS}
INPUT_PROPS: tuple[Prop, ...] = tuple(p for p in PROPS if p.change is not Change.OUTPUT_ONLY)
REPLACE_PROPS: tuple[str, ...] = tuple(p.wire for p in PROPS if p.change is Change.REPLACE)
PYTHON_TO_WIRE: dict[str, str] = {p.python: p.wire for p in PROPS}
WIRE_TO_PYTHON: dict[str, str] = {p.wire: p.python for p in PROPS}
NEVER_RETURNED: frozenset[str] = frozenset(p.wire for p in PROPS if p.returned is Returned.NEVER)
OUTPUT_ONLY_PYTHON: tuple[str, ...] = tuple(
    p.python for p in PROPS if p.change is Change.OUTPUT_ONLY
)


def python_name(wire: str) -> str:
    """A property's name as a Python program spells it (unknown names unchanged)."""
    return WIRE_TO_PYTHON.get(wire, wire)
