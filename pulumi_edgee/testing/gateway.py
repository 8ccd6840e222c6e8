"""What an application sees when it calls the Gateway with a key: the official `edgee`
client (unmodified), and its outcome as data, for tests and demos.

The `edgee` package is imported on first use (it is in the `demo` and `test` extras).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_API_ERROR_RE = re.compile(r"API error (\d{3}): (.*)", re.DOTALL)


@dataclass(frozen=True)
class GatewayOutcome:
    """An answer (`text`), or a refusal with its status and the `ErrorResponse` code."""

    answered: bool
    text: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        if self.answered:
            return f"answered: {self.text!r}"
        return f"refused ({self.status} {self.code}): {self.message}"


def ask_gateway(
    base_url: str, key: str, model: str, prompt: str = "ping", *, stream: bool = False
) -> GatewayOutcome:
    """Send one prompt with the official client; a refusal is returned, not raised.

    Connection failures are raised: they say nothing about the key.
    """
    try:
        from edgee import Edgee
    except ImportError:
        raise RuntimeError(
            "calling the Gateway needs the official client: pip install 'pulumi-edgee[demo]'"
            " (or pip install edgee)"
        ) from None

    client = Edgee({"api_key": key, "base_url": base_url})
    try:
        if stream:
            chunks = client.stream(model=model, input=prompt)
            text = "".join(chunk.text or "" for chunk in chunks)
        else:
            text = client.send(model=model, input=prompt).text or ""
    except RuntimeError as exc:
        # The client reports an HTTP error as "API error <status>: <body>".
        match = _API_ERROR_RE.fullmatch(str(exc))
        if match is None:
            raise
        return _refusal(int(match.group(1)), match.group(2))
    return GatewayOutcome(answered=True, text=text)


def _refusal(status: int, body: str) -> GatewayOutcome:
    try:
        error = json.loads(body)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = None, body
    return GatewayOutcome(answered=False, status=status, code=code, message=message)
