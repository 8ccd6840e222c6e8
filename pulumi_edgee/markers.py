"""Create markers: how a create recognises the key it made, without an idempotency key.

A create sends a one-time name, `pulumi-edgee-create:<token>:<expiry>`: 128 random bits
only that create knows, and the time (seconds since the epoch, on the creating
machine's clock) after which its creator will never take the key. The same step then
renames the key to its declared name. When a create's outcome is unknown, the creator
lists the keys and takes the one bearing its own token: no other create can make that
name, so it adopts exactly its key, whatever the clocks and whatever other stacks do.

A key still bearing a marker after its expiry is a leftover of an interrupted create
(the server applied it after the creator gave up, or the step stopped before the
rename): no stack has it in state, and any walk that began after expiry plus a grace
for clock differences between machines removes it (see `Session`).
"""

from __future__ import annotations

import math
import re
import secrets
import time
from dataclasses import dataclass

PREFIX = "pulumi-edgee-create:"
_NAME = re.compile(rf"{re.escape(PREFIX)}([0-9a-f]{{32}}):([0-9]{{1,12}})")


@dataclass(frozen=True)
class Marker:
    """One create attempt's name: a token and the expiry its creator holds itself to."""

    token: str
    expires: int

    @classmethod
    def new(cls, lifetime: float) -> Marker:
        """A fresh marker its creator must finish with within `lifetime` seconds."""
        return cls(secrets.token_hex(16), math.ceil(time.time() + lifetime))

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.token}:{self.expires}"


def parse(name: str) -> Marker | None:
    """The marker a key name carries, if it is one."""
    match = _NAME.fullmatch(name)
    return Marker(match[1], int(match[2])) if match else None


def expired(name: str, walk_started: float, grace: float) -> bool:
    """Whether a key listed with this name by a walk begun at `walk_started` (epoch
    seconds) is a leftover: a marker whose creator had given up on it before the walk."""
    marker = parse(name)
    return marker is not None and walk_started > marker.expires + grace
