"""The Gateway stand-in's rules, over real HTTP; the official `edgee` client is used where
it can express the request. Every answer is checked against Edgee's OpenAPI description
by the `stand_in` fixture."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.error import URLError

import pytest

from pulumi_edgee.testing.emulator import EmulatorClient
from pulumi_edgee.testing.gateway import GatewayOutcome, ask_gateway

from .contract import sse_data
from .standin import ORGANIZATION, TOKEN, StandIn


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def refused(status: int, code: str, message: str) -> GatewayOutcome:
    return GatewayOutcome(answered=False, status=status, code=code, message=message)


def test_a_key_answers_with_a_deterministic_echo_and_its_usage(stand_in: StandIn) -> None:
    key = stand_in.create_key()
    first = ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2", "  what   is a key? ")
    assert first == GatewayOutcome(answered=True, text="what is a key?")
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2", "what is a key?") == first
    body = stand_in.chat(
        key["key"],
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "one two three four"},
        ],
        max_tokens=2,
    ).json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "one two"}
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["prompt_tokens"] == 6
    assert body["usage"]["completion_tokens"] == 2
    assert body["usage"]["total_tokens"] == 8
    assert body["model"] == "openai/gpt-5.2"


def test_streaming_sends_chunks_then_done(stand_in: StandIn) -> None:
    key = stand_in.create_key()
    streamed = ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2", "a b c", stream=True)
    assert streamed == GatewayOutcome(answered=True, text="a b c")
    response = stand_in.chat(
        key["key"],
        messages=[{"role": "user", "content": "x y"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_data(response.content)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "x y"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["total_tokens"] == 4
    assert all("usage" not in chunk for chunk in chunks[:-1])
    without = sse_data(stand_in.chat(key["key"], stream=True).content)
    assert all("usage" not in json.loads(event) for event in without[:-1])


def test_missing_unknown_and_deleted_keys_are_unauthorized(stand_in: StandIn) -> None:
    missing = stand_in.chat(None)
    assert missing.status_code == 401
    assert missing.json() == {
        "error": {"code": "unauthorized", "message": "Missing Authorization header"}
    }
    unknown = ask_gateway(stand_in.url, "ek_test_unknown", "openai/gpt-5.2")
    assert unknown == refused(401, "unauthorized", "Invalid API key")
    key = stand_in.create_key()
    # The Console API token is not a Gateway key.
    assert ask_gateway(stand_in.url, "tok_gateway_tests_3c9e1f7a", "openai/gpt-5.2") == unknown
    stand_in.delete_key(key["id"])
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2") == unknown


def test_disabled_and_expired_keys_are_forbidden(stand_in: StandIn) -> None:
    key = stand_in.create_key(expires_in_days=1)
    stand_in.update_key(key["id"], active=False)
    inactive = refused(403, "forbidden", "API key is inactive")
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2") == inactive
    stand_in.update_key(key["id"], active=True)
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").answered
    stand_in.clock.advance(days=1)
    expired = refused(403, "forbidden", "API key has expired")
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2") == expired


def test_a_model_outside_the_keys_models_is_forbidden(stand_in: StandIn) -> None:
    key = stand_in.create_key(models=["openai/gpt-5.2", "mistral/large-2"])
    assert ask_gateway(stand_in.url, key["key"], "mistral/large-2").answered
    outside = ask_gateway(stand_in.url, key["key"], "anthropic/claude-opus-4-6")
    assert outside == refused(
        403, "forbidden", "Model 'anthropic/claude-opus-4-6' is not allowed for this API key"
    )
    malformed = ask_gateway(stand_in.url, key["key"], "gpt-5.2")
    assert malformed == refused(400, "bad_model_id", "Invalid model ID: 'gpt-5.2'")
    stand_in.update_key(key["id"], models=None)
    assert ask_gateway(stand_in.url, key["key"], "anthropic/claude-opus-4-6").answered


def test_each_answered_call_costs_one_cent_and_max_usage_stops_the_key(
    stand_in: StandIn,
) -> None:
    key = stand_in.create_key(max_usage=1)
    for _ in range(3):
        assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").answered
    assert stand_in.spend(key["id"])["spent_usd"] == pytest.approx(0.03)
    # Refusals cost nothing.
    ask_gateway(stand_in.url, key["key"], "bad")
    assert stand_in.spend(key["id"])["spent_usd"] == pytest.approx(0.03)
    assert stand_in.set_spend(key["id"], 0.99).status_code == 200
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").answered
    month = stand_in.spend(key["id"])["month"]
    over = ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2")
    assert over == refused(
        429, "usage_limit_exceeded", f"Usage limit exceeded: 1.00 / 1 USD used in {month}"
    )
    # Raising the limit lets the key work again.
    stand_in.update_key(key["id"], max_usage=2)
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").answered


def test_spend_starts_again_each_utc_month(stand_in: StandIn) -> None:
    key = stand_in.create_key(max_usage=5)
    stand_in.set_spend(key["id"], 5)
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").status == 429
    now = stand_in.clock.now().astimezone(timezone.utc)
    days_left = (now.replace(day=28) - now).days + 4  # into the next month, whatever day
    stand_in.clock.advance(days=days_left)
    spend = stand_in.spend(key["id"])
    assert spend["spent_usd"] == 0
    assert spend["month"] != f"{now.year:04d}-{now.month:02d}"
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").answered


def test_a_key_without_max_usage_has_no_limit(stand_in: StandIn) -> None:
    key = stand_in.create_key()
    stand_in.set_spend(key["id"], 1_000_000)
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").answered


@pytest.mark.slow
def test_concurrent_calls_never_spend_past_the_limit(stand_in: StandIn) -> None:
    key = stand_in.create_key(max_usage=1)
    stand_in.set_spend(key["id"], 0.95)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(
            pool.map(lambda _: ask_gateway(stand_in.url, key["key"], "openai/o3"), range(16))
        )
    assert sum(outcome.answered for outcome in outcomes) == 5
    assert {o.code for o in outcomes if not o.answered} == {"usage_limit_exceeded"}
    assert stand_in.spend(key["id"])["spent_usd"] == pytest.approx(1.0)


def test_answered_calls_set_last_used_at_and_refusals_do_not(stand_in: StandIn) -> None:
    key = stand_in.create_key(models=["openai/gpt-5.2"])
    assert stand_in.live_key(key["id"])["last_used_at"] is None
    ask_gateway(stand_in.url, key["key"], "openai/o3")
    assert stand_in.live_key(key["id"])["last_used_at"] is None
    before = stamp(stand_in.clock.now().replace(microsecond=0))
    ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2")
    used = stand_in.live_key(key["id"])["last_used_at"]
    assert before <= used <= stamp(stand_in.clock.now())
    stand_in.clock.advance(hours=2)
    ask_gateway(stand_in.url, key["key"], "openai/o3")
    assert stand_in.live_key(key["id"])["last_used_at"] == used
    ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2")
    assert stand_in.live_key(key["id"])["last_used_at"] > used


def test_messages_route_speaks_anthropic_with_either_header(stand_in: StandIn) -> None:
    key = stand_in.create_key(models=["anthropic/claude-opus-4-6"], max_usage=1)
    body = {
        "model": "claude-opus-4-6",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}],
    }
    for headers in ({"x-api-key": key["key"]}, {"Authorization": f"Bearer {key['key']}"}):
        answer = stand_in.http.post("/v1/messages", json=body, headers=headers)
        assert answer.status_code == 200
        assert answer.json()["content"] == [{"type": "text", "text": "hi there"}]
        assert answer.json()["usage"] == {"input_tokens": 2, "output_tokens": 2}
    headers = {"x-api-key": key["key"]}
    other = stand_in.http.post("/v1/messages", json={**body, "model": "claude-x"}, headers=headers)
    assert (other.status_code, other.json()["error"]["code"]) == (403, "forbidden")
    openai = stand_in.http.post(
        "/v1/messages", json={**body, "model": "openai/gpt-5.2"}, headers=headers
    )
    assert (openai.status_code, openai.json()["error"]["code"]) == (400, "provider_not_supported")
    stream = stand_in.http.post("/v1/messages", json={**body, "stream": True}, headers=headers)
    events = [json.loads(event) for event in sse_data(stream.content)]
    assert [e["type"] for e in events][:2] == ["message_start", "content_block_start"]
    assert events[-1] == {"type": "message_stop"}
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "hi there"
    # Its description lists no 429: a spent key is refused with 403 there.
    stand_in.set_spend(key["id"], 1)
    spent = stand_in.http.post("/v1/messages", json=body, headers=headers)
    assert (spent.status_code, spent.json()["error"]["code"]) == (403, "usage_limit_exceeded")


def test_models_and_count_tokens_need_a_key(stand_in: StandIn) -> None:
    assert stand_in.http.get("/v1/models").status_code == 401
    key = stand_in.create_key()
    auth = {"Authorization": f"Bearer {key['key']}"}
    models = stand_in.http.get("/v1/models", headers=auth).json()
    assert {"openai/gpt-5.2", "anthropic/claude-opus-4-6"} <= {m["id"] for m in models["data"]}
    body = {"messages": [{"role": "user", "content": "one two three"}]}
    assert stand_in.http.post("/v1/count_tokens", json=body).status_code == 401
    counted = stand_in.http.post("/v1/count_tokens", json=body, headers=auth)
    assert counted.json() == {"input_tokens": 3}
    assert stand_in.live_key(key["id"])["last_used_at"] is None
    assert stand_in.spend(key["id"])["spent_usd"] == 0


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"model": "openai/gpt-5.2"}', "body.messages is required"),
        (b'{"model": "openai/gpt-5.2", "messages": []}', "at least 1"),
        (b'{"model": "openai/gpt-5.2", "messages": [{"role": "bot"}]}', "role must be one of"),
        (b'{"model": 5, "messages": [{"role": "user"}]}', "body.model must be a string"),
        (b'{"model": "a/b", "messages": [{"role": "user"}], "stream": "yes"}', "boolean"),
        (b'{"model": "a/b", "messages": [{"role": "user"}], "max_tokens": 0}', "at least 1"),
    ],
)
def test_bad_bodies_are_400_bad_request(stand_in: StandIn, content: bytes, fragment: str) -> None:
    key = stand_in.create_key()
    response = stand_in.http.post(
        "/v1/chat/completions", content=content, headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert fragment in response.json()["error"]["message"]


def test_undeclared_methods_are_405(stand_in: StandIn) -> None:
    for method, path, allow in [
        ("GET", "/v1/chat/completions", "POST"),
        ("DELETE", "/v1/models", "GET"),
        ("TRACE", "/v1/messages", "POST"),
    ]:
        response = stand_in.http.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["Allow"] == allow


def test_admin_faults_apply_to_gateway_routes(stand_in: StandIn) -> None:
    key = stand_in.create_key()
    path = "/v1/chat/completions"
    stand_in.http.post("/_emulator/faults", json={"kind": "rate_limit", "path": path})
    limited = ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2")
    assert limited == refused(429, "too_many_requests", "Too many requests; retry later.")
    stand_in.http.post(
        "/_emulator/faults", json={"kind": "server_error", "path": path, "status": 500}
    )
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").status == 500
    stand_in.http.post("/_emulator/faults", json={"kind": "drop_connection", "path": path})
    with pytest.raises((URLError, ConnectionError)):
        ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2")
    assert ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2").answered
    log = stand_in.http.get("/_emulator/requests").json()["requests"]
    gateway_log = [(r["status"], r["fault"]) for r in log if r["path"] == path]
    assert gateway_log == [
        (429, "rate_limit"),
        (500, "server_error"),
        (None, "drop_connection"),
        (200, None),
    ]


def test_admin_spend_route_checks_its_input(stand_in: StandIn) -> None:
    key = stand_in.create_key(max_usage=3)
    for bad in (-1, "2", True, None, 1e13):
        response = stand_in.set_spend(key["id"], bad)  # type: ignore[arg-type]
        assert response.status_code == 422, bad
    assert stand_in.set_spend("key_missing", 1).status_code == 404
    path = f"/_emulator/keys/{key['id']}/spend"
    as_form = stand_in.http.post(path, content=b'{"spent_usd": 3}')
    assert as_form.status_code == 415, "a write must be declared JSON"
    from_page = stand_in.http.post(
        path, json={"spent_usd": 3}, headers={"Origin": "http://evil.example"}
    )
    assert from_page.status_code == 403, "a web page cannot set the spend"
    assert stand_in.spend(key["id"])["spent_usd"] == 0
    assert stand_in.http.get("/_emulator/keys/key_missing/spend").status_code == 404
    spend = stand_in.set_spend(key["id"], 2.5).json()
    assert spend == {
        "key_id": key["id"],
        "month": spend["month"],
        "spent_usd": 2.5,
        "max_usage": 3,
        "cost_per_call_usd": 0.01,
    }


def test_the_checker_sees_every_gateway_answer(stand_in: StandIn) -> None:
    key = stand_in.create_key()
    before = stand_in.app.checked
    ask_gateway(stand_in.url, key["key"], "openai/gpt-5.2")
    stand_in.chat(None)
    assert stand_in.app.checked == before + 2


def test_keys_inserted_as_given_are_read_where_they_can_be(stand_in: StandIn) -> None:
    inserted = stand_in.http.post(
        "/_emulator/keys", json={"max_usage": 0.5, "models": "openai/o3"}
    ).json()
    assert ask_gateway(stand_in.url, inserted["key"], "openai/o3").answered
    assert ask_gateway(stand_in.url, inserted["key"], "openai/gpt-5.2").status == 403
    stand_in.set_spend(inserted["id"], 0.5)
    month = stand_in.spend(inserted["id"])["month"]
    assert ask_gateway(stand_in.url, inserted["key"], "openai/o3") == refused(
        429, "usage_limit_exceeded", f"Usage limit exceeded: 0.50 / 0.5 USD used in {month}"
    )
    old = stand_in.http.post("/_emulator/keys", json={"expires_at": "2020-01-01T00:00:00Z"})
    expired = ask_gateway(stand_in.url, old.json()["key"], "openai/o3")
    assert expired == refused(403, "forbidden", "API key has expired")
    odd = stand_in.http.post("/_emulator/keys", json={"models": 7, "max_usage": "lots"}).json()
    assert ask_gateway(stand_in.url, odd["key"], "openai/o3").answered


def test_the_admin_clock_offset_moves_expiry(stand_in: StandIn) -> None:
    key = stand_in.create_key(expires_in_days=1)
    assert stand_in.http.post("/_emulator/clock", json={"offset_seconds": 2 * 86400}).is_success
    expired = ask_gateway(stand_in.url, key["key"], "openai/o3")
    assert expired == refused(403, "forbidden", "API key has expired")
    assert stand_in.http.post("/_emulator/clock", json={"offset_seconds": 0}).is_success
    assert ask_gateway(stand_in.url, key["key"], "openai/o3").answered


def test_handle_helpers_read_and_set_the_spend(stand_in: StandIn) -> None:
    admin = EmulatorClient(url=stand_in.url, token=TOKEN, organization_id=ORGANIZATION)
    key = admin.insert_key(max_usage=1)
    assert ask_gateway(stand_in.url, key["key"], "openai/o3").answered
    assert admin.gateway_spend(key["id"])["spent_usd"] == pytest.approx(0.01)
    assert admin.set_gateway_spend(key["id"], 1)["spent_usd"] == 1
    assert ask_gateway(stand_in.url, key["key"], "openai/o3").code == "usage_limit_exceeded"
    admin.close()
