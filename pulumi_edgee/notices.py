"""Lines for people, about one resource (a key due for rotation, a key past its expiry),
shown by the CLI under that resource.

The lifecycle says what; each front door says how it reaches the engine: the plugin sends
it to the engine's log with the resource's URN (`sent_to`); the dynamic provider prints it,
and the SDK's server hands what it prints to the engine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

Level = Literal["info", "warning"]
Sink = Callable[[Level, str], None]

_sink: ContextVar[Sink | None] = ContextVar("edgee_notice_sink", default=None)


def notify(level: Level, message: str) -> None:
    sink = _sink.get()
    if sink is not None:
        sink(level, message)
        return
    prefix = "edgee: warning: " if level == "warning" else "edgee: "
    stream = sys.stderr if level == "warning" else sys.stdout
    print(prefix + message, file=stream, flush=True)


@contextmanager
def sent_to(sink: Sink) -> Iterator[None]:
    """Within the block (one request), notices go to `sink` instead of being printed."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
