"""Wire models of the Gateway API key endpoints (see docs/console-api.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
)

from ..times import UtcTime


def _reject_bool(value: Any) -> Any:
    # pydantic's lax int takes True as 1; a boolean limit is a caller bug, not a limit of $1.
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


_Int = Annotated[int, BeforeValidator(_reject_bool)]


class ApiKeyObject(BaseModel):
    """A Gateway API key as the Console API returns it.

    Unknown fields are ignored and a new `type` value is kept as a plain string, so that
    the service growing its object does not break existing stacks. `odd_fields` names
    optional fields whose values could not be read and were taken as unset.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    object: str = "ai_gateway_api_key"
    organization_id: str
    name: str
    type: Literal["api", "coding_agent"] | str = "api"
    coding_assistant: str | None = None
    models: list[str] = Field(default_factory=list)
    max_usage: int | None = None
    active: bool
    debug_mode: bool = False
    created_at: UtcTime
    expires_at: UtcTime | None = None
    last_used_at: UtcTime | None = None
    key: SecretStr | None = None

    @property
    def odd_fields(self) -> tuple[str, ...]:
        """Optional fields whose values could not be read (see `OddApiKeyObject`)."""
        return ()

    @field_validator("models", mode="before")
    @classmethod
    def _null_models(cls, value: Any) -> Any:
        return [] if value is None else value


class OddApiKeyObject(ApiKeyObject):
    """A key some of whose optional fields could not be read and were taken as unset.
    A class of its own because such keys are rare: a private attribute costs every
    instance its initialisation, and a list walk builds one per key."""

    _odd: tuple[str, ...] = PrivateAttr(default=())

    @property
    def odd_fields(self) -> tuple[str, ...]:
        return self._odd

    @classmethod
    def with_odd_fields(cls, data: dict[str, Any], names: tuple[str, ...]) -> OddApiKeyObject:
        key = cls.model_validate(data)
        key._odd = names
        return key


class ApiKeyCreate(BaseModel):
    """Body of a create; None fields are left out so that the server applies its defaults."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: str = "api"
    coding_assistant: str | None = None
    models: list[str] | None = None
    max_usage: _Int | None = None
    expires_in_days: _Int | None = None
    email: str | None = None

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class ApiKeyUpdate(BaseModel):
    """Body of an update; only fields that were set are sent, so an explicit None clears."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    active: bool | None = None
    models: list[str] | None = None
    max_usage: _Int | None = None
    email: str | None = None

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)
