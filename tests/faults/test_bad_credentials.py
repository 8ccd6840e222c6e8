"""Bad settings through the real provider server: one clear, actionable error at the
first call that can tell, naming the setting to fix, with no secret in it.

Settings that can be judged without the network (a missing token or organization, a URL
that is not https) fail at Check, i.e. at preview time, before any key is touched. A
wrong token or organization shows at the first Console API call, whichever it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pulumi_edgee.testing import EmulatorHandle, provider_payload, resource_urn, run_emulator
from pulumi_edgee.testing.engine import SECRET_CONFIG_KEYS
from pulumi_edgee.testing.provider_server import ProviderCallError, ProviderServer
from pulumi_edgee.testing.secrets import LeakDetector

TOKEN = "tok_credentials_3b8f1d6c2a"
WRONG_TOKEN = "tok_wrong_9e7a5c3b1d"
URL_PASSWORD = "hunter2-url-password"
URL_QUERY_SECRET = "ek_live_url_query_7c1e9a"
ORGANIZATION = "org_1"
PROVIDER = provider_payload()
URN = resource_urn("backend", project="credentials")
# Settings the developer may have in their shell must not leak into these servers.
NO_ENV_SETTINGS = {
    "EDGEE_CONSOLE_API_TOKEN": "",
    "EDGEE_ORGANIZATION_ID": "",
    "EDGEE_CONSOLE_URL": "",
}


@pytest.fixture(scope="module")
def leaks() -> Iterator[LeakDetector]:
    detector = LeakDetector()
    detector.add_secrets(TOKEN, WRONG_TOKEN, URL_PASSWORD, URL_QUERY_SECRET)
    yield detector
    detector.record("__provider", PROVIDER)
    detector.assert_clean()


@pytest.fixture(scope="module")
def emulator(leaks: LeakDetector) -> Iterator[EmulatorHandle]:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as handle:
        yield handle
        leaks.record("request log", handle.requests())


def start(config: dict[str, str], env: dict[str, str] | None = None) -> ProviderServer:
    """A server configured like the engine does it, for one set of settings."""
    server = ProviderServer(project="credentials", env={**NO_ENV_SETTINGS, **(env or {})})
    server.get_plugin_info()
    server.configure(config, secret_keys=[k for k in config if k in SECRET_CONFIG_KEYS])
    return server


def stop(leaks: LeakDetector, server: ProviderServer) -> None:
    server.stop()
    leaks.record("server stdout", server.stdout_text())
    leaks.record("server stderr", server.stderr_text())


@pytest.fixture(scope="module")
def existing(emulator: EmulatorHandle, leaks: LeakDetector) -> Iterator[dict[str, Any]]:
    """A key made with good settings, for refresh and destroy with bad ones."""
    server = start(
        {
            "edgee:apiToken": TOKEN,
            "edgee:organizationId": ORGANIZATION,
            "edgee:consoleUrl": emulator.url,
        },
    )
    try:
        checked = server.check(URN, {}, {"name": "backend", "__provider": PROVIDER})
        created = server.create(URN, checked.inputs)
    finally:
        stop(leaks, server)
    leaks.add_secrets(created.outputs["key"])
    leaks.record("outputs", {k: v for k, v in created.outputs.items() if k != "key"})
    return {"id": created.id, "outputs": created.outputs, "inputs": checked.inputs}


def first_call(server: ProviderServer, call: str, existing: dict[str, Any]) -> ProviderCallError:
    """Make the engine's calls for `call` and return the error the first failing one gave."""

    def engine() -> None:
        if call == "up":
            checked = server.check(URN, {}, {"name": "new", "__provider": PROVIDER})
            server.create(URN, checked.inputs)
        elif call == "refresh":
            server.read(existing["id"], URN, existing["outputs"], existing["inputs"])
        else:
            server.delete(existing["id"], URN, existing["outputs"], existing["inputs"])

    with pytest.raises(ProviderCallError) as failed:
        engine()
    return failed.value


def shown(error: ProviderCallError) -> str:
    """What the CLI shows last: the provider's exception line."""
    return error.details.strip().splitlines()[-1]


def start_with_wrong_token(emulator: EmulatorHandle) -> ProviderServer:
    """A provider process configured with a token the Console refuses; the log emptied."""
    server = start(
        {
            "edgee:apiToken": WRONG_TOKEN,
            "edgee:organizationId": ORGANIZATION,
            "edgee:consoleUrl": emulator.url,
        },
    )
    emulator.clear_requests()
    return server


def test_a_wrong_token_fails_the_check_of_an_up_once_and_clearly(
    emulator: EmulatorHandle, leaks: LeakDetector
) -> None:
    """The engine stops at a failed Check: nothing is created, the token is named."""
    server = start_with_wrong_token(emulator)
    try:
        checks = [
            server.check(URN, {}, {"name": f"new{i}", "__provider": PROVIDER}) for i in range(3)
        ]
    finally:
        stop(leaks, server)
    for checked in checks:
        ((_, reason),) = checked.failures
        leaks.record("check failure", reason)
        assert "rejected the API token" in reason
        assert "edgee:apiToken" in reason
        assert "EDGEE_CONSOLE_API_TOKEN" in reason
    assert [r["status"] for r in emulator.requests()] == [401], "one probe for the process"


