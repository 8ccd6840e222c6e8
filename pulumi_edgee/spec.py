"""The ApiKey input model: validation of desired inputs, the way the Console API
validates them, with failures that name the property and the fix (from `properties`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

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

from .properties import (
    DEFAULT_GRACE_DAYS,
    EMAIL_PATTERN,
    KEY_ID_PATTERN,
    KEY_TYPES,
    MAX_EMAIL_LENGTH,
    MAX_EXPIRY_DAYS,
    MAX_IDLE_HOURS,
    MAX_NAME_LENGTH,
    MAX_USAGE_LIMIT,
    MODEL_PATTERN,
    PROPS_BY_WIRE,
    PYTHON_TO_WIRE,
    ROTATING_PROPS,
    CodingAssistant,
    KeyType,
    Prop,
)

_MODEL_RE = re.compile(MODEL_PATTERN)
_EMAIL_RE = re.compile(EMAIL_PATTERN)


def whole_number(value: Any) -> Any:
    """Integral floats as ints, anything else unchanged: the Pulumi wire format carries
    every number as a double."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(whole_number), Field(strict=True)]


class ApiKeySpec(BaseModel):
    """The desired state of one key, validated the way the Console API validates it."""

    model_config = ConfigDict(
        alias_generator=lambda field: PYTHON_TO_WIRE.get(field, field),
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        strict=True,
    )
    # The resource's property table, by wire name: failures take their fix from it.
    props: ClassVar[Mapping[str, Prop]] = PROPS_BY_WIRE

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    type: KeyType = "api"
    coding_assistant: CodingAssistant | None = None
    models: tuple[str, ...] = ()
    max_usage: WholeNumber | None = Field(default=None, ge=1, le=MAX_USAGE_LIMIT)
    expires_in_days: WholeNumber | None = Field(default=None, ge=1, le=MAX_EXPIRY_DAYS)
    email: str | None = Field(default=None, max_length=MAX_EMAIL_LENGTH)
    active: bool = True
    # How the resource manages the key; never sent to the Console API (hence `exclude`).
    adopt_id: str | None = Field(default=None, pattern=KEY_ID_PATTERN, exclude=True)
    rotate_before_expiry_days: WholeNumber | None = Field(
        default=None, ge=1, lt=MAX_EXPIRY_DAYS, exclude=True
    )
    rotate_every_days: WholeNumber | None = Field(
        default=None, ge=1, le=MAX_EXPIRY_DAYS, exclude=True
    )

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL_RE.fullmatch(value):
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
        bad = [m for m in value if not _MODEL_RE.fullmatch(m)]
        if bad:
            raise ValueError(f"not of the form author/model: {', '.join(repr(m) for m in bad)}")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _settings_agree(self, info: ValidationInfo) -> ApiKeySpec:
        unknown: frozenset[str] = (info.context or {}).get("unknown", frozenset())
        problem = _assistant_problem(self.type, self.coding_assistant, unknown)
        if problem:
            raise ValueError(f"codingAssistant: {problem}")
        problem = _rotation_problem(self.expires_in_days, self.rotate_before_expiry_days, unknown)
        if problem:
            raise ValueError(f"rotateBeforeExpiryDays: {problem}")
        for wire, problem in self._more_problems(unknown):
            raise ValueError(f"{wire}: {problem}")
        return self

    def _more_problems(self, unknown: frozenset[str]) -> list[tuple[str, str]]:
        """Rules between inputs that a resource adds (`RotatingApiKeySpec`)."""
        return []

    def to_wire(self) -> dict[str, Any]:
        """Inputs as stored in Pulumi state: wire names, unset optionals omitted."""
        values = self.model_dump(by_alias=True, exclude_none=True)
        values["models"] = list(self.models)
        for field, info in type(self).model_fields.items():
            if info.exclude and getattr(self, field) is not None:
                values[PYTHON_TO_WIRE[field]] = getattr(self, field)
        return values


class RotatingApiKeySpec(ApiKeySpec):
    """A `RotatingApiKey`'s desired state: its keys' settings and how it rotates them."""

    props: ClassVar[Mapping[str, Prop]] = {p.wire: p for p in ROTATING_PROPS}

    grace_days: WholeNumber = Field(
        default=DEFAULT_GRACE_DAYS, ge=1, lt=MAX_EXPIRY_DAYS, exclude=True
    )
    retire_when_idle_hours: WholeNumber | None = Field(
        default=None, ge=1, le=MAX_IDLE_HOURS, exclude=True
    )

    def _more_problems(self, unknown: frozenset[str]) -> list[tuple[str, str]]:
        wire, problem = _cadence_problem(
            {
                "rotateEveryDays": self.rotate_every_days,
                "rotateBeforeExpiryDays": self.rotate_before_expiry_days,
                "graceDays": self.grace_days,
            },
            unknown,
        )
        return [(wire, problem)] if problem else []


