"""The reference pages' examples use only what the package declares: YAML and TypeScript
against schema.json (as the examples/ programs are checked), Python against `ApiKey`'s,
`RotatingApiKey`'s and the lookups' signatures. The Go examples are compiled against the
generated SDK by tests/engine/test_plugin_go.py."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import pulumi_edgee
from pulumi_edgee import ApiKeyArgs, RotatingApiKeyArgs

from .test_examples import (
    RESOURCE_BUILTINS,
    SCHEMA,
    _literal,
    check_function,
    check_resource,
    token,
)

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"
PAGES = sorted(REFERENCE.glob("*.md"))


def blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in re.findall(rf"```{language}\n(.*?)```", page.read_text(), re.DOTALL):
            found.append((page.name, block))
    return found


def test_every_reference_page_shows_every_language() -> None:
    for page in PAGES:
        text = page.read_text()
        for language in ("typescript", "yaml", "go"):
            assert f"```{language}\n" in text, f"{page.name} has no {language} example"
        assert "```python\n" in text, f"{page.name} has no Python example"


@pytest.mark.parametrize(("page", "block"), blocks("yaml"))
def test_yaml_examples_match_the_schema(page: str, block: str) -> None:
    program: dict[str, Any] = yaml.safe_load(block)
    outputs: dict[str, set[str]] = {}
    for name, resource in (program.get("resources") or {}).items():
        declared = check_resource(token(resource["type"]), resource.get("properties", {}))
        outputs[name] = set(declared["properties"]) | RESOURCE_BUILTINS
    for name, variable in (program.get("variables") or {}).items():
        invoke = variable["fn::invoke"]
        function = check_function(token(invoke["function"]), invoke.get("arguments", {}))
        outputs[name] = set(function["outputs"]["properties"])
        if "return" in invoke:
            assert invoke["return"] in outputs[name]
            outputs[name] = set()
    for owner, prop in re.findall(r"\$\{(\w+)\.(\w+)\}", yaml.safe_dump(program.get("outputs"))):
        assert prop in outputs[owner], f"{page}: ${{{owner}.{prop}}} is not an output"


@pytest.mark.parametrize(("page", "block"), blocks("typescript"))
def test_typescript_examples_match_the_schema(page: str, block: str) -> None:
    outputs: dict[str, set[str]] = {}
    for const, name, body in re.findall(
        r"const (\w+) = new edgee\.(\w+)\(\"[\w-]+\", \{(.*?)\}\);", block, re.DOTALL
    ):
        props = {k: _literal(v) for k, v in re.findall(r"(\w+):\s*([^,\n]+)", body)}
        declared = check_resource(token(name), props)
        outputs[const] = set(declared["properties"]) | RESOURCE_BUILTINS
    for const, function, body in re.findall(
        r"const (\w+) = edgee\.(\w+?)(?:Output)?\(\{(.*?)\}\);", block
    ):
        args = {k: _literal(v) for k, v in re.findall(r"(\w+):\s*([^,\n]+)", body)}
        outputs[const] = set(check_function(token(function), args)["outputs"]["properties"])
    assert outputs, f"{page}: no resource or function in the TypeScript example"
    for owner, prop in re.findall(r"\b(\w+)\.(\w+)\b", block):
        if owner in outputs:
            assert prop in outputs[owner], f"{page}: {owner}.{prop} is not an output"


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]


@pytest.mark.parametrize(("page", "block"), blocks("python"))
def test_python_examples_use_real_arguments(page: str, block: str) -> None:
    tree = ast.parse(block)
    accepted = {
        "ApiKey": set(ApiKeyArgs.__dataclass_fields__),
        "RotatingApiKey": set(RotatingApiKeyArgs.__dataclass_fields__),
        "get_api_key": set(inspect.signature(pulumi_edgee.get_api_key).parameters),
        "get_api_keys": set(inspect.signature(pulumi_edgee.get_api_keys).parameters),
    }
    seen = False
    for call in _calls(tree):
        name = call.func.id  # type: ignore[attr-defined]
        if name in accepted:
            seen = True
            keywords = {k.arg for k in call.keywords if k.arg is not None}
            assert keywords <= accepted[name], (
                f"{page}: {name}() has no {keywords - accepted[name]}"
            )
    assert seen, f"{page}: the Python example calls nothing of the package"


def test_every_function_and_resource_has_a_reference_page() -> None:
    text = "".join(page.read_text() for page in PAGES)
    for name in [*SCHEMA["resources"], *SCHEMA["functions"]]:
        assert name.rsplit(":", 1)[-1] in text
