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
from dataclasses import dataclass, replace
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
    # A setting of the key that the Console API cannot change: a resource that keeps its
    # previous key (`RotatingApiKey`) rotates to a new key made with it.
    ROTATE = "rotation (new key; the old one stays valid as previous)"


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


def _rotating(prop: Prop) -> Prop:
    """An `ApiKey` row as `RotatingApiKey` has it: what replaces an `ApiKey` rotates here,
    and rotation keeps the previous key."""
    if prop.change is Change.REPLACE:
        return replace(
            prop,
            change=Change.ROTATE,
            description=prop.description.replace(
                "Changing it creates a new key.", "Changing it rotates the key."
            ),
        )
    if prop.wire in ("rotateBeforeExpiryDays", "rotateEveryDays"):
        return replace(
            prop,
            description=prop.description.replace(
                "Replace the key (new key first)",
                "Rotate: make a new current key and keep the old one as previous for `grace_days`,",
            ),
        )
    return prop


MAX_IDLE_HOURS = MAX_EXPIRY_DAYS * 24
DEFAULT_GRACE_DAYS = 7
PROPS_BY_WIRE: dict[str, Prop] = {p.wire: p for p in PROPS}
# Where the outputs of the key begin in the table (the inputs come before).
_KEY_OUTPUTS_FROM = PROPS.index(PROPS_BY_WIRE["organizationId"])

ROTATING_PROPS: tuple[Prop, ...] = (
    *(_rotating(p) for p in PROPS[:_KEY_OUTPUTS_FROM]),
    Prop(
        "graceDays",
        "grace_days",
        "integer",
        Change.STATE_ONLY,
        "Days the previous key stays valid after a rotation, for consumers to move to the "
        "new `key`; the first `up` after that deletes it.",
        fix=f"Set `grace_days` to a whole number of days from 1 to {MAX_EXPIRY_DAYS - 1}, "
        "below `rotate_every_days` when that is set, or leave it unset for "
        f"{DEFAULT_GRACE_DAYS}.",
        default=DEFAULT_GRACE_DAYS,
    ),
    Prop(
        "retireWhenIdleHours",
        "retire_when_idle_hours",
        "integer",
        Change.STATE_ONLY,
        "Retire the previous key before the grace period ends once it has not been used "
        "for this many hours since the rotation (its `last_used_at`).",
        fix=f"Set `retire_when_idle_hours` to a whole number of hours from 1 to "
        f"{MAX_IDLE_HOURS}, or leave it unset.",
    ),
    *PROPS[_KEY_OUTPUTS_FROM:-1],
    Prop("keyId", "key_id", "string", Change.OUTPUT_ONLY,
         "Id of the current key (the one `key` is the secret of)."),
    Prop("rotatedAt", "rotated_at", "string", Change.OUTPUT_ONLY,
         "When the current key was made (ISO 8601, UTC, by the clock of the machine running "
         "Pulumi): the last rotation, or the create."),
    Prop("previousKeyId", "previous_key_id", "string", Change.OUTPUT_ONLY,
         "Id of the previous key during a grace period; empty outside one."),
    Prop("previousRetiresAt", "previous_retires_at", "string", Change.OUTPUT_ONLY,
         "When the grace period ends (ISO 8601, UTC): the first `up` after it deletes the "
         "previous key."),
    Prop("previousLastUsedAt", "previous_last_used_at", "string", Change.OUTPUT_ONLY,
         "When the previous key was last used, as the last `up` or `refresh` saw it."),
    PROPS[-1],
    Prop("previousKey", "previous_key", "string", Change.OUTPUT_ONLY,
         "The previous key's secret during a grace period; empty outside one. Always a "
         "Pulumi secret.", secret=True, returned=Returned.ONCE),
)  # fmt: skip

INPUT_PROPS: tuple[Prop, ...] = tuple(p for p in PROPS if p.change is not Change.OUTPUT_ONLY)
REPLACE_PROPS: tuple[str, ...] = tuple(p.wire for p in PROPS if p.change is Change.REPLACE)
# Both resources spell a property alike in every language, so one table maps names.
PYTHON_TO_WIRE: dict[str, str] = {p.python: p.wire for p in (*PROPS, *ROTATING_PROPS)}
WIRE_TO_PYTHON: dict[str, str] = {p.wire: p.python for p in (*PROPS, *ROTATING_PROPS)}
NEVER_RETURNED: frozenset[str] = frozenset(p.wire for p in PROPS if p.returned is Returned.NEVER)


def output_only_python(props: tuple[Prop, ...]) -> tuple[str, ...]:
    """The Python names of a resource's outputs that are no inputs."""
    return tuple(p.python for p in props if p.change is Change.OUTPUT_ONLY)


OUTPUT_ONLY_PYTHON: tuple[str, ...] = output_only_python(PROPS)


def python_name(wire: str) -> str:
    """A property's name as a Python program spells it (unknown names unchanged)."""
    return WIRE_TO_PYTHON.get(wire, wire)
