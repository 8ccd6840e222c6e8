"""A stand-in (Console and Gateway routes on one loopback port) whose every Gateway answer
is checked against Edgee's OpenAPI description; a test fails if any was outside it.
A plain module: the fixture that serves one per test is in conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from pulumi_edgee.emulator import EmulatorBackend, EmulatorServer
from pulumi_edgee.emulator.backend import utc_now
from pulumi_edgee.testing import run_emulator

from .contract import CheckedApp, Contract

TOKEN = "tok_gateway_tests_3c9e1f7a"
ORGANIZATION = "org_1"


@dataclass
class Clock:
    """The emulator's clock: real time plus an offset the test moves."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class StandIn:
    url: str
    app: CheckedApp
    clock: Clock
    console: httpx.Client
    http: httpx.Client

    def create_key(self, **body: Any) -> dict[str, Any]:
        response = self.console.post("/api_keys", json={"name": "gateway test", **body})
        assert response.status_code == 201, response.text
        key: dict[str, Any] = response.json()
        return key

    def update_key(self, key_id: str, **body: Any) -> None:
        response = self.console.post(f"/api_keys/{key_id}", json=body)
        assert response.status_code == 200, response.text

    def delete_key(self, key_id: str) -> None:
        assert self.console.delete(f"/api_keys/{key_id}").status_code == 200

    def live_key(self, key_id: str) -> dict[str, Any]:
        keys = self.http.get("/_emulator/keys").json()["keys"]
        return next(key for key in keys if key["id"] == key_id)

    def chat(
        self, secret: str | None, model: str = "openai/gpt-5.2", **body: Any
    ) -> httpx.Response:
        """A raw chat completion request (the official client is used where it can be)."""
        headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
        payload = {"model": model, "messages": [{"role": "user", "content": "hello"}], **body}
        return self.http.post("/v1/chat/completions", json=payload, headers=headers)

    def set_spend(self, key_id: str, usd: float) -> httpx.Response:
        return self.http.post(f"/_emulator/keys/{key_id}/spend", json={"spent_usd": usd})

    def spend(self, key_id: str) -> dict[str, Any]:
        response = self.http.get(f"/_emulator/keys/{key_id}/spend")
        assert response.status_code == 200, response.text
        spend: dict[str, Any] = response.json()
        return spend


@contextmanager
def serve_stand_in() -> Iterator[StandIn]:
    """Serve one; on exit, fail if any Gateway answer was outside the description."""
    clock = Clock()
    app = CheckedApp(
        Contract.load(),
        EmulatorBackend(now=clock.now),
        token=TOKEN,
        organization_id=ORGANIZATION,
    )
    with (
        EmulatorServer(app) as server,
        httpx.Client(
            base_url=f"{server.url}/v1/organizations/{ORGANIZATION}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as console,
        httpx.Client(base_url=server.url) as http,
    ):
        yield StandIn(server.url, app, clock, console, http)
    assert app.violations == [], "answers outside Edgee's OpenAPI description"


class CheckedServers:
    """`run_emulator` for a program that serves its own emulator (the demo): every app
    it serves checks each Gateway answer against the description; the test reads them."""

    def __init__(self) -> None:
        self.apps: list[CheckedApp] = []

    def __call__(self, *, token: str, organization_id: str) -> AbstractContextManager[Any]:
        return run_emulator(token=token, organization_id=organization_id, app=self._checked)

    def _checked(self, *args: Any, **kwargs: Any) -> CheckedApp:
        app = CheckedApp(Contract.load(), *args, **kwargs)
        self.apps.append(app)
        return app
