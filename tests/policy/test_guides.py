"""The guardrails and auditing guides, their example config and CI workflow files, checked
against the code for what can be checked offline."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pulumi_edgee.policy import KEY_SECRET_PATTERN, RULES
from pulumi_edgee.report import FINDINGS, _parser

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"
LEVELS = {"mandatory", "advisory", "disabled"}


def table_rows(page: str, first_cell: str) -> list[list[str]]:
    """The cells of a Markdown table's rows whose first cell starts with ``first_cell``."""
    rows = []
    for line in (GUIDES / page).read_text().splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith(first_cell):
            rows.append(cells)
    return rows


def run_steps(workflow: str) -> list[str]:
    document: dict[str, Any] = yaml.safe_load((GUIDES / "workflows" / workflow).read_text())
    (job,) = document["jobs"].values()
    return [step["run"] for step in job["steps"] if "run" in step]


def test_rule_table_is_the_packs_rules() -> None:
    rows = {cells[0].strip("`"): cells for cells in table_rows("guardrails.md", "`edgee-")}
    assert list(rows) == [r.name for r in RULES]
    for rule in RULES:
        _, _, default, parameters = rows[rule.name]
        assert default == rule.enforcement
        for name in rule.parameters:
            assert f"`{name}`" in parameters


def test_example_config_fits_the_packs_schemas() -> None:
    config = json.loads((GUIDES / "edgee-policy-config.json").read_text())
    by_name = {r.name: r for r in RULES}
    assert set(config) <= set(by_name)
    for name, value in config.items():
        if isinstance(value, str):
            assert value in LEVELS
            continue
        settings = dict(value)
        assert settings.pop("enforcementLevel", "mandatory") in LEVELS
        schema = {
            "type": "object",
            "properties": by_name[name].parameters,
            "additionalProperties": False,
        }
        jsonschema.validate(settings, schema)


def test_findings_table_is_the_vocabulary() -> None:
    assert [cells[0].strip("`") for cells in table_rows("auditing.md", "`")] == list(FINDINGS)


def test_guardrails_workflow_runs_the_pack_on_preview_and_checks_outputs() -> None:
    preview, outputs = [s for s in run_steps("edgee-guardrails.yml") if "pulumi" in s]
    words = shlex.split(preview)
    assert words[:2] == ["pulumi", "preview"]
    assert words[words.index("--policy-pack") + 1] == "policy/"
    assert words[words.index("--policy-pack-config") + 1] == "edgee-policy.json"
    (pattern,) = re.findall(r"grep -E '([^']+)'", outputs)
    secret = "ek_test_" + "x1" * 20
    assert re.search(pattern, json.dumps({"backendKey": secret}))
    assert not re.search(pattern, json.dumps({"backendKey": "[secret]", "id": "key_abc"}))
    assert KEY_SECRET_PATTERN.search(secret)


def test_audit_workflow_runs_a_report_the_tool_accepts() -> None:
    steps = run_steps("edgee-key-audit.yml")
    (command,) = [s for s in steps if "pulumi_edgee.report" in s]
    words = shlex.split(command.split(">")[0])
    assert words[:3] == ["python", "-m", "pulumi_edgee.report"]
    args = _parser().parse_args(words[3:])
    assert set(args.fail_on) == {"expired", "leftover", "unmanaged"}
    exported = {w.split("--file ")[-1] for w in steps if "pulumi stack export" in w}
    assert exported  # the exports the report reads are made in the same job
    commands = [line for s in steps for line in s.splitlines() if not line.strip().startswith("#")]
    assert all("--show-secrets" not in line for line in commands)
    assert [str(p) for p in args.stack_export] == ["exports/prod.json", "exports/staging.json"]


def test_gitops_workflow_runs_the_guides_commands() -> None:
    steps = run_steps("edgee-gitops.yml")
    commands = [shlex.split(s) for s in steps if s.startswith("pulumi ")]
    without_stack = [
        [w for i, w in enumerate(c) if w != "--stack" and c[i - 1] != "--stack"] for c in commands
    ]
    guide = (GUIDES / "gitops.md").read_text()
    (block,) = re.findall(r"```bash\n(.*?)```", guide, re.DOTALL)
    documented = [shlex.split(line.split("#")[0]) for line in block.strip().splitlines()]
    assert without_stack == documented
    drift = documented[-1]
    assert drift[:2] == ["pulumi", "preview"]
    assert {"--refresh", "--expect-no-changes"} <= set(drift)
    assert "--refresh" in documented[1]  # a merge repairs drift too
