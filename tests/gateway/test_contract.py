"""The contract itself: each repair of Edgee's description is needed, the checker rejects
answers outside it, and a property-based run (schemathesis, every default check) finds
no answer of the stand-in outside it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_core import OpenAPI
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from pulumi_edgee.emulator import HttpRequest, HttpResponse
from pulumi_edgee.emulator.gateway import GATEWAY_ROUTES, gateway_error

from .contract import (
    REPAIRS,
    Contract,
    description_with_event_schemas,
    raw_description,
    repaired_description,
)
from .standin import StandIn, serve_stand_in

CHAT = HttpRequest("POST", "/v1/chat/completions")


@pytest.mark.parametrize(
    ("repair", "failure"),
    [
        ("error_self_reference", RecursionError),
        ("assistant_message", Exception),
        ("error_code_examples", Exception),
    ],
)
def test_the_description_does_not_load_without_each_repair(
    repair: str, failure: type[BaseException]
) -> None:
    with pytest.raises(failure):
        OpenAPI.from_dict(repaired_description(skip=repair))


def test_inline_discriminators_reject_valid_content_blocks_without_their_repair() -> None:
    spec = repaired_description(skip="inline_discriminators")
    contract = Contract(spec, OpenAPI.from_dict(spec), Contract.load().registry)
    answer = {
        "id": "msg_1",
        "model": "claude-opus-4-6",
        "content": [{"type": "text", "text": "hi"}],
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    request = HttpRequest("POST", "/v1/messages")
    assert contract.violations(request, HttpResponse.from_json(200, answer))
    assert Contract.load().violations(request, HttpResponse.from_json(200, answer)) == []


def test_models_is_under_the_global_security_but_lists_no_401() -> None:
    raw = raw_description()
    operation = raw["paths"]["/v1/models"]["get"]
    assert raw["security"] == [{"bearerAuth": []}]
    assert "security" not in operation
    assert "401" not in operation["responses"]
    assert set(REPAIRS) == {
        "error_self_reference",
        "assistant_message",
        "error_code_examples",
        "models_unauthorized",
        "inline_discriminators",
    }


def test_the_checker_rejects_answers_outside_the_description() -> None:
    contract = Contract.load()
    console_shaped = HttpResponse.from_json(401, {"error": "Unauthorized", "message": "no"})
    assert contract.violations(CHAT, console_shaped)
    assert contract.violations(CHAT, gateway_error(418, "teapot", "no"))
    assert contract.violations(HttpRequest("GET", "/v1/models"), gateway_error(403, "x", "y"))
    assert contract.violations(CHAT, HttpResponse.from_json(200, {"choices": []}))
    no_allow = gateway_error(405, "method_not_allowed", "no")
    assert contract.violations(HttpRequest("GET", CHAT.path), no_allow)
    bad_chunk = {"id": "c", "object": "chat.completion", "created": 1, "model": "a/b"}
    stream = f"data: {json.dumps({**bad_chunk, 'choices': []})}\n\ndata: [DONE]\n\n".encode()
    sse = HttpResponse(200, (("Content-Type", "text/event-stream"),), stream)
    assert contract.violations(CHAT, sse)
    unterminated = HttpResponse(200, (("Content-Type", "text/event-stream"),), b"data: {}\n\n")
    assert contract.violations(CHAT, unterminated)
    assert contract.violations(CHAT, gateway_error(400, "bad_request", "fine")) == []


SCHEMA = schemathesis.openapi.from_dict(description_with_event_schemas())


@pytest.fixture(scope="module")
def shared_stand_in() -> Iterator[tuple[StandIn, str]]:
    with serve_stand_in() as stand_in:
        yield stand_in, stand_in.create_key()["key"]
        # The run reached real answers, not only refusals, on every route.
        log = stand_in.http.get("/_emulator/requests").json()["requests"]
        answered = {entry["path"] for entry in log if entry["status"] == 200}
        assert answered >= set(GATEWAY_ROUTES), answered
        statuses = sorted({entry["status"] for entry in log})
        print(f"property run: {len(log)} requests, statuses {statuses}")


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_answer_outside_the_description(
    case: schemathesis.Case, shared_stand_in: tuple[StandIn, str]
) -> None:
    stand_in, key = shared_stand_in
    # A credential the case carries becomes the live key's; one it leaves out stays out.
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "authorization":
            headers[name] = f"Bearer {key}"
        elif name.lower() == "x-api-key":
            headers[name] = key
    response = case.call_and_validate(
        base_url=stand_in.url,
        # "Schema-valid data is accepted" is stricter than the description, whose own 400
        # examples refuse schema-valid bodies (a `model` that is not `{author}/{model}`).
        excluded_checks=[positive_data_acceptance],
    )
    # What is left of that check: a schema-valid body is refused only for its model id.
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if positive and response.status_code == 400:
        code = response.json()["error"]["code"]
        assert code in ("bad_model_id", "provider_not_supported"), response.text
