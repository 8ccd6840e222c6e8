"""The YAML and TypeScript examples use only what schema.json declares: resource types,
their input properties (required ones present, enum values allowed), output properties,
function names, their arguments and results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA: dict[str, Any] = json.loads((ROOT / "schema.json").read_text(encoding="utf-8"))
PACKAGE = SCHEMA["name"]
# Every resource has these besides its declared outputs.
RESOURCE_BUILTINS = {"id", "urn"}


def token(name: str) -> str:
    """`edgee:ApiKey` (YAML's short form) or `ApiKey` -> `edgee:index:ApiKey`."""
    parts = name.split(":")
    if len(parts) == 1:
        return f"{PACKAGE}:index:{name}"
    if len(parts) == 2:
        return f"{parts[0]}:index:{parts[1]}"
    return name


def check_resource(type_token: str, props: dict[str, Any]) -> dict[str, Any]:
    assert type_token in SCHEMA["resources"], f"{type_token} is not in schema.json"
    resource: dict[str, Any] = SCHEMA["resources"][type_token]
    inputs = resource["inputProperties"]
    assert set(props) <= set(inputs), f"{type_token}: unknown {set(props) - set(inputs)}"
    assert set(resource.get("requiredInputs", [])) <= set(props)
    for name, value in props.items():
        ref = inputs[name].get("$ref", "")
        if ref.startswith("#/types/"):
            allowed = [e["value"] for e in SCHEMA["types"][ref.removeprefix("#/types/")]["enum"]]
            assert value in allowed, f"{type_token}.{name}: {value!r} not in {allowed}"
    return resource


def check_function(function_token: str, args: dict[str, Any]) -> dict[str, Any]:
    assert function_token in SCHEMA["functions"], f"{function_token} is not in schema.json"
    function: dict[str, Any] = SCHEMA["functions"][function_token]
    declared = function["inputs"]["properties"]
    assert set(args) <= set(declared), f"{function_token}: unknown {set(args) - set(declared)}"
    return function


def test_yaml_example_matches_the_schema() -> None:
    program = yaml.safe_load((ROOT / "examples/yaml/Pulumi.yaml").read_text(encoding="utf-8"))
    assert program["runtime"] == "yaml"
    # The header's install commands name this version's tarball (the engine tests run the
    # program itself with the plugin on PATH).
    text = (ROOT / "examples/yaml/Pulumi.yaml").read_text(encoding="utf-8")
    assert "python scripts/bundle_plugin.py --out dist" in text
    tarball = f"pulumi-resource-edgee-v{SCHEMA['version']}-linux-amd64.tar.gz"
    assert f"pulumi plugin install resource edgee {SCHEMA['version']} --file dist/{tarball}" in text

    outputs: dict[str, set[str]] = {}
    for name, resource in program["resources"].items():
        declared = check_resource(token(resource["type"]), resource.get("properties", {}))
        outputs[name] = set(declared["properties"]) | RESOURCE_BUILTINS
    invoked = set()
    for name, variable in program["variables"].items():
        invoke = variable["fn::invoke"]
        function = check_function(token(invoke["function"]), invoke.get("arguments", {}))
        results = set(function["outputs"]["properties"])
        invoked.add(token(invoke["function"]))
        if "return" in invoke:
            assert invoke["return"] in results
            results = set()
        outputs[name] = results
    assert invoked == set(SCHEMA["functions"]), "the example shows every function"

    references = re.findall(r"\$\{(\w+)\.(\w+)\}", json.dumps(program["outputs"]))
    assert references
    for owner, prop in references:
        assert prop in outputs[owner], f"${{{owner}.{prop}}} is not an output"


def _object_keys(body: str) -> dict[str, str]:
    """`name: value,` pairs of a flat TypeScript object literal."""
    return dict(re.findall(r"(\w+):\s*([^,\n]+)", body))


def _literal(value: str) -> Any:
    value = value.strip()
    return json.loads(value) if value.startswith('"') else value


def test_typescript_example_matches_the_schema() -> None:
    source = (ROOT / "examples/typescript/index.ts").read_text(encoding="utf-8")
    package = json.loads((ROOT / "examples/typescript/package.json").read_text(encoding="utf-8"))
    assert f"@pulumi/{PACKAGE}" in package["dependencies"]
    assert f'from "@pulumi/{PACKAGE}"' in source

    outputs: dict[str, set[str]] = {}
    resources = re.findall(
        r"const (\w+) = new edgee\.(\w+)\(\"[\w-]+\", \{(.*?)\}\);", source, re.DOTALL
    )
    assert resources
    for const, name, body in resources:
        props = {k: _literal(v) for k, v in _object_keys(body).items()}
        declared = check_resource(token(name), props)
        outputs[const] = set(declared["properties"]) | RESOURCE_BUILTINS
    calls = re.findall(r"const (\w+) = edgee\.(\w+?)(?:Output)?\(\{(.*?)\}\);", source)
    assert {token(function) for _, function, _ in calls} == set(SCHEMA["functions"])
    for const, function, body in calls:
        declared_function = check_function(token(function), _object_keys(body))
        outputs[const] = set(declared_function["outputs"]["properties"])

    accesses = re.findall(r"\b(\w+)\.(\w+)\b", source)
    used = [(owner, prop) for owner, prop in accesses if owner in outputs]
    assert used
    for owner, prop in used:
        assert prop in outputs[owner], f"{owner}.{prop} is not an output"


# How each example names the schema's resources and functions: YAML by token
# (`edgee:ApiKey`), the SDKs by name (`new edgee.ApiKey`, `edgee.getApiKeyOutput`,
# `edgee.NewApiKey`, `edgee.LookupApiKey`), as the code generators spell them.
REFERENCES = {
    "yaml": (r"\bedgee:(?:index:)?(\w+)\b", lambda found: found),
    "typescript": (
        r"\bedgee\.(\w+)\b",
        lambda found: found.removesuffix("Output"),
    ),
    "go": (
        r"\bedgee\.(\w+)\b",
        lambda found: found.removeprefix("New").replace("Lookup", "get", 1).removesuffix("Output"),
    ),
}
CONFIG_NAMES = {"apiToken", "organizationId", "consoleUrl"}


@pytest.mark.parametrize("example", sorted(REFERENCES))
def test_examples_reference_only_schema_tokens(example: str) -> None:
    """Every resource and function an example uses is in schema.json (typos fail here),
    and each example declares at least the resource."""
    pattern, name_of = REFERENCES[example]
    files = [
        p for p in (ROOT / "examples" / example).iterdir() if p.suffix in {".yaml", ".ts", ".go"}
    ]
    text = "".join(p.read_text(encoding="utf-8") for p in files)
    known = set(SCHEMA["resources"]) | set(SCHEMA["functions"])
    used = {
        token(name_of(found))
        for found in re.findall(pattern, text)
        if found not in CONFIG_NAMES and not found.endswith(("Args", "Result", "Input"))
    }
    assert used <= known, used - known
    assert token("ApiKey") in used
