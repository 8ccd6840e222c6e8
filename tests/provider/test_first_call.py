"""The first call of a provider process (a Check in `pulumi preview` or `up`): input
validation, and one access check of the token and organization, whose outcome is kept for
the process. Each case runs in a fresh interpreter, as the SDK's server starts one per
command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

# Modules only a call that talks to the Console API needs.
HEAVY = (
    "httpx",
    "httpcore",
    "pulumi_edgee.console.client",
    "pulumi_edgee.console.models",
    "pulumi_edgee.session",
    "pulumi_edgee.lifecycle",
    "pulumi_edgee.takeover",
)

PROBE = """
import json, sys
import pulumi.dynamic
from pulumi_edgee.provider import ApiKeyProvider

provider = ApiKeyProvider()
provider.configure(pulumi.dynamic.ConfigureRequest(json.loads(sys.argv[1])))
result = provider.check({}, json.loads(sys.argv[2]))
print(json.dumps({
    "inputs": result.inputs,
    "failures": [[f.property, f.reason] for f in result.failures or []],
    "loaded": sorted(m for m in json.loads(sys.argv[3]) if m in sys.modules),
}))
"""

CONFIG = {
    "edgee:apiToken": "ek_test_token",
    "edgee:organizationId": "org_first_call",
    "edgee:consoleUrl": "http://127.0.0.1:9",
}


def first_check(config: dict[str, str], news: dict[str, Any]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEE_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(config), json.dumps(news), json.dumps(HEAVY)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@pytest.mark.slow
def test_a_first_check_validates_and_an_unreachable_console_does_not_fail_it() -> None:
    """Nothing listens at CONFIG's URL: the Console could not say whether the token is
    good, so the Check passes and the steps meet the fault with their own retries."""
    news = {"name": "first", "models": ["openai/gpt-5.2", "openai/gpt-5.2"], "maxUsage": 10.0}
    result = first_check(CONFIG, news)
    assert result["failures"] == []
    assert result["inputs"] == {
        "name": "first",
        "type": "api",
        "models": ["openai/gpt-5.2"],
        "maxUsage": 10,
        "active": True,
    }
    assert "pulumi_edgee.session" in result["loaded"]  # the access check was made


@pytest.mark.slow
def test_a_first_check_still_fails_bad_input_and_bad_settings() -> None:
    bad_input = first_check(CONFIG, {"name": "", "maxUsage": 0})
    assert {prop for prop, _ in bad_input["failures"]} == {"name", "max_usage"}
    bad_url = first_check({**CONFIG, "edgee:consoleUrl": "http://api.example.com"}, {"name": "k"})
    [(prop, reason)] = bad_url["failures"]
    assert prop == ""
    assert "https://" in reason
    assert "edgee:consoleUrl" in reason
    bad_token = first_check({**CONFIG, "edgee:apiToken": "tok\u00e9n"}, {"name": "k"})
    [(prop, reason)] = bad_token["failures"]
    assert "printable ASCII" in reason
    assert "edgee:apiToken" in reason
    assert "tok\u00e9n" not in reason
    # Unusable settings are found without the network (no client loaded).
    assert bad_url["loaded"] == bad_token["loaded"] == []


@pytest.mark.slow
def test_a_first_check_that_adopts_loads_the_client_it_needs() -> None:
    # Adoption is checked against the live key at preview: the one Check that needs it.
    result = first_check(CONFIG, {"name": "k", "adoptId": "key_" + "a" * 24})
    assert "pulumi_edgee.console.client" in result["loaded"]
