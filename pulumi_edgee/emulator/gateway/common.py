"""What every part of the Gateway stand-in shares: its paths, the model catalogue, the price of
a call, and the refusal every part raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..wire import (
    HttpResponse,
)

CHAT_PATH = "/v1/chat/completions"
MESSAGES_PATH = "/v1/messages"
MODELS_PATH = "/v1/models"
COUNT_TOKENS_PATH = "/v1/count_tokens"
# Which method each gateway route serves.
GATEWAY_ROUTES: Mapping[str, str] = {
    CHAT_PATH: "POST",
    MESSAGES_PATH: "POST",
    MODELS_PATH: "GET",
    COUNT_TOKENS_PATH: "POST",
}

COST_PER_CALL_MICRO_USD = 10_000
"""Every answered completion or message costs $0.01, whatever its size."""

MODEL_CATALOGUE: tuple[str, ...] = (
    "anthropic/claude-opus-4-6",
    "anthropic/claude-sonnet-4-5",
    "google/gemini-3",
    "mistral/large-2",
    "openai/gpt-5.2",
    "openai/o3",
)
"""What `GET /v1/models` lists. Completions accept any well-formed model id."""
CATALOGUE_CREATED = 1677610602

MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:-]*")
CHAT_ROLES = ("system", "user", "assistant", "tool", "developer")
MAX_SPEND_USD = 1e12
SPEND_PATH_RE = re.compile(r"/_emulator/keys/([^/]+)/spend")


class GatewayRefusal(Exception):
    """A request the gateway answers with an `ErrorResponse` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def gateway_error(
    status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()
) -> HttpResponse:
    """An `ErrorResponse`: `{"error": {"code", "message"}}`."""
    return HttpResponse.from_json(status, {"error": {"code": code, "message": message}}, headers)


def bad_request_refusal(message: str) -> GatewayRefusal:
    return GatewayRefusal(400, "bad_request", message)
