"""Keys through the dynamic resource, for the guardrails pack.

Config `variant`: `violating` (each key breaks exactly one rule), `compliant` (the same keys
with each fix, and a key's id in a config map), `advisory` (one key breaking only the
advisory rule), `leak` (a key's secret in a config map). The config map stands in for a
destination that stores values in plain text; the test's pack config names its type.
"""

from typing import Any

import pulumi
import pulumi.dynamic

from pulumi_edgee import ApiKey

variant = pulumi.Config().require("variant")
fixed = variant == "compliant"


class _Stored(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult("stored", props)


class ConfigMap(pulumi.dynamic.Resource, module="test", name="ConfigMap"):
    def __init__(self, name: str, data: pulumi.Input[dict[str, str]]) -> None:
        super().__init__(_Stored(), name, {"data": data})


def key(resource: str, **args: Any) -> ApiKey:
    settings: dict[str, Any] = {
        "models": ["openai/gpt-5.2"],
        "max_usage": 100,
        "expires_in_days": 30,
    }
    settings.update(args)
    return ApiKey(resource, **settings)


if variant == "advisory":
    key(
        "agentNoOwner",
        name="agent-no-owner",
        type="coding_agent",
        coding_assistant="claude_code",
    )
elif variant == "leak":
    shared = key("shared", name="svc-shared")
    ConfigMap("sharedConfig", {"EDGEE_KEY": shared.key})
else:
    key("noExpiry", name="svc-no-expiry", expires_in_days=90 if fixed else None)
    key("longExpiry", name="svc-long-expiry", expires_in_days=60 if fixed else 365)
    key("noLimit", name="svc-no-limit", max_usage=100 if fixed else None)
    key("bigLimit", name="svc-big-limit", max_usage=1000 if fixed else 5000)
    key("anyModel", name="svc-any-model", models=["openai/gpt-5.2"] if fixed else None)
    key("offListModel", name="svc-off-list", models=["anthropic/x" if fixed else "mistral/large"])
    key(
        "agentNoOwner",
        name="agent-no-owner",
        type="coding_agent",
        coding_assistant="claude_code",
        email="owner@example.com" if fixed else None,
    )
    key("badName", name="svc-good-name" if fixed else "Bad Name")
    if fixed:  # the key's id is no secret: a plain-text store may hold it
        ConfigMap("sharedConfig", {"EDGEE_KEY_ID": key("shared", name="svc-shared").id})