@pytest.mark.parametrize("call", ["refresh", "destroy"])
def test_a_wrong_token_fails_the_first_call_once_and_clearly(
    emulator: EmulatorHandle, existing: dict[str, Any], leaks: LeakDetector, call: str
) -> None:
    server = start_with_wrong_token(emulator)
    try:
        error = first_call(server, call, existing)
    finally:
        stop(leaks, server)
    leaks.record(f"{call} error", error.details)

    line = shown(error)
    assert "rejected the API token" in line
    assert "edgee:apiToken" in line
    assert "EDGEE_CONSOLE_API_TOKEN" in line
    assert [r["status"] for r in emulator.requests()] == [401], "a 401 is not retried"
    assert existing["id"] in {k["id"] for k in emulator.keys()}, "nothing was touched"


@pytest.mark.parametrize("call", ["up", "refresh", "destroy"])
def test_a_wrong_organization_fails_the_first_call_clearly_and_keeps_the_key(
    emulator: EmulatorHandle, existing: dict[str, Any], leaks: LeakDetector, call: str
) -> None:
    server = start(
        {
            "edgee:apiToken": TOKEN,
            "edgee:organizationId": "org_someone_else",
            "edgee:consoleUrl": emulator.url,
        },
    )
    try:
        error = first_call(server, call, existing)
    finally:
        stop(leaks, server)
    leaks.record(f"{call} error", error.details)

    line = shown(error)
    assert "org_someone_else" in line
    assert "edgee:organizationId" in line
    assert "EDGEE_ORGANIZATION_ID" in line
    assert existing["id"] in {k["id"] for k in emulator.keys()}, "the key must not be lost"


@pytest.mark.parametrize(
    ("config", "names"),
    [
        (
            {"edgee:consoleUrl": "http://api.example.com"},
            ("https://", "edgee:consoleUrl", "EDGEE_CONSOLE_URL"),
        ),
        (
            {"edgee:consoleUrl": "ftp://api.example.com"},
            ("https://", "edgee:consoleUrl", "EDGEE_CONSOLE_URL"),
        ),
        (
            {"edgee:consoleUrl": f"https://ops:{URL_PASSWORD}@api.example.com"},
            ("credentials", "edgee:consoleUrl", "EDGEE_CONSOLE_URL"),
        ),
        (
            {"edgee:consoleUrl": "https://api.edgee.app/v1"},
            ("base URL", "'https://api.edgee.app'", "edgee:consoleUrl", "EDGEE_CONSOLE_URL"),
        ),
        (
            {"edgee:consoleUrl": f"https://api.edgee.app/v1?key={URL_QUERY_SECRET}"},
            ("base URL", "'https://api.edgee.app/v1'", "edgee:consoleUrl"),
        ),
        (
            {"edgee:consoleUrl": f"https://api.edgee.app?key={URL_QUERY_SECRET}#{URL_PASSWORD}"},
            ("base URL", "'https://api.edgee.app'", "edgee:consoleUrl"),
        ),
        ({"edgee:apiToken": ""}, ("token", "edgee:apiToken", "EDGEE_CONSOLE_API_TOKEN")),
        (
            {"edgee:organizationId": ""},
            ("organization", "edgee:organizationId", "EDGEE_ORGANIZATION_ID"),
        ),
    ],
    ids=[
        "plain-http-remote",
        "not-http",
        "credentials-in-url",
        "url-with-path",
        "url-with-path-and-query",
        "url-with-query-and-fragment",
        "no-token",
        "no-organization",
    ],
)
def test_unusable_settings_fail_at_preview_naming_the_setting(
    emulator: EmulatorHandle, leaks: LeakDetector, config: dict[str, str], names: tuple[str, ...]
) -> None:
    settings = {
        "edgee:apiToken": TOKEN,
        "edgee:organizationId": ORGANIZATION,
        "edgee:consoleUrl": emulator.url,
        **config,
    }
    server = start({k: v for k, v in settings.items() if v})
    emulator.clear_requests()
    try:
        checked = server.check(URN, {}, {"name": "backend", "__provider": PROVIDER})
    finally:
        stop(leaks, server)
    leaks.record("check failures", checked.failures)

    # A check failure is what the CLI shows as one line: "... has a problem: <reason>".
    [(prop, line)] = checked.failures
    assert prop == ""
    assert "\n" not in line
    assert "Traceback" not in line
    assert URL_QUERY_SECRET not in line
    assert URL_PASSWORD not in line
    for name in names:
        assert name in line
    assert "not found" not in line
    assert emulator.requests() == [], "no Console API call is made"


def test_settings_from_the_environment_work_when_stack_config_has_none(
    emulator: EmulatorHandle, leaks: LeakDetector
) -> None:
    server = start(
        {},
        env={
            "EDGEE_CONSOLE_API_TOKEN": f"  {TOKEN}\n",
            "EDGEE_ORGANIZATION_ID": ORGANIZATION,
            "EDGEE_CONSOLE_URL": emulator.url,
        },
    )
    try:
        checked = server.check(URN, {}, {"name": "from-env", "__provider": PROVIDER})
        created = server.create(URN, checked.inputs)
        server.delete(created.id, URN, created.outputs, checked.inputs)
    finally:
        stop(leaks, server)
    leaks.add_secrets(created.outputs["key"])
    leaks.record("outputs", {k: v for k, v in created.outputs.items() if k != "key"})
    assert created.id
