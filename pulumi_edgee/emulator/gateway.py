"""AI Gateway stand-in: the keys the Console side holds, used the way the Gateway uses them.

Edgee's Gateway is described by its OpenAPI document (`edgee-gateway-openapi.json`); this
module answers `POST /v1/chat/completions` (plain and streamed), `POST /v1/messages`,
`POST /v1/count_tokens` and `GET /v1/models` in those shapes, with a deterministic echo
instead of a model, so that a key made through the Console routes can be proven to work,
or not, with the official client. The rules where Edgee's documents are silent are in
docs/gateway.md.

Its footprint on the store is two calls (`all_keys` to authenticate, `mark_used` for
`last_used_at`) and a ledger of its own: this month's spend per key, which the admin
route `/_emulator/keys/{id}/spend` reads and sets.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .backend import EmulatorBackend
from .errors import FieldError, KeyNotFound, ValidationFailed
from .keys import StoredKey
from .wire import (
    BadBody,
    HttpRequest,
    HttpResponse,
    error_response,
    json_object,
    method_not_allowed,
    reason_phrase,
)

logger = logging.getLogger(__name__)

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

_MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:-]*")
_CHAT_ROLES = ("system", "user", "assistant", "tool", "developer")
_MAX_SPEND_USD = 1e12
_SPEND_PATH_RE = re.compile(r"/_emulator/keys/([^/]+)/spend")


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


def _bad_request(message: str) -> GatewayRefusal:
    return GatewayRefusal(400, "bad_request", message)


# --------------------------------------------------------------------------- spend ledger


def month_of(moment: datetime) -> str:
    """The accounting month of a moment: its UTC calendar month, `YYYY-MM`."""
    return f"{moment.year:04d}-{moment.month:02d}"


class SpendLedger:
    """This month's spend per key id, in micro-USD; a new month starts every key at 0."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spend: dict[str, tuple[str, int]] = {}

    def spent(self, key_id: str, now: datetime) -> int:
        """The key's spend in the month of `now`."""
        with self._lock:
            return self._spent(key_id, month_of(now))

    def set(self, key_id: str, now: datetime, micro_usd: int) -> None:
        """Set the key's spend for the month of `now`."""
        with self._lock:
            self._spend[key_id] = (month_of(now), micro_usd)

    def charge(self, key_id: str, now: datetime, limit_micro_usd: int | None) -> bool:
        """Add one call's cost unless the spend already reached the limit; False when
        refused (check and charge are one step: concurrent calls cannot overshoot)."""
        month = month_of(now)
        with self._lock:
            before = self._spent(key_id, month)
            if limit_micro_usd is not None and before >= limit_micro_usd:
                return False
            self._spend[key_id] = (month, before + COST_PER_CALL_MICRO_USD)
            return True

    def _spent(self, key_id: str, month: str) -> int:
        entry = self._spend.get(key_id)
        return entry[1] if entry is not None and entry[0] == month else 0


# --------------------------------------------------------------------------- request shapes


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        return json_object(body)
    except BadBody as exc:
        raise _bad_request(str(exc)) from None


Check = Callable[[object, str], object]


