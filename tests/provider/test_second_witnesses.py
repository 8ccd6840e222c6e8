"""A second test, over real HTTP against the emulator, for behaviours that had only one:
the grace before a leftover is removed, a 400 never retried, server text scrubbed, a
404 on delete believed only when the list agrees, and adoption refusing another type
through the plugin."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pulumi_edgee import lifecycle, markers
from pulumi_edgee.console import ApiKeyUpdate, InvalidRequestError, ServerError
from pulumi_edgee.session import Deadlines, Session
from pulumi_edgee.settings import Settings
from pulumi_edgee.testing import EmulatorHandle, run_emulator
from pulumi_edgee.testing.engine import EngineError
from pulumi_edgee.testing.plugin import PluginEngine

from .support import ORGANIZATION, TOKEN

ONE_KEY = r"/v1/organizations/[^/]+/api_keys/[^/]+"


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle


def session(emulator: EmulatorHandle, grace: float = 60.0) -> Session:
    settings = Settings(emulator.url, ORGANIZATION, TOKEN)
    return Session(settings, Deadlines(request=5.0, step=10.0, grace=grace))


def marked(emulator: EmulatorHandle, expired_ago: float) -> str:
    name = f"{markers.PREFIX}{markers.Marker.new(0).token}:{int(time.time() - expired_ago)}"
    return str(emulator.insert_key(name=name)["id"])


def test_a_walk_removes_only_leftovers_past_the_grace(emulator: EmulatorHandle) -> None:
    within = marked(emulator, expired_ago=30)
    past = marked(emulator, expired_ago=120)
    session(emulator, grace=60).client.list_api_keys()
    live = {k["id"] for k in emulator.keys()}
    assert within in live, "30 s past its expiry, within the 60 s grace: kept"
    assert past not in live


def test_a_400_is_never_retried(emulator: EmulatorHandle) -> None:
    made = emulator.insert_key(name="k")
    emulator.add_fault("server_error", method="POST", path=ONE_KEY, status=400)
    with pytest.raises(InvalidRequestError):
        session(emulator).client.update_api_key(made["id"], ApiKeyUpdate(name="x"))
    posts = [r for r in emulator.requests() if r["method"] == "POST"]
    assert len(posts) == 1


@pytest.mark.slow
def test_server_text_reaches_errors_scrubbed(emulator: EmulatorHandle) -> None:
    made = emulator.insert_key(name="k")
    echo = f"rejected Authorization: Bearer {TOKEN} for key ek_live_abcdef123456"
    emulator.add_fault(
        "server_error", method="POST", path=ONE_KEY, status=500, body=echo, count=None
    )
    with pytest.raises(ServerError) as failed:
        session(emulator).client.update_api_key(made["id"], ApiKeyUpdate(name="x"))
    text = str(failed.value) + repr(failed.value)
    assert "rejected Authorization" in text, "the server's words are shown"
    assert TOKEN not in text
    assert "ek_live_abcdef123456" not in text


def test_a_404_on_delete_of_a_listed_key_is_not_success(emulator: EmulatorHandle) -> None:
    made = emulator.insert_key(name="k")
    emulator.add_fault("server_error", method="DELETE", path=ONE_KEY, status=404)
    with pytest.raises(lifecycle.ApiKeyError, match="answered 404 but still lists the key"):
        lifecycle.delete(session(emulator), made["id"], {"organizationId": ORGANIZATION})
    assert [k["id"] for k in emulator.keys()] == [made["id"]]


def test_the_plugin_refuses_to_adopt_a_key_of_another_type(emulator: EmulatorHandle) -> None:
    made = emulator.insert_key(name="agent", type="coding_agent", coding_assistant="codex")
    engine = PluginEngine(
        config={"apiToken": TOKEN, "organizationId": ORGANIZATION, "consoleUrl": emulator.url},
        env={
            "EDGEE_CONSOLE_API_TOKEN": "",
            "EDGEE_ORGANIZATION_ID": "",
            "EDGEE_CONSOLE_URL": "",
        },
    )
    with pytest.raises(EngineError) as refused:
        engine.preview({"k": {"adoptId": made["id"], "name": "agent"}})
    assert "`type` is declared 'api', the key's is 'coding_agent'" in str(refused.value)
    assert emulator.keys()[0]["name"] == "agent"
