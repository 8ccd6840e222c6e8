"""The Gateway's routes and the admin route for a key's spend."""

from __future__ import annotations

import hmac
import logging
import math
import re
import secrets
from collections.abc import Mapping
from typing import Any

from ..backend import EmulatorBackend
from ..errors import FieldError, KeyNotFound, ValidationFailed
from ..keys import StoredKey
from ..wire import (
    BadBody,
    HttpRequest,
    HttpResponse,
    error_response,
    json_object,
    method_not_allowed,
    reason_phrase,
)
from .common import (
    CATALOGUE_CREATED,
    CHAT_PATH,
    COST_PER_CALL_MICRO_USD,
    COUNT_TOKENS_PATH,
    GATEWAY_ROUTES,
    MAX_SPEND_USD,
    MODEL_CATALOGUE,
    MODEL_RE,
    MODELS_PATH,
    SPEND_PATH_RE,
    GatewayRefusal,
    gateway_error,
)
from .echo import SSE_HEADERS, Echo, sse, word_count
from .ledger import SpendLedger, month_of
from .rules import Declared
from .shapes import (
    CHAT_REQUEST,
    COUNT_TOKENS_REQUEST,
    MESSAGES_REQUEST,
    boolean_headers,
    check_fields,
    json_body,
)

logger = logging.getLogger(__name__)


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
            or not 0 <= value <= MAX_SPEND_USD
        ):
            message = f"spent_usd must be a number from 0 to {MAX_SPEND_USD:.0f}."
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
        body = check_fields(json_body(request.body), "body", ("messages",), COUNT_TOKENS_REQUEST)
        return HttpResponse.from_json(200, {"input_tokens": word_count(body["messages"])})

    def _chat(self, request: HttpRequest) -> HttpResponse:
        key = self._authenticate(request, api_key_header=False)
        boolean_headers(request, ("X-Edgee-Enable-Compression", "X-Edgee-Debug"))
        body = check_fields(json_body(request.body), "body", ("model", "messages"), CHAT_REQUEST)
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
        return HttpResponse(200, SSE_HEADERS, sse(events))

    def _messages(self, request: HttpRequest) -> HttpResponse:
        key = self._authenticate(request, api_key_header=True)
        body = check_fields(
            json_body(request.body),
            "body",
            ("model", "max_tokens", "messages"),
            MESSAGES_REQUEST,
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
        return HttpResponse(200, SSE_HEADERS, sse(events))

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
        if MODEL_RE.fullmatch(model) is None:
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
        return SPEND_PATH_RE.fullmatch(path) is not None

    @staticmethod
    def fault_response(
        status: int, message: str, headers: tuple[tuple[str, str], ...]
    ) -> HttpResponse:
        """Never used (faults do not apply here); the admin API's error body."""
        return error_response(status, message, headers=headers)

    def serve(self, request: HttpRequest) -> HttpResponse:
        """Read or set the spend."""
        match = SPEND_PATH_RE.fullmatch(request.path)
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
