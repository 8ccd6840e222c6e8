"""The deterministic echo that stands in for a model, in both answer formats, plain and
streamed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


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


def word_count(messages: Sequence[Mapping[str, Any]]) -> int:
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
        return cls(words, word_count(messages), truncated)

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


def sse(events: Sequence[tuple[str | None, object]]) -> bytes:
    """Server-Sent Events: each `data: <json>` (after an `event:` line when named)."""
    lines: list[str] = []
    for name, data in events:
        if name is not None:
            lines.append(f"event: {name}\n")
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        lines.append(f"data: {text}\n\n")
    return "".join(lines).encode()


SSE_HEADERS = (("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"))
