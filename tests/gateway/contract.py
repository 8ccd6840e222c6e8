"""Edgee's Gateway OpenAPI description, repaired where it cannot be used as written, and a
checker that validates every answer of the stand-in against it.

Validator: `openapi-core` (with `openapi-spec-validator` and `openapi-schema-validator`
underneath), the maintained OpenAPI 3.0 request/response validator of the python-openapi
project. It validates a whole answer against its operation (status, media type, body)
rather than a bare schema, resolves `$ref` lazily, and validates the description itself
on load, which is how the defects below were found. The description is read from
`shared/reference/` beside the repository (see `references`): without it these tests
skip, saying why, and fail in CI.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator
from references import reference
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from pulumi_edgee.emulator import ConsoleApp, HttpRequest, HttpResponse
from pulumi_edgee.emulator.gateway import GATEWAY_ROUTES

SERVER = "https://api.edgee.ai"
_URN = "urn:edgee-gateway-openapi"


def raw_description() -> dict[str, Any]:
    """The description exactly as Edgee publishes it."""
    description: dict[str, Any] = json.loads(reference("edgee-gateway-openapi.json").read_text())
    return description


def _drop_error_self_reference(spec: dict[str, Any]) -> None:
    """`ErrorResponse` holds `"$ref": "#/components/schemas/ErrorResponse"` beside its
    keywords. In OpenAPI 3.0 a `$ref` replaces its siblings, so as written the schema is
    only a reference to itself (a loop that constrains nothing). The evident intent is the
    siblings: the reference is dropped."""
    del spec["components"]["schemas"]["ErrorResponse"]["$ref"]


def _define_assistant_message(spec: dict[str, Any]) -> None:
    """`ChatCompletionChoice.message` refers to `AssistantMessage`, which the description
    never defines: it is defined as the assistant case of `Message`."""
    spec["components"]["schemas"]["AssistantMessage"] = {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": ["assistant"]},
            "content": {"type": "string", "nullable": True},
            "refusal": {"type": "string"},
            "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"}},
        },
    }


def _error_code_example(spec: dict[str, Any]) -> None:
    """`ErrorResponse.error.code` lists `examples`, a JSON Schema keyword that an OpenAPI
    3.0 Schema Object does not have (3.0 has `example`): the first becomes `example`."""
    code = spec["components"]["schemas"]["ErrorResponse"]["properties"]["error"]["properties"]
    code = code["code"]
    code["example"] = code.pop("examples")[0]


def _models_unauthorized(spec: dict[str, Any]) -> None:
    """`GET /v1/models` is under the description's global `bearerAuth` requirement but
    lists no 401: the chat route's 401 answer is added to it."""
    chat_401 = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["401"]
    spec["paths"]["/v1/models"]["get"]["responses"]["401"] = copy.deepcopy(chat_401)


def _inline_discriminators(spec: dict[str, Any]) -> None:
    """`ContentBlock` and `ToolChoice` have a `discriminator` without `mapping` over
    inline `oneOf` branches; OpenAPI then maps each `type` value to the schema of that
    name (`#/components/schemas/text`, ...), which does not exist. The `oneOf`, whose
    branches differ by their `type` enum, decides alone: the discriminators are dropped."""
    for name in ("ContentBlock", "ToolChoice"):
        del spec["components"]["schemas"][name]["discriminator"]


REPAIRS: dict[str, Callable[[dict[str, Any]], None]] = {
    "error_self_reference": _drop_error_self_reference,
    "assistant_message": _define_assistant_message,
    "error_code_examples": _error_code_example,
    "models_unauthorized": _models_unauthorized,
    "inline_discriminators": _inline_discriminators,
}


def repaired_description(skip: str | None = None) -> dict[str, Any]:
    """The description with every repair applied (but `skip`, to show it is needed)."""
    spec = raw_description()
    for name, repair in REPAIRS.items():
        if name != skip:
            repair(spec)
    return spec