def _cadence_problem(inputs: Mapping[str, Any], unknown: frozenset[str]) -> tuple[str, str]:
    """A rotating key needs a reason to rotate, and a grace period shorter than the time
    between rotations (else each rotation cuts the previous key's grace short)."""
    names = {"rotateEveryDays", "rotateBeforeExpiryDays", "graceDays"}
    if names & unknown:
        return "", ""
    every, before = inputs.get("rotateEveryDays"), inputs.get("rotateBeforeExpiryDays")
    grace = inputs.get("graceDays", DEFAULT_GRACE_DAYS)
    if every is None and before is None:
        return (
            "rotateEveryDays",
            "a RotatingApiKey needs `rotate_every_days` or `rotate_before_expiry_days` (or "
            "both): without either it never rotates",
        )
    if isinstance(every, int) and isinstance(grace, int) and grace >= every:
        return (
            "graceDays",
            f"{grace} days is not less than `rotate_every_days` ({every}): each rotation "
            "would delete the previous key before its grace period ends",
        )
    return "", ""


def _rotation_problem(expires: Any, before: Any, unknown: frozenset[str]) -> str | None:
    """Rotating before expiry needs an expiry further away than the margin, or every
    new key would be due at once (and rotated on every `up`)."""
    if before is None or {"expiresInDays", "rotateBeforeExpiryDays"} & unknown:
        return None
    if expires is None:
        return "needs `expires_in_days`: a key without expiry never nears it"
    if isinstance(expires, int) and isinstance(before, int) and before >= expires:
        return (
            f"{before} days is not less than `expires_in_days` ({expires}): every new key "
            "would be due for rotation at once"
        )
    return None


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
    """One bad property and how to fix it (becomes a Pulumi CheckFailure).

    `property` is the wire name; `reason` names no property of its own (the engine
    prints "<property>: <reason>") and speaks of lists, as the user wrote them.
    """

    property: str
    reason: str


def validate(
    inputs: Mapping[str, Any],
    unknown: frozenset[str] = frozenset(),
    model: type[ApiKeySpec] = ApiKeySpec,
) -> tuple[ApiKeySpec | None, list[Failure]]:
    """Validate wire-named inputs as `model` (a resource's spec); properties in `unknown`
    are not judged yet (preview).

    Returns the spec when every known property is valid and nothing is unknown.
    """
    known = {k: v for k, v in inputs.items() if k not in unknown and v is not None}
    if "name" in unknown:
        known["name"] = "pending"
    try:
        spec = model.model_validate(known, context={"unknown": unknown})
    except ValidationError as error:
        failures = _failures(error, unknown, model.props)
        problem = _assistant_problem(
            known.get("type", "api"), known.get("codingAssistant"), unknown
        )
        if problem and all(f.property != "codingAssistant" for f in failures):
            prop = PROPS_BY_WIRE["codingAssistant"]
            failures.append(Failure(prop.wire, f"{problem}. {prop.fix}"))
        problem = _rotation_problem(
            known.get("expiresInDays"), known.get("rotateBeforeExpiryDays"), unknown
        )
        if problem and all(f.property != "rotateBeforeExpiryDays" for f in failures):
            prop = PROPS_BY_WIRE["rotateBeforeExpiryDays"]
            failures.append(Failure(prop.wire, f"{problem}. {prop.fix}"))
        if model is RotatingApiKeySpec:
            wire, problem = _cadence_problem(known, unknown)
            if problem and all(f.property != wire for f in failures):
                prop = model.props[wire]
                failures.append(Failure(wire, f"{problem}. {prop.fix}"))
        return None, failures
    return (spec if not unknown else None), []


def _failures(
    error: ValidationError, unknown: frozenset[str], props: Mapping[str, Prop]
) -> list[Failure]:
    failures: list[Failure] = []
    for item in error.errors(include_url=False, include_input=False):
        loc = item.get("loc", ())
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        wire = str(loc[0]) if loc else ""
        if not wire:
            wire, _, message = message.partition(": ")
        if wire in unknown:
            continue
        prop = props.get(wire)
        if prop is None:
            continue
        where = "".join(f"item {part}: " for part in loc[1:])
        reason = f"{where}{_plain_words(message)}. {prop.fix}".strip()
        failures.append(Failure(prop.wire, reason))
    return failures


def _plain_words(message: str) -> str:
    """pydantic's wording in the user's terms: a list is a list (the model holds a tuple)."""
    message = message.removeprefix("Input ")
    return message.replace("valid tuple", "list").replace("Tuple ", "The list ")
