"""The programs of docs/guides/delivering-the-secret.md: the `edgee` parts against
schema.json, the references between resources, and the guardrails pack's view of each
destination (every one keeps the secret; a ConfigMap would not)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from pulumi_edgee.policy import RULES, TYPE_KEY

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guides" / "delivering-the-secret.md"
SCHEMA: dict[str, Any] = json.loads((ROOT / "schema.json").read_text())
SECRET = "ek_live_" + "Q1w2E3r4T5y6U7i8O9p0"
(DESTINATION_RULE,) = [r for r in RULES if not r.on_keys]


def programs() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    return [yaml.safe_load(block) for block in blocks]


def edgee_token(type_name: str) -> str | None:
    parts = type_name.split(":")
    if parts[0] != "edgee":
        return None
    return f"edgee:index:{parts[-1]}"


def refused(resource_type: str, props: dict[str, Any]) -> bool:
    checked = {**props, TYPE_KEY: resource_type}
    return DESTINATION_RULE.check(checked, DESTINATION_RULE.settings(None)) is not None


def test_each_destination_gets_the_secret_and_keeps_it() -> None:
    destinations = 0
    for program in programs():
        resources: dict[str, Any] = program.get("resources") or {}
        keys = set()
        for name, resource in resources.items():
            token = edgee_token(resource["type"])
            if token is None:
                continue
            declared = SCHEMA["resources"][token]
            assert set(resource["properties"]) <= set(declared["inputProperties"])
            assert set(declared.get("requiredInputs", [])) <= set(resource["properties"])
            keys.add(name)
        for name, resource in resources.items():
            if edgee_token(resource["type"]) is not None:
                continue
            text = json.dumps(resource.get("properties", {}))
            for owner, prop in re.findall(r"\$\{(\w+)\.(\w+)\}", text):
                assert owner in resources, f"{name} refers to {owner}, not in the program"
                if owner in keys:
                    outputs = SCHEMA["resources"]["edgee:index:ApiKey"]["properties"]
                    assert prop in {*outputs, "id"}, f"{name}: {owner}.{prop} is no output"
            if not any(f"${{{key}.key}}" in text for key in keys):
                continue
            destinations += 1
            # The pack sees the secret in place of the reference, as at `up`.
            with_secret = json.loads(re.sub(r"\$\{\w+\.key\}", SECRET, text))
            assert not refused(resource["type"], with_secret), f"{name} would be refused"
            assert refused("kubernetes:core/v1:ConfigMap", {"data": with_secret})
    assert destinations == 3  # Kubernetes, AWS, GitHub


def test_the_esc_environment_reads_the_stacks_secret_output() -> None:
    blocks = programs()
    (exported,) = [p for p in blocks if set(p) == {"outputs"}]
    (environment,) = [p for p in blocks if "values" in p]
    output = next(iter(exported["outputs"]))
    assert exported["outputs"][output] == "${backendKey.key}"
    reference = environment["values"]["environmentVariables"]["EDGEE_API_KEY"]
    assert reference.endswith(f".{output}}}")
