"""Guardrails for Edgee keys as a Pulumi CrossGuard policy pack.

Each rule is a row: its name, what it asks, its default enforcement, its parameters
(settable with ``--policy-pack-config``) and a check over a key's properties as the engine
hands them to a policy (wire names: the same for the dynamic resource and
``edgee:index:ApiKey``). The checks are plain functions, testable without the engine;
`policies` turns the rows into ``pulumi_policy`` objects (imported only then: the
``policy`` extra installs it). ``policy/__main__.py`` in the repository serves the pack.

CrossGuard hands a policy plain values, with Pulumi's secret marks removed, and shows a
resource policy no stack outputs: the pack can see a key's secret in any resource's inputs,
but not whether a value is encrypted in the state. So `edgee-key-kept-secret` checks where a
secret goes (a destination that stores values in plain text, recognised by the secret's
shape) before that resource is made; docs/guides/guardrails.md says what covers outputs.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .registry import STATE_TYPES

if TYPE_CHECKING:
    from pulumi_policy import ResourceValidationPolicy

PACK_NAME = "edgee-guardrails"

Enforcement = Literal["mandatory", "advisory", "disabled"]
Config = Mapping[str, Any]
Properties = Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """One rule over a resource's inputs: ``check`` returns what is wrong and the fix, or
    None. Key rules see every key; the destination rule sees every other resource."""

    name: str
    description: str
    enforcement: Enforcement
    parameters: dict[str, dict[str, Any]]  # JSON Schema of each parameter
    check: Callable[[Properties, Config], str | None]
    on_keys: bool = True

    def applies(self, resource_type: str) -> bool:
        return (resource_type in STATE_TYPES) == self.on_keys

    def settings(self, config: Config | None) -> dict[str, Any]:
        """The parameters' defaults overlaid with what the pack's config sets."""
        defaults = {k: v["default"] for k, v in self.parameters.items() if "default" in v}
        return {**defaults, **(config or {})}


def _number(value: Any) -> int | float:
    """A number as the engine gives it (every number crosses the wire as a double)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _expires(props: Properties, config: Config) -> str | None:
    most = _number(config["maxDays"])
    days = props.get("expiresInDays")
    if days is None:
        return f"expiresInDays is not set, so the key never expires; set it to at most {most}."
    if days > most:
        return f"expiresInDays is {_number(days)}, more than {most}; set it to at most {most}."
    return None


def _usage_limit(props: Properties, config: Config) -> str | None:
    most = config.get("maxUsage")
    limit = props.get("maxUsage")
    at_most = "" if most is None else f" (at most {_number(most)})"
    if limit is None:
        return (
            f"maxUsage is not set, so the key's monthly usage is unlimited; set maxUsage{at_most}."
        )
    if most is not None and limit > most:
        most = _number(most)
        return f"maxUsage is {_number(limit)}, more than {most}; set it to at most {most}."
    return None


def _models(props: Properties, config: Config) -> str | None:
    allowed: Sequence[str] = config["allowedModels"]
    models = list(props.get("models") or [])
    shown = ", ".join(allowed)
    if not models:
        return (
            "models is empty, so the key may call every model; "
            f"list the models it needs (allowed: {shown})."
        )
    outside = [m for m in models if not any(fnmatch.fnmatchcase(m, p) for p in allowed)]
    if outside:
        return (
            f"models has {', '.join(outside)}, which no allowed pattern matches ({shown}); "
            "remove it or ask for the pattern to be allowed."
        )
    return None


def _agent_owner(props: Properties, config: Config) -> str | None:
    if props.get("type") == "coding_agent" and not props.get("email"):
        return "this coding_agent key names no owner; set email to the address of its user."
    return None


def _name(props: Properties, config: Config) -> str | None:
    pattern = config["pattern"]
    name = props.get("name")
    if isinstance(name, str) and re.fullmatch(pattern, name) is None:
        return f"name {name!r} does not match {pattern!r}; rename the key to match."
    return None


