"""The programs and commands of the README and every docs page hold to the code: Python
programs parse and call the package with arguments it takes; the command-line tools'
command lines parse with the tools' own parsers; the guardrails page's pack files are the
repository's. (Reference pages and the secret-delivery guide are checked against
`schema.json` by tests/plugin and tests/policy; the testing guide's example runs in
tests/harness; the reference pages' Go compiles in tests/engine.)"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

import pulumi_edgee
from pulumi_edgee import ApiKeyArgs, RotatingApiKeyArgs

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ACCEPTED = {
    "ApiKey": set(ApiKeyArgs.__dataclass_fields__),
    "RotatingApiKey": set(RotatingApiKeyArgs.__dataclass_fields__),
    "get_api_key": set(inspect.signature(pulumi_edgee.get_api_key).parameters),
    "get_api_keys": set(inspect.signature(pulumi_edgee.get_api_keys).parameters),
}
TOOLS = ("adopt", "report", "emulator")


def blocks(*languages: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for language in languages:
            for block in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL):
                found.append((str(page.relative_to(ROOT)), block))
    return found


@pytest.mark.parametrize(("page", "block"), blocks("python"))
def test_python_programs_parse_and_call_the_package_as_it_is(page: str, block: str) -> None:
    tree = ast.parse(block, filename=page)
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            accepted = ACCEPTED.get(call.func.id)
            if accepted is not None:
                keywords = {k.arg for k in call.keywords if k.arg is not None}
                assert keywords <= accepted, (
                    f"{page}: {call.func.id}() takes no {keywords - accepted}"
                )
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi_edgee"):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                assert hasattr(module, alias.name), f"{page}: {node.module} has no {alias.name}"


def tool_lines() -> list[tuple[str, str, list[str]]]:
    found = []
    for page, block in blocks("bash", "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split("#")[0].split(">")[0].split("&")[0].strip()
            words = shlex.split(command) if command else []
            for tool in TOOLS:
                prefix = ["python", "-m", f"pulumi_edgee.{tool}"]
                if words[: len(prefix)] == prefix:
                    found.append((page, tool, words[len(prefix) :]))
    return found


@pytest.mark.parametrize(("page", "tool", "args"), tool_lines())
def test_tool_command_lines_parse(page: str, tool: str, args: list[str]) -> None:
    module = "pulumi_edgee.emulator.__main__" if tool == "emulator" else f"pulumi_edgee.{tool}"
    parser = importlib.import_module(module)._parser()
    literal = [a for a in args if not a.startswith("<") and "..." not in a and "[" not in a]
    parser.parse_args(literal)  # SystemExit (exit code 2) on a flag the tool does not take


def test_every_tool_is_shown() -> None:
    assert {tool for _, tool, _ in tool_lines()} == set(TOOLS)


def test_the_guardrails_page_shows_the_repositorys_pack() -> None:
    page = (ROOT / "docs" / "guides" / "guardrails.md").read_text()
    (pack_yaml,) = re.findall(r"```yaml\n(.*?)```", page, re.DOTALL)
    ours = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert yaml.safe_load(pack_yaml)["runtime"] == ours["runtime"]
    (pack_main,) = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    code = ast.dump(ast.parse(pack_main))
    repository = ast.parse((ROOT / "policy" / "__main__.py").read_text())
    repository.body = [
        n
        for n in repository.body
        if not isinstance(n, ast.Expr) or not isinstance(n.value, ast.Constant)
    ]
    assert code == ast.dump(repository)
    (config,) = re.findall(r"```json\n(.*?)```", page, re.DOTALL)
    example = json.loads((ROOT / "docs" / "guides" / "edgee-policy-config.json").read_text())
    assert json.loads(config) == example
