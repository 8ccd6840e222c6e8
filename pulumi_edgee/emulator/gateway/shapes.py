"""The request shapes of Edgee's OpenAPI description of the Gateway: a request that does not
fit is refused with 400, naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..wire import (
    BadBody,
    HttpRequest,
    json_object,
)
from .common import CHAT_ROLES, bad_request_refusal


def json_body(body: bytes) -> dict[str, Any]:
    try:
        return json_object(body)
    except BadBody as exc:
        raise bad_request_refusal(str(exc)) from None


Check = Callable[[object, str], object]


def _string(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise bad_request_refusal(f"{where} must be a string.")


def _boolean(value: object, where: str) -> None:
    if not isinstance(value, bool):
        raise bad_request_refusal(f"{where} must be a boolean.")


def _positive_int(value: object, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request_refusal(f"{where} must be an integer of at least 1.")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request_refusal(f"{where} must be an object.")
    return value


def _array(value: object, where: str, item: Check, *, min_items: int = 0) -> None:
    if not isinstance(value, list):
        raise bad_request_refusal(f"{where} must be an array.")
    if len(value) < min_items:
        raise bad_request_refusal(f"{where} must have at least {min_items} item(s).")
    for index, element in enumerate(value):
        item(element, f"{where}[{index}]")


def check_fields(
    value: object, where: str, required: Sequence[str], checks: Mapping[str, Check]
) -> dict[str, Any]:
    """An object with these required fields; known fields checked, others allowed."""
    obj = _object(value, where)
    for name in required:
        if name not in obj:
            raise bad_request_refusal(f"{where}.{name} is required.")
    for name, check in checks.items():
        if name in obj:
            check(obj[name], f"{where}.{name}")
    return obj


def _enum(*allowed: str) -> Check:
    def check(value: object, where: str) -> None:
        if value not in allowed:
            raise bad_request_refusal(f"{where} must be one of: {', '.join(allowed)}.")

    return check


def _function_call(value: object, where: str) -> None:
    check_fields(value, where, ("name", "arguments"), {"name": _string, "arguments": _string})


def _tool_call(value: object, where: str) -> None:
    check_fields(
        value,
        where,
        ("id", "type", "function"),
        {"id": _string, "type": _enum("function"), "function": _function_call},
    )


def _chat_message(value: object, where: str) -> None:
    check_fields(
        value,
        where,
        ("role",),
        {
            "role": _enum(*CHAT_ROLES),
            "content": _string,
            "name": _string,
            "tool_call_id": _string,
            "refusal": _string,
            "tool_calls": lambda v, w: _array(v, w, _tool_call),
        },
    )


def _function_definition(value: object, where: str) -> None:
    check_fields(
        value,
        where,
        ("name",),
        {"name": _string, "description": _string, "parameters": _object},
    )


def _chat_tool(value: object, where: str) -> None:
    check_fields(
        value,
        where,
        ("type", "function"),
        {"type": _enum("function"), "function": _function_definition},
    )


def _chat_tool_choice(value: object, where: str) -> None:
    if isinstance(value, str):
        _enum("none", "auto")(value, where)
        return
    check_fields(
        value,
        where,
        ("type", "function"),
        {
            "type": _enum("function"),
            "function": lambda v, w: check_fields(v, w, ("name",), {"name": _string}),
        },
    )


def _strings(value: object, where: str) -> None:
    _array(value, where, _string)


CHAT_REQUEST: Mapping[str, Check] = {
    "model": _string,
    "messages": lambda v, w: _array(v, w, _chat_message, min_items=1),
    "max_tokens": _positive_int,
    "stream": _boolean,
    "stream_options": lambda v, w: check_fields(v, w, (), {"include_usage": _boolean}),
    "tools": lambda v, w: _array(v, w, _chat_tool),
    "tool_choice": _chat_tool_choice,
    "edgee_tool_ids": _strings,
    "edgee_pending_id": _string,
    "tags": _strings,
}


def _content_block(value: object, where: str) -> None:
    block = check_fields(
        value, where, ("type",), {"type": _enum("text", "tool_use", "tool_result")}
    )
    if block["type"] == "text":
        check_fields(block, where, ("text",), {"text": _string})
    elif block["type"] == "tool_use":
        check_fields(
            block,
            where,
            ("id", "name", "input"),
            {"id": _string, "name": _string, "input": _object},
        )
    else:
        check_fields(
            block,
            where,
            ("tool_use_id", "content"),
            {"tool_use_id": _string, "content": _string, "is_error": _boolean},
        )


def _text_or_blocks(value: object, where: str) -> None:
    if not isinstance(value, str):
        _array(value, where, _content_block)


def _message_param(value: object, where: str) -> None:
    check_fields(
        value,
        where,
        ("role", "content"),
        {"role": _enum("user", "assistant"), "content": _text_or_blocks},
    )


def _anthropic_tool(value: object, where: str) -> None:
    check_fields(
        value,
        where,
        ("name", "input_schema"),
        {"name": _string, "description": _string, "input_schema": _object},
    )


def _anthropic_tool_choice(value: object, where: str) -> None:
    choice = check_fields(value, where, ("type",), {"type": _enum("auto", "any", "tool")})
    if choice["type"] == "tool":
        check_fields(choice, where, ("name",), {"name": _string})


MESSAGES_REQUEST: Mapping[str, Check] = {
    "model": _string,
    "max_tokens": _positive_int,
    "messages": lambda v, w: _array(v, w, _message_param, min_items=1),
    "system": _text_or_blocks,
    "stream": _boolean,
    "tools": lambda v, w: _array(v, w, _anthropic_tool),
    "tool_choice": _anthropic_tool_choice,
}


def _count_message(value: object, where: str) -> None:
    check_fields(
        value,
        where,
        ("role", "content"),
        {"role": _string, "content": _text_or_objects},
    )


def _text_or_objects(value: object, where: str) -> None:
    if not isinstance(value, str):
        _array(value, where, _object)


COUNT_TOKENS_REQUEST: Mapping[str, Check] = {
    "messages": lambda v, w: _array(v, w, _count_message, min_items=1),
    "model": _string,
}


def boolean_headers(request: HttpRequest, names: Sequence[str]) -> None:
    for name in names:
        value = request.headers.get(name)
        if value is not None and value.strip().lower() not in ("true", "false"):
            raise bad_request_refusal(f"The {name} header must be true or false.")
