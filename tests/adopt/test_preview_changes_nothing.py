"""A preview changes nothing: lookups and the adoption check at preview walk the key
list, but leave a leftover of an interrupted create to the commands that change or
refresh keys (the first of which removes it)."""

from __future__ import annotations

import time

import pytest

from pulumi_edgee import markers

from .support import PROGRAMS, Stack, ok, set_keys


@pytest.mark.slow
def test_lookups_and_adoption_checks_leave_leftovers_to_a_write(env: Stack) -> None:
    expired = f"{markers.PREFIX}{'cd' * 16}:{int(time.time()) - 3600}"
    leftover = env.emulator.insert_key(name=expired)
    real = env.console_create(name="real")
    env.leaks.add_secrets(leftover["key"])

    lookups = env.runner(PROGRAMS / "lookups", keyId=real["id"], keyName="real")
    ok(lookups.preview(), env, lookups)
    adopting = env.runner(EDGEE_LEFTOVER_GRACE_SECONDS="0")
    set_keys(adopting, {"k": {"adopt_id": real["id"], "name": "real"}})
    ok(adopting.preview(), env, adopting)
    assert leftover["id"] in env.live(), "a preview removed a key"

    ok(adopting.up(), env, adopting)  # a write: its process sweeps once
    assert leftover["id"] not in env.live()
