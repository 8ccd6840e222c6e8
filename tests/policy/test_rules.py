"""Each guardrail rule on a violating and a compliant key, and the CrossGuard adapter as the
engine's analyzer calls it (properties behind pulumi_policy's unknown-checking proxy).
The pack under the real CLI: tests/engine/test_policy_pack.py."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_edgee.policy import RULES, TYPE_KEY, Rule

pulumi_policy = pytest.importorskip("pulumi_policy", reason="the `policy` extra is not installed")

from pulumi_policy import (  # noqa: E402 - after the skip
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy  # noqa: E402

from pulumi_edgee.policy import policies  # noqa: E402

SECRET = "ek_live_" + "A1b2C3d4E5f6G7h8I9j0"
GOOD: dict[str, Any] = {
    "name": "svc-search",
    "type": "api",
    "models": ["openai/gpt-5.2"],
    "maxUsage": 100.0,
    "expiresInDays": 30.0,
}


def rule(name: str) -> Rule:
    return next(r for r in RULES if r.name == name)


def check(name: str, props: dict[str, Any], **config: Any) -> str | None:
    chosen = rule(name)
    return chosen.check(props, chosen.settings(config))


# (rule, changes to a compliant key, pack config, what the message says; None: compliant)
CASES = [
    ("edgee-key-expires", {}, {}, None),
    ("edgee-key-expires", {"expiresInDays": 90.0}, {}, None),
    ("edgee-key-expires", {"expiresInDays": None}, {}, "not set, so the key never expires"),
    ("edgee-key-expires", {"expiresInDays": 91.0}, {}, "is 91, more than 90; set it to at most 90"),
    ("edgee-key-expires", {"expiresInDays": 31.0}, {"maxDays": 30.0}, "at most 30"),
    ("edgee-key-usage-limit", {}, {}, None),
    ("edgee-key-usage-limit", {"maxUsage": 10**9}, {}, None),
    ("edgee-key-usage-limit", {"maxUsage": None}, {}, "usage is unlimited; set maxUsage."),
    ("edgee-key-usage-limit", {"maxUsage": None}, {"maxUsage": 50}, "set maxUsage (at most 50)"),
    ("edgee-key-usage-limit", {"maxUsage": 100.0}, {"maxUsage": 100}, None),
    ("edgee-key-usage-limit", {"maxUsage": 101.0}, {"maxUsage": 100}, "is 101, more than 100"),
    ("edgee-key-models", {}, {}, None),
    ("edgee-key-models", {"models": []}, {}, "models is empty"),
    ("edgee-key-models", {"models": None}, {}, "models is empty"),
    (
        "edgee-key-models",
        {"models": ["openai/gpt-5.2", "mistral/large"]},
        {"allowedModels": ["openai/*"]},
        "models has mistral/large, which no allowed pattern matches (openai/*)",
    ),
    ("edgee-key-models", {"models": ["openai/gpt-5.2"]}, {"allowedModels": ["openai/*"]}, None),
    ("edgee-agent-key-owner", {"type": "coding_agent"}, {}, "names no owner; set email"),
    ("edgee-agent-key-owner", {"type": "coding_agent", "email": "a@example.com"}, {}, None),
    ("edgee-agent-key-owner", {"type": "api"}, {}, None),
    ("edgee-key-name", {"name": "Any Name"}, {}, None),
    ("edgee-key-name", {"name": "Bad Name"}, {"pattern": "svc-.+"}, "'Bad Name' does not match"),
    ("edgee-key-name", {"name": "svc-x"}, {"pattern": "svc-.+"}, None),
    # A pattern must match the whole name.
    ("edgee-key-name", {"name": "svc-x!"}, {"pattern": "svc-[a-z]+"}, "does not match"),
]


@pytest.mark.parametrize(("name", "changes", "config", "says"), CASES)
def test_key_rule(
    name: str, changes: dict[str, Any], config: dict[str, Any], says: str | None
) -> None:
    props = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    problem = check(name, props, **config)
    if says is None:
        assert problem is None
    else:
        assert problem is not None
        assert says in problem, problem


DESTINATIONS = [
    ("kubernetes:core/v1:ConfigMap", {"data": {"EDGEE_KEY": SECRET}}, True),
    ("kubernetes:core/v1:ConfigMap", {"data": {"EDGEE_KEY_ID": "key_123"}}, False),
    ("kubernetes:core/v1:Secret", {"stringData": {"EDGEE_KEY": SECRET}}, False),
    # Inside a longer value (an env file), in a list.
    ("kubernetes:core/v1:ConfigMap", {"data": {"env": [f"EDGEE_KEY={SECRET}\n"]}}, True),
    ("aws:ssm/parameter:Parameter", {"type": "String", "value": SECRET}, True),
    ("aws:ssm/parameter:Parameter", {"type": "SecureString", "value": SECRET}, False),
    ("github:index:ActionsVariable", {"value": SECRET}, True),
    ("github:index:ActionsSecret", {"plaintextValue": SECRET}, False),
]


@pytest.mark.parametrize(("resource_type", "props", "refused"), DESTINATIONS)
def test_kept_secret_rule(resource_type: str, props: dict[str, Any], refused: bool) -> None:
    problem = check("edgee-key-kept-secret", {**props, TYPE_KEY: resource_type})
    assert (problem is not None) == refused, problem
    if problem is not None:
        assert SECRET not in problem
        assert resource_type in problem


def validate(
    policy_name: str, resource_type: str, props: dict[str, Any], config: dict[str, Any] | None
) -> list[str]:
    """What a policy reports for one resource, called as the analyzer calls it."""
    (policy,) = [p for p in policies() if p.name == policy_name]
    args = ResourceValidationArgs(
        resource_type,
        unknown_checking_proxy(props),
        f"urn:pulumi:dev::p::{resource_type}::res",
        "res",
        PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
        None,
        config,
        {},
    )
    reported: list[str] = []
    policy.validate(args, lambda message, urn: reported.append(message))
    return reported


def test_policies_are_one_per_rule_with_its_enforcement() -> None:
    built = {p.name: p.enforcement_level.value for p in policies()}
    assert built == {r.name: r.enforcement for r in RULES}


def test_key_policy_sees_both_front_doors_and_nothing_else() -> None:
    props = {**GOOD, "expiresInDays": 365.0}
    for key_type in ("edgee:index:ApiKey", "pulumi-python:dynamic/edgee:ApiKey"):
        (message,) = validate("edgee-key-expires", key_type, props, None)
        assert message.startswith("key 'res': expiresInDays is 365")
    assert validate("edgee-key-expires", "pulumi-python:dynamic/other:Thing", props, None) == []


def test_policy_config_overlays_the_defaults() -> None:
    props = {**GOOD, "expiresInDays": 60.0}
    assert validate("edgee-key-expires", "edgee:index:ApiKey", props, None) == []
    assert validate("edgee-key-expires", "edgee:index:ApiKey", props, {"maxDays": 30}) != []


def test_destination_policy_reads_known_values_and_skips_unknown_ones() -> None:
    """At preview a new key's secret is unknown: nothing to refuse yet, and no error."""
    unknown = {"data": {"EDGEE_KEY": UNKNOWN_STRING_VALUE}}
    assert validate("edgee-key-kept-secret", "kubernetes:core/v1:ConfigMap", unknown, None) == []
    known = {"data": {"EDGEE_KEY": SECRET, "other": UNKNOWN_STRING_VALUE}}
    (message,) = validate("edgee-key-kept-secret", "kubernetes:core/v1:ConfigMap", known, None)
    assert message.startswith("resource 'res': it is given an Edgee key's secret")
    assert SECRET not in message