# Destinations that keep what they are given in plain text: a resource type, and when only
# some of its resources do, the property values that make them plain.
PLAIN_TEXT_DESTINATIONS: tuple[dict[str, Any], ...] = (
    {"type": "kubernetes:core/v1:ConfigMap"},
    {"type": "kubernetes:core/v1:ConfigMapPatch"},
    {"type": "aws:ssm/parameter:Parameter", "when": {"type": ["String", "StringList"]}},
    {"type": "github:index:ActionsVariable"},
    {"type": "github:index:ActionsOrganizationVariable"},
    {"type": "github:index:ActionsEnvironmentVariable"},
)
# What an Edgee key's secret looks like (`ek_live_...`; the emulator's are `ek_test_...`).
KEY_SECRET_PATTERN = re.compile(r"ek_(?:live|test)_[A-Za-z0-9]{16,}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, Sequence):
        for item in value:
            yield from _strings(item)


def _plain_text_destination(props: Properties, config: Config) -> str | None:
    resource_type = props[TYPE_KEY]
    for destination in config["plainTextDestinations"]:
        if destination.get("type") != resource_type:
            continue
        when: Mapping[str, Sequence[Any]] = destination.get("when") or {}
        if not all(props.get(prop) in values for prop, values in when.items()):
            continue
        inputs = {k: v for k, v in props.items() if k != TYPE_KEY}
        if any(KEY_SECRET_PATTERN.search(text) for text in _strings(inputs)):
            return (
                f"it is given an Edgee key's secret, which {resource_type} stores in plain "
                "text; give the secret to a destination that encrypts it (a Kubernetes "
                "Secret, a SecureString parameter, an Actions secret) instead."
            )
    return None


# The resource type, put among the properties the destination rule checks.
TYPE_KEY = "__type"

RULES: tuple[Rule, ...] = (
    Rule(
        "edgee-key-expires",
        "Every Edgee key expires within maxDays days.",
        "mandatory",
        {"maxDays": {"type": "integer", "minimum": 1, "default": 90}},
        _expires,
    ),
    Rule(
        "edgee-key-usage-limit",
        "Every Edgee key has a monthly usage limit, at most maxUsage when that is set.",
        "mandatory",
        {"maxUsage": {"type": "number", "minimum": 0}},
        _usage_limit,
    ),
    Rule(
        "edgee-key-models",
        "Every Edgee key lists its models, each matching an allowedModels pattern.",
        "disabled",
        {
            "allowedModels": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["*/*"],
                "description": "shell-style patterns, e.g. openai/* or anthropic/claude-*",
            }
        },
        _models,
    ),
    Rule(
        "edgee-agent-key-owner",
        "Every coding_agent key names its owner's email.",
        "advisory",
        {},
        _agent_owner,
    ),
    Rule(
        "edgee-key-name",
        "Every Edgee key's name matches pattern.",
        "disabled",
        {
            "pattern": {
                "type": "string",
                "default": ".*",
                "description": "a Python regular expression",
            }
        },
        _name,
    ),
    Rule(
        "edgee-key-kept-secret",
        "An Edgee key's secret goes to no destination that stores it in plain text.",
        "mandatory",
        {
            "plainTextDestinations": {
                "type": "array",
                "items": {"type": "object"},
                "default": list(PLAIN_TEXT_DESTINATIONS),
                "description": '{"type": TOKEN} or {"type": TOKEN, "when": {PROPERTY: [VALUES]}}',
            }
        },
        _plain_text_destination,
        on_keys=False,
    ),
)


def policies() -> list[ResourceValidationPolicy]:
    """The rules as CrossGuard policies."""
    from pulumi_policy import (  # the `policy` extra: only packs need it
        EnforcementLevel,
        PolicyConfigSchema,
        ReportViolation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
    )
    from pulumi_policy.proxy import UnknownValueError

    def known(value: Any) -> Any:
        """Properties as plain values, the unknown ones (a preview's) left out."""
        if isinstance(value, str) or not isinstance(value, Mapping | Sequence):
            return value
        keys = list(value) if isinstance(value, Mapping) else range(len(value))
        plain: dict[Any, Any] = {}
        for k in keys:
            try:
                plain[k] = known(value[k])
            except UnknownValueError:
                continue
        return plain if isinstance(value, Mapping) else list(plain.values())

    levels = {
        "mandatory": EnforcementLevel.MANDATORY,
        "advisory": EnforcementLevel.ADVISORY,
        "disabled": EnforcementLevel.DISABLED,
    }

    def resource_policy(rule: Rule) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if not rule.applies(args.resource_type):
                return
            # A key rule reads its properties (an unknown one stops it, and the engine says
            # so); the destination rule reads every known string.
            props = (
                args.props if rule.on_keys else {**known(args.props), TYPE_KEY: args.resource_type}
            )
            problem = rule.check(props, rule.settings(args.get_config()))
            if problem is not None:
                what = "key" if rule.on_keys else "resource"
                report(f"{what} {args.name!r}: {problem}", None)

        return ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=validate,
            enforcement_level=levels[rule.enforcement],
            config_schema=PolicyConfigSchema(properties=dict(rule.parameters)),
        )

    return [resource_policy(rule) for rule in RULES]


def serve(config: Mapping[str, Any] | None = None) -> None:
    """Serve the pack to the engine until it stops the process (``policy/__main__.py``).
    ``config`` sets initial enforcement levels and parameters, as ``--policy-pack-config``
    does, for a team that serves the pack from a program of its own."""
    from pulumi_policy import EnforcementLevel, PolicyPack  # the `policy` extra

    PolicyPack(
        name=PACK_NAME,
        enforcement_level=EnforcementLevel.ADVISORY,
        policies=list(policies()),
        initial_config=dict(config) if config else None,
    )
