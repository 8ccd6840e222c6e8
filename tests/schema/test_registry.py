"""The registry is what the schema, the plugin and the dynamic resource serve."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_edgee import ApiKey
from pulumi_edgee.registry import RESOURCES, STATE_TYPES, Lifecycle

ROOT = Path(__file__).resolve().parents[2]


def test_schema_describes_exactly_the_registrys_resources() -> None:
    schema = json.loads((ROOT / "schema.json").read_text())
    assert set(schema["resources"]) == {r.token for r in RESOURCES}
    for row in RESOURCES:
        described = schema["resources"][row.token]
        assert set(described["properties"]) == {p.wire for p in row.props}
        assert set(described["inputProperties"]) == {p.wire for p in row.input_props}


def test_each_row_names_a_lifecycle_with_every_step() -> None:
    steps = [name for name in vars(Lifecycle) if not name.startswith("_")]
    assert sorted(steps) == [
        "check",
        "create",
        "delete",
        "diff",
        "preview_update",
        "read",
        "update",
    ]
    for row in RESOURCES:
        lifecycle = row.lifecycle()
        assert all(callable(getattr(lifecycle, step)) for step in steps), row.name


def test_the_dynamic_resource_registers_under_its_rows_token() -> None:
    (row,) = [r for r in RESOURCES if r.name == "ApiKey"]
    assert f"pulumi-python:{ApiKey._resource_type_name}" == row.dynamic_token
    assert {row.token, row.dynamic_token} <= STATE_TYPES