def _string(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise _bad_request(f"{where} must be a string.")


def _boolean(value: object, where: str) -> None:
    if not isinstance(value, bool):
        raise _bad_request(f"{where} must be a boolean.")


def _positive_int(value: object, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad_request(f"{where} must be an integer of at least 1.")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad_request(f"{where} must be an object.")
    return value


def _array(value: object, where: str, item: Check, *, min_items: int = 0) -> None:
    if not isinstance(value, list):
        raise _bad_request(f"{where} must be an array.")
    if len(value) < min_items:
        raise _bad_request(f"{where} must have at least {min_items} item(s).")
    for index, element in enumerate(value):
        item(element, f"{where}[{index}]")


def _fields(
    value: object, where: str, required: Sequence[str], checks: Mapping[str, Check]
) -> dict[str, Any]:
    """An object with these required fields; known fields checked, others allowed."""
    obj = _object(value, where)
    for name in required:
        if name not in obj:
            raise _bad_request(f"{where}.{name} is required.")
    for name, check in checks.items():
        if name in obj:
            check(obj[name], f"{where}.{name}")
    return obj


def _enum(*allowed: str) -> Check:
    def check(value: object, where: str) -> None:
        if value not in allowed:
            raise _bad_request(f"{where} must be one of: {', '.join(allowed)}.")

    return check


def _function_call(value: object, where: str) -> None:
    _fields(value, where, ("name", "arguments"), {"name": _string, "arguments": _string})


def _tool_call(value: object, where: str) -> None:
    _fields(
        value,
        where,
        ("id", "type", "function"),
        {"id": _string, "type": _enum("function"), "function": _function_call},
    )


def _chat_message(value: object, where: str) -> None:
    _fields(
        value,
        where,
        ("role",),
        {
            "role": _enum(*_CHAT_ROLES),
            "content": _string,
            "name": _string,
            "tool_call_id": _string,
            "refusal": _string,
            "tool_calls": lambda v, w: _array(v, w, _tool_call),
        },
    )


def _function_definition(value: object, where: str) -> None:
    _fields(
        value,
        where,
        ("name",),
        {"name": _string, "description": _string, "parameters": _object},
    )


def _chat_tool(value: object, where: str) -> None:
    _fields(
        value,
        where,
        ("type", "function"),
        {"type": _enum("function"), "function": _function_definition},
    )


def _chat_tool_choice(value: object, where: str) -> None:
    if isinstance(value, str):
        _enum("none", "auto")(value, where)
        return
    _fields(
        value,
        where,
        ("type", "function"),
        {
            "type": _enum("function"),
            "function": lambda v, w: _fields(v, w, ("name",), {"name": _string}),
        },
    )


def _strings(value: object, where: str) -> None:
    _array(value, where, _string)


_CHAT_REQUEST: Mapping[str, Check] = {
    "model": _string,
    "messages": lambda v, w: _array(v, w, _chat_message, min_items=1),
    "max_tokens": _positive_int,
    "stream": _boolean,
    "stream_options": lambda v, w: _fields(v, w, (), {"include_usage": _boolean}),
    "tools": lambda v, w: _array(v, w, _chat_tool),
    "tool_choice": _chat_tool_choice,
    "edgee_tool_ids": _strings,
    "edgee_pending_id": _string,
    "tags": _strings,
}


def _content_block(value: object, where: str) -> None:
    block = _fields(value, where, ("type",), {"type": _enum("text", "tool_use", "tool_result")})
    if block["type"] == "text":
        _fields(block, where, ("text",), {"text": _string})
    elif block["type"] == "tool_use":
        _fields(
            block,
            where,
            ("id", "name", "input"),
            {"id": _string, "name": _string, "input": _object},
        )
    else:
        _fields(
            block,
            where,
            ("tool_use_id", "content"),
            {"tool_use_id": _string, "content": _string, "is_error": _boolean},
        )


def _text_or_blocks(value: object, where: str) -> None:
    if not isinstance(value, str):
        _array(value, where, _content_block)


def _message_param(value: object, where: str) -> None:
    _fields(
        value,
        where,
        ("role", "content"),
        {"role": _enum("user", "assistant"), "content": _text_or_blocks},
    )


def _anthropic_tool(value: object, where: str) -> None:
    _fields(
        value,
        where,
        ("name", "input_schema"),
        {"name": _string, "description": _string, "input_schema": _object},
    )


def _anthropic_tool_choice(value: object, where: str) -> None:
    choice = _fields(value, where, ("type",), {"type": _enum("auto", "any", "tool")})
    if choice["type"] == "tool":
        _fields(choice, where, ("name",), {"name": _string})


_MESSAGES_REQUEST: Mapping[str, Check] = {
    "model": _string,
    "max_tokens": _positive_int,
    "messages": lambda v, w: _array(v, w, _message_param, min_items=1),
    "system": _text_or_blocks,
    "stream": _boolean,
    "tools": lambda v, w: _array(v, w, _anthropic_tool),
    "tool_choice": _anthropic_tool_choice,
}


def _count_message(value: object, where: str) -> None:
    _fields(
        value,
        where,
        ("role", "content"),
        {"role": _string, "content": _text_or_objects},
    )


def _text_or_objects(value: object, where: str) -> None:
    if not isinstance(value, str):
        _array(value, where, _object)


_COUNT_TOKENS_REQUEST: Mapping[str, Check] = {
    "messages": lambda v, w: _array(v, w, _count_message, min_items=1),
    "model": _string,
}


def _boolean_headers(request: HttpRequest, names: Sequence[str]) -> None:
    for name in names:
        value = request.headers.get(name)
        if value is not None and value.strip().lower() not in ("true", "false"):
            raise _bad_request(f"The {name} header must be true or false.")


# --------------------------------------------------------------------------- the echo


def _text_of(content: object) -> str:
    """The text of a message's content: a string, or the text of its text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            block["text"]
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def _words(messages: Sequence[Mapping[str, Any]]) -> int:
    return sum(len(_text_of(message.get("content")).split()) for message in messages)


@dataclass(frozen=True)
class Echo:
    """The answer to a conversation: the last user message's words, single-spaced, cut
    at `max_tokens` words; one token per white-space separated word."""

    words: tuple[str, ...]
    prompt_tokens: int
    truncated: bool

    @classmethod
    def of(cls, messages: Sequence[Mapping[str, Any]], max_tokens: int | None) -> Echo:
        """The echo of a conversation."""
        last_user = next(
            (m for m in reversed(messages) if m.get("role") == "user"),
            {"content": ""},
        )
        words = tuple(_text_of(last_user.get("content")).split())
        truncated = max_tokens is not None and len(words) > max_tokens
        if truncated:
            words = words[:max_tokens]
        return cls(words, _words(messages), truncated)

    @property
    def text(self) -> str:
        """The answer's text."""
        return " ".join(self.words)

    @property
    def completion_tokens(self) -> int:
        """Tokens of the answer."""
        return len(self.words)

    def chat_usage(self) -> dict[str, object]:
        """The `Usage` object of a chat completion."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        }


def _sse(events: Sequence[tuple[str | None, object]]) -> bytes:
    """Server-Sent Events: each `data: <json>` (after an `event:` line when named)."""
    lines: list[str] = []
    for name, data in events:
        if name is not None:
            lines.append(f"event: {name}\n")
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        lines.append(f"data: {text}\n\n")
    return "".join(lines).encode()


_SSE_HEADERS = (("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"))


# --------------------------------------------------------------------------- the key's rules


@dataclass(frozen=True)
class Declared:
    """What a key declares, as the Gateway reads it.

    A key inserted as given through the admin API may hold values the Console contract
    would refuse; the Gateway reads what it can: a number as a `max_usage` in USD (12.5),
    an ISO 8601 `expires_at`, a single string as one model. Anything else unreadable
    counts as absent, as in the key's typed view.
    """

    active: bool
    expires_at: datetime | None
    models: tuple[str, ...]
    max_usage: float | None

    @classmethod
    def of(cls, key: StoredKey) -> Declared:
        """The key's declarations."""
        given = key.as_given
        max_usage: float | None = key.max_usage
        given_usage = given.get("max_usage")
        if (
            isinstance(given_usage, (int, float))
            and not isinstance(given_usage, bool)
            and math.isfinite(given_usage)
        ):
            max_usage = given_usage
        expires_at = key.expires_at
        given_expiry = given.get("expires_at")
        if isinstance(given_expiry, str):
            with suppress(ValueError):
                parsed = datetime.fromisoformat(given_expiry.replace("Z", "+00:00"))
                expires_at = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        given_models = given.get("models")
        models = (given_models,) if isinstance(given_models, str) else key.models
        return cls(key.active, expires_at, models, max_usage)


# --------------------------------------------------------------------------- the gateway


class Gateway:
    """The Gateway routes (see `GATEWAY_ROUTES`), a route group of the emulator's app.

    Order of checks on a completion or message: the method (405), the key (401 missing,
    unknown or deleted), the body (400), the key's state (403 disabled or expired), the
    model (400 malformed, 403 outside the key's `models`), this month's spend (429, or 403
    on `/v1/messages`, whose description has no 429); then the call is charged, the key's
    `last_used_at` set and the echo answered.
    """

    faulted = True  # fault rules and the request log apply to these routes

    def __init__(self, backend: EmulatorBackend) -> None:
        self.backend = backend
        self.ledger = SpendLedger()
        self.admin_routes = SpendRoutes(self)

    @staticmethod
    def claims(path: str) -> bool:
        """Whether a path is a Gateway route."""
        return path in GATEWAY_ROUTES

    @staticmethod
    def fault_response(
        status: int, message: str, headers: tuple[tuple[str, str], ...]
    ) -> HttpResponse:
        """An injected fault's answer, as an `ErrorResponse` coded after its status."""
        code = re.sub(r"[^a-z0-9]+", "_", reason_phrase(status).lower()).strip("_")
        return gateway_error(status, code, message, headers)

    def serve(self, request: HttpRequest) -> HttpResponse:
        """Answer one Gateway request; an unexpected failure is a 500 `ErrorResponse`."""
        try:
            return self._route(request)
        except Exception:
            logger.exception("gateway stand-in failed on %s %s", request.method, request.path)
            return gateway_error(500, "internal_error", "The emulator failed unexpectedly.")

    def _route(self, request: HttpRequest) -> HttpResponse:
        allowed = GATEWAY_ROUTES[request.path]
        if request.method not in (allowed, "HEAD" if allowed == "GET" else allowed):
            return gateway_error(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}.",
                (("Allow", allowed),),
            )
        try:
            if request.path == MODELS_PATH:
                self._authenticate(request, api_key_header=False)
                return self._models()
            if request.path == COUNT_TOKENS_PATH:
                return self._count_tokens(request)
            if request.path == CHAT_PATH:
                return self._chat(request)
            return self._messages(request)
        except GatewayRefusal as refusal:
            headers: tuple[tuple[str, str], ...] = ()
            if refusal.status == 401:
                headers = (("WWW-Authenticate", 'Bearer realm="edgee"'),)
            return gateway_error(refusal.status, refusal.code, refusal.message, headers)

    # ------------------------------------------------------------------ admin

    def spend_json(self, key_id: str) -> dict[str, object]:
        """A key's spend this month as the admin API shows it (raises KeyNotFound)."""
        key = self._live_key(key_id)
        now = self.backend.now()
        return {
            "key_id": key.id,
            "month": month_of(now),
            "spent_usd": self.ledger.spent(key.id, now) / 1_000_000,
            "max_usage": key.max_usage,
            "cost_per_call_usd": COST_PER_CALL_MICRO_USD / 1_000_000,
        }

    def set_spend(self, key_id: str, body: Mapping[str, object]) -> dict[str, object]:
        """Set a key's spend this month from `{"spent_usd": N}`."""
        key = self._live_key(key_id)
        value = body.get("spent_usd")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 <= value <= _MAX_SPEND_USD
        ):
            message = f"spent_usd must be a number from 0 to {_MAX_SPEND_USD:.0f}."
            raise ValidationFailed([FieldError("spent_usd", message)])
        self.ledger.set(key.id, self.backend.now(), round(value * 1_000_000))
        return self.spend_json(key.id)

    def _live_key(self, key_id: str) -> StoredKey:
        for key in self.backend.all_keys():
            if key.id == key_id:
                return key
        raise KeyNotFound(key_id)

    # ------------------------------------------------------------------ routes

    def _models(self) -> HttpResponse:
        data = [
            {
                "id": model,
                "object": "model",
                "created": CATALOGUE_CREATED,
                "owned_by": model.split("/", 1)[0],
            }
            for model in MODEL_CATALOGUE
        ]
        return HttpResponse.from_json(200, {"object": "list", "data": data})

    def _count_tokens(self, request: HttpRequest) -> HttpResponse:
        """The prompt's token count as the echo would bill it; free, and not a use."""
        self._authenticate(request, api_key_header=True)
        body = _fields(_json_body(request.body), "body", ("messages",), _COUNT_TOKENS_REQUEST)
        return HttpResponse.from_json(200, {"input_tokens": _words(body["messages"])})

    def _chat(self, request: HttpRequest) -> HttpResponse:
        key = self._authenticate(request, api_key_header=False)
        _boolean_headers(request, ("X-Edgee-Enable-Compression", "X-Edgee-Debug"))
        body = _fields(_json_body(request.body), "body", ("model", "messages"), _CHAT_REQUEST)
        model = body["model"]
        self._authorize(key, model)
        echo = Echo.of(body["messages"], body.get("max_tokens"))
        self._charge(key, status=429)
        created = int(self.backend.now().timestamp())
        completion_id = "chatcmpl-" + secrets.token_hex(12)
        finish_reason = "length" if echo.truncated else "stop"
        if body.get("stream") is True:
            return self._chat_stream(body, echo, completion_id, created, finish_reason)
        return HttpResponse.from_json(
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": echo.text},
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": echo.chat_usage(),
            },
        )

    @staticmethod
    def _chat_stream(
        body: Mapping[str, Any], echo: Echo, completion_id: str, created: int, finish_reason: str
    ) -> HttpResponse:
        """Role chunk, one chunk per word, a final chunk with the finish reason (and the
        usage when `stream_options.include_usage` is true), then `data: [DONE]`."""
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body["model"],
        }

        def chunk(delta: dict[str, str], reason: str | None = None) -> dict[str, object]:
            choice: dict[str, object] = {"index": 0, "delta": delta}
            if reason is not None:
                choice["finish_reason"] = reason
            return {**base, "choices": [choice]}

        pieces = [word if i == 0 else " " + word for i, word in enumerate(echo.words)]
        final = chunk({}, finish_reason)
        options = body.get("stream_options") or {}
        if options.get("include_usage") is True:
            final["usage"] = echo.chat_usage()
        events: list[tuple[str | None, object]] = [(None, chunk({"role": "assistant"}))]
        events += [(None, chunk({"content": piece})) for piece in pieces]
        events += [(None, final), (None, "[DONE]")]
        return HttpResponse(200, _SSE_HEADERS, _sse(events))

    def _messages(self, request: HttpRequest) -> HttpResponse:
        key = self._authenticate(request, api_key_header=True)
        body = _fields(
            _json_body(request.body),
            "body",
            ("model", "max_tokens", "messages"),
            _MESSAGES_REQUEST,
        )
        model = body["model"] if "/" in body["model"] else "anthropic/" + body["model"]
        self._authorize(key, model, provider="anthropic")
        echo = Echo.of(body["messages"], body["max_tokens"])
        self._charge(key, status=403)
        message_id = "msg_" + secrets.token_hex(12)
        stop_reason = "max_tokens" if echo.truncated else "end_turn"
        usage = {"input_tokens": echo.prompt_tokens, "output_tokens": echo.completion_tokens}
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": echo.text}],
            "stop_reason": stop_reason,
            "usage": usage,
        }
        if body.get("stream") is not True:
            return HttpResponse.from_json(200, message)
        start = {**message, "content": [], "stop_reason": None}
        events: list[tuple[str | None, object]] = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            *(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
                    },
                )
                for i, word in enumerate(echo.words)
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason},
                    "usage": {"output_tokens": echo.completion_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return HttpResponse(200, _SSE_HEADERS, _sse(events))

    # ------------------------------------------------------------------ the key's rules

    def _authenticate(self, request: HttpRequest, *, api_key_header: bool) -> StoredKey:
        """The live key presented as a bearer token (or `x-api-key` where allowed)."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        presented = credentials.strip() if scheme.lower() == "bearer" else ""
        if not presented and api_key_header:
            presented = request.headers.get("x-api-key", "").strip()
        if not presented:
            raise GatewayRefusal(401, "unauthorized", "Missing Authorization header")
        for key in self.backend.all_keys():
            if hmac.compare_digest(key.secret.encode(), presented.encode()):
                return key
        raise GatewayRefusal(401, "unauthorized", "Invalid API key")

    def _authorize(self, key: StoredKey, model: str, provider: str | None = None) -> None:
        """The key's state, then the model's form (and provider, where the route serves
        one only), then the key's `models`."""
        declared = Declared.of(key)
        if not declared.active:
            raise GatewayRefusal(403, "forbidden", "API key is inactive")
        if declared.expires_at is not None and self.backend.now() >= declared.expires_at:
            raise GatewayRefusal(403, "forbidden", "API key has expired")
        if _MODEL_RE.fullmatch(model) is None:
            raise GatewayRefusal(400, "bad_model_id", f"Invalid model ID: {model!r}")
        if provider is not None and model.split("/", 1)[0] != provider:
            raise GatewayRefusal(
                400,
                "provider_not_supported",
                f"Provider {model.split('/', 1)[0]!r} is not supported on this route",
            )
        if declared.models and model not in declared.models:
            raise GatewayRefusal(
                403, "forbidden", f"Model {model!r} is not allowed for this API key"
            )

    def _charge(self, key: StoredKey, *, status: int) -> None:
        """Charge one call against `max_usage` (USD per month), and mark the key used."""
        now = self.backend.now()
        max_usage = Declared.of(key).max_usage
        limit = None if max_usage is None else round(max_usage * 1_000_000)
        if not self.ledger.charge(key.id, now, limit):
            spent = self.ledger.spent(key.id, now) / 1_000_000
            raise GatewayRefusal(
                status,
                "usage_limit_exceeded",
                f"Usage limit exceeded: {spent:.2f} / {max_usage:.15g} USD used in {month_of(now)}",
            )
        try:
            self.backend.mark_used(key.id)
        except KeyNotFound:
            # Deleted between authentication and now: the call is refused as any deleted key's.
            raise GatewayRefusal(401, "unauthorized", "Invalid API key") from None


class SpendRoutes:
    """`/_emulator/keys/{id}/spend`: GET a key's spend this month, POST
    `{"spent_usd": N}` to set it. Admin routes: no token, no faults, not logged; the app
    applies the admin API's refusals (web pages, writes not JSON) to them too."""

    faulted = False

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @staticmethod
    def claims(path: str) -> bool:
        """Only the spend route."""
        return _SPEND_PATH_RE.fullmatch(path) is not None

    @staticmethod
    def fault_response(
        status: int, message: str, headers: tuple[tuple[str, str], ...]
    ) -> HttpResponse:
        """Never used (faults do not apply here); the admin API's error body."""
        return error_response(status, message, headers=headers)

    def serve(self, request: HttpRequest) -> HttpResponse:
        """Read or set the spend."""
        match = _SPEND_PATH_RE.fullmatch(request.path)
        assert match is not None
        key_id = match.group(1)
        if request.method not in ("GET", "HEAD", "POST"):
            return method_not_allowed(request, ("GET", "POST"))
        try:
            if request.method == "POST":
                spend = self.gateway.set_spend(key_id, json_object(request.body))
            else:
                spend = self.gateway.spend_json(key_id)
        except BadBody as exc:
            return error_response(400, str(exc))
        except KeyNotFound as exc:
            return error_response(404, str(exc))
        except ValidationFailed as exc:
            return error_response(422, "Invalid spend.", exc.errors)
        return HttpResponse.from_json(200, spend)
