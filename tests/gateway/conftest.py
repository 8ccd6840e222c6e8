"""The `stand_in` fixture: a Gateway stand-in per test (helpers in standin.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .standin import StandIn, serve_stand_in


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    with serve_stand_in() as served:
        yield served
