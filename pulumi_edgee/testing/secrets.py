"""Search everything a run serialized for secrets that should never appear in plain text.

One helper for the whole suite: collect the secrets (the Console token, every gateway key
seen) and the artefacts (outputs not marked secret, the pickled provider, server logs,
error texts, exported state), then ask for leaks. Artefacts are rendered the ways a
person or a tool could read them: as text, as JSON, and base64-decoded where they look
like base64 (the pickled provider is stored that way).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def render(artefact: Any) -> str:
    """Every readable form of an artefact, joined."""
    if isinstance(artefact, BaseException):
        text = "".join(traceback.format_exception(artefact)) + repr(artefact)
    elif isinstance(artefact, bytes):
        text = artefact.decode("utf-8", errors="replace")
    elif isinstance(artefact, str):
        text = artefact
    else:
        text = json.dumps(artefact, default=repr, sort_keys=True) + repr(artefact)
    decoded = []
    for chunk in _BASE64.findall(text):
        try:
            decoded.append(base64.b64decode(chunk + "=" * (-len(chunk) % 4)))
        except (binascii.Error, ValueError):
            continue
    return text + "\n" + "\n".join(d.decode("latin-1") for d in decoded)


@dataclass
class LeakDetector:
    """Secrets to look for and artefacts to look in; `assert_clean` fails on any hit."""

    secrets: set[str] = field(default_factory=set)
    artefacts: list[tuple[str, Any]] = field(default_factory=list)

    def add_secrets(self, *values: str | None) -> None:
        self.secrets.update(v for v in values if v)

    def record(self, label: str, artefact: Any) -> None:
        self.artefacts.append((label, artefact))

    def record_all(self, label: str, artefacts: Iterable[Any]) -> None:
        for artefact in artefacts:
            self.record(label, artefact)

    def leaks(self) -> list[tuple[str, str]]:
        """(artefact label, first characters of the leaked secret) for every hit."""
        found: list[tuple[str, str]] = []
        for label, artefact in self.artefacts:
            text = render(artefact)
            found.extend((label, s[:10] + "…") for s in self.secrets if s in text)
        return found

    def assert_clean(self) -> None:
        assert self.secrets, "no secret was registered: the search would prove nothing"
        assert self.artefacts, "no artefact was recorded: the search would prove nothing"
        leaks = self.leaks()
        assert not leaks, f"secrets found in serialized artefacts: {leaks}"