def description_with_event_schemas() -> dict[str, Any]:
    """The repaired description for tools that, as OpenAPI 3.0 reads it, validate each
    Server-Sent Event against a `text/event-stream` schema (schemathesis): the documented
    schema describes the whole stream as a binary string, so it is replaced by one event.
    The events' JSON is checked against `ChatCompletionChunk` by `Contract` instead."""
    spec = repaired_description()
    event = {
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
    }
    for item in spec["paths"].values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                stream = response.get("content", {}).get("text/event-stream")
                if stream is not None:
                    stream["schema"] = event
    return spec


def sse_data(body: bytes) -> list[str]:
    """The `data` of each Server-Sent Event, in order."""
    events: list[str] = []
    for block in body.decode().split("\n\n"):
        data = [line[len("data: ") :] for line in block.split("\n") if line.startswith("data: ")]
        if data:
            events.append("\n".join(data))
    return events


@dataclass
class Contract:
    """Validates Gateway answers against the repaired description."""

    spec: dict[str, Any]
    openapi: OpenAPI
    registry: Registry[Any]

    @classmethod
    @cache
    def load(cls) -> Contract:
        """The contract, built once per test session."""
        spec = repaired_description()
        registry: Registry[Any] = Registry().with_resource(
            _URN, Resource.from_contents(spec, default_specification=DRAFT4)
        )
        return cls(spec, OpenAPI.from_dict(spec), registry)

    def schema_errors(self, name: str, instance: object) -> list[str]:
        """Why `instance` is not a valid `#/components/schemas/<name>`."""
        validator = OAS30Validator(
            {"$ref": f"{_URN}#/components/schemas/{name}"}, registry=self.registry
        )
        return [error.message for error in validator.iter_errors(instance)]

    def violations(self, request: HttpRequest, response: HttpResponse) -> list[str]:
        """Why an answer is outside the description (empty when it is inside)."""
        label = f"{request.method} {request.path} -> {response.status}"
        headers = {name.lower(): value for name, value in response.headers}
        declared = GATEWAY_ROUTES[request.path]
        if request.method == "HEAD" and declared == "GET":
            documented = self.spec["paths"][request.path]["get"]["responses"]
            ok = str(response.status) in documented
            return [] if ok else [f"{label}: status not documented for GET"]
        if request.method != declared:
            # A method the description does not declare: 405 naming the one it does.
            problems = self.schema_errors("ErrorResponse", _json(response.body))
            if response.status != 405 or headers.get("allow") != declared:
                problems.append("an undeclared method must be answered 405 with Allow")
            return [f"{label}: {problem}" for problem in problems]
        content_type = headers.get("content-type", "")
        try:
            self.openapi.validate_response(
                MockRequest(
                    SERVER,
                    request.method.lower(),
                    request.path,
                    headers=dict(request.headers),
                    data=request.body,
                ),
                MockResponse(response.body, status_code=response.status, content_type=content_type),
            )
        except Exception as exc:
            return [f"{label}: {type(exc).__name__}: {exc} ({exc.__cause__})"]
        if content_type.startswith("text/event-stream"):
            return [f"{label}: {problem}" for problem in self._stream(request, response)]
        return []

    def _stream(self, request: HttpRequest, response: HttpResponse) -> list[str]:
        events = sse_data(response.body)
        if not events:
            return ["an empty event stream"]
        if request.path != "/v1/chat/completions":
            # The description says nothing of /v1/messages events but that they are SSE.
            return [f"event {e!r} is not a JSON object" for e in events if _json(e) is None]
        # "a JSON object prefixed with 'data: ' ... multiple ChatCompletionChunk objects";
        # the end marker is OpenAI's, which the description's clients expect.
        if events[-1] != "[DONE]":
            return ["the stream does not end with data: [DONE]"]
        problems = []
        for index, text in enumerate(events[:-1]):
            errors = self.schema_errors("ChatCompletionChunk", _json(text))
            problems += [f"event {index}: {error}" for error in errors]
        return problems


def _json(data: bytes | str) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None


class CheckedApp(ConsoleApp):
    """The emulator's app, with every Gateway answer checked against the contract."""

    def __init__(self, contract: Contract, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contract = contract
        self.checked = 0
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer, then check the answer if it is the Gateway's."""
        response = super().handle(request)
        if request.path in GATEWAY_ROUTES:
            problems = self.contract.violations(request, response)
            with self._lock:
                self.checked += 1
                self.violations += problems
        return response
