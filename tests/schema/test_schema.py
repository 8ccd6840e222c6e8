"""`schema.json`: valid against the Pulumi package metaschema, generated from the current
code, and in step with `properties.PROPS`, `settings.CONFIG_SOURCES` and the resource class.

The metaschema is read from `shared/reference/` beside the repo (see `references`):
without it these tests skip, saying why, and fail in CI.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import MISSING, fields, replace
from pathlib import Path
from typing import Any

import pytest
import regex
from jsonschema import Draft202012Validator
from references import reference

from pulumi_edgee import api_key, provider, registry, settings
from pulumi_edgee import properties as spec
from scripts import generate_schema as gen

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schema.json"
REGENERATE = "run `python scripts/generate_schema.py` and commit schema.json"


# --- the metaschema and its ECMAScript regexes ----------------------------------------
#
# The metaschema's `pattern`s are ECMAScript regexes whose named groups are written
# `(?<name>...)` (e.g. the semver `version` pattern). jsonschema evaluates `pattern` with
# Python's `re` (and checks `"format": "regex"` with `re.compile`), which only accepts
# `(?P<name>...)`, so it would raise `re.error` on them. We translate `(?<name>` to
# `(?P<name>` in an in-memory copy of the metaschema (the file is left untouched), leaving
# lookbehinds `(?<=` / `(?<!` alone, and check with the `regex` module (which accepts the
# ECMAScript spelling) that every translated pattern has the same named groups as the
# original, so that validation runs every pattern for real instead of skipping it.

_ECMA_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?=[A-Za-z_])")


def _translate(pattern: str) -> str:
    return _ECMA_NAMED_GROUP.sub("(?P<", pattern)


def _patterns(node: Any) -> Iterator[str]:
    """Every `pattern` string and `patternProperties` key in a schema document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from value
            yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def _translated(node: Any) -> Any:
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                result[key] = _translate(value)
            elif key == "patternProperties" and isinstance(value, dict):
                result[key] = {_translate(k): _translated(v) for k, v in value.items()}
            else:
                result[key] = _translated(value)
        return result
    if isinstance(node, list):
        return [_translated(item) for item in node]
    return node


@pytest.fixture(scope="module")
def original_metaschema() -> dict[str, Any]:
    path = reference("pulumi-package-metaschema.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def metaschema(original_metaschema: dict[str, Any]) -> dict[str, Any]:
    translated: dict[str, Any] = _translated(original_metaschema)
    Draft202012Validator.check_schema(translated)  # also runs the `regex` format check
    return translated


@pytest.fixture(scope="module")
def validator(metaschema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(metaschema)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_PATH.is_file():
        pytest.fail(f"{SCHEMA_PATH} is missing: {REGENERATE}")
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def resource(schema: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = schema["resources"][gen.RESOURCE_TOKEN]
    return found


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(instance)
    )


# --- (a) valid against the metaschema, and the validation is real ---------------------


def test_translated_patterns_keep_their_meaning(original_metaschema: dict[str, Any]) -> None:
    patterns = list(_patterns(original_metaschema))
    assert patterns, "the metaschema has no patterns: is it the right file?"
    for pattern in patterns:
        # Compiles with `re`, and names the same groups the ECMAScript original does.
        python_pattern = re.compile(_translate(pattern))
        assert python_pattern.groupindex == regex.compile(pattern).groupindex, pattern


def test_semver_pattern_is_enforced_after_translation(metaschema: dict[str, Any]) -> None:
    version = re.compile(metaschema["properties"]["version"]["pattern"])
    assert version.search("0.1.0")
    assert version.search("v1.2.3-alpha.1+build.5")
    assert not version.search("1.2")


def test_schema_json_is_valid(validator: Draft202012Validator, schema: dict[str, Any]) -> None:
    errors = _errors(validator, schema)
    assert not errors, "schema.json is not a valid Pulumi package schema:\n" + "\n".join(errors)


def test_language_python_section_is_valid(
    metaschema: dict[str, Any], schema: dict[str, Any]
) -> None:
    # The metaschema types the top-level `language` only as an object; check it against
    # its own `languageSpec` definition too.
    language = Draft202012Validator({"$defs": metaschema["$defs"], "$ref": "#/$defs/languageSpec"})
    assert not _errors(language, schema["language"])
    assert schema["language"]["python"]["packageName"] == "pulumi_edgee_plugin"  # not this one


def _set_property_type(s: dict[str, Any]) -> None:
    s["resources"][gen.RESOURCE_TOKEN]["properties"]["name"]["type"] = 42


def _set_version(s: dict[str, Any]) -> None:
    s["version"] = "one.two"


def _set_resource_token(s: dict[str, Any]) -> None:
    s["resources"]["ApiKey"] = s["resources"].pop(gen.RESOURCE_TOKEN)


def _set_name(s: dict[str, Any]) -> None:
    s["name"] = "9edgee"


def _add_unknown_top_level_key(s: dict[str, Any]) -> None:
    s["plugins"] = []


def _drop_enum_values(s: dict[str, Any]) -> None:
    del s["types"]["edgee:index:ApiKeyType"]["enum"]


def _set_secret_to_string(s: dict[str, Any]) -> None:
    s["config"]["variables"]["apiToken"]["secret"] = "yes"


def _set_replace_on_changes_to_string(s: dict[str, Any]) -> None:
    s["resources"][gen.RESOURCE_TOKEN]["inputProperties"]["type"]["replaceOnChanges"] = "yes"


def _give_ref_items(s: dict[str, Any]) -> None:
    s["resources"][gen.RESOURCE_TOKEN]["inputProperties"]["type"]["items"] = {"type": "string"}


@pytest.mark.parametrize(
    "breakage",
    [
        _set_property_type,
        _set_version,
        _set_resource_token,
        _set_name,
        _add_unknown_top_level_key,
        _drop_enum_values,
        _set_secret_to_string,
        _set_replace_on_changes_to_string,
        _give_ref_items,
    ],
)
def test_broken_schema_is_rejected(
    validator: Draft202012Validator,
    schema: dict[str, Any],
    breakage: Callable[[dict[str, Any]], None],
) -> None:
    broken = copy.deepcopy(schema)
    breakage(broken)
    assert _errors(validator, broken), f"{breakage.__name__}: the broken copy was accepted"


# --- (b) schema.json is what the code generates -----------------------------------------


def test_schema_json_is_up_to_date(schema: dict[str, Any]) -> None:
    built = gen.build_schema()
    assert schema == built, f"schema.json does not match the code: {REGENERATE}"
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    assert text == gen.render(built), f"schema.json is not formatted as generated: {REGENERATE}"


def test_a_spec_change_makes_schema_json_stale(
    monkeypatch: pytest.MonkeyPatch, schema: dict[str, Any]
) -> None:
    changed = tuple(
        replace(p, description=p.description + " Changed.") if p.wire == "name" else p
        for p in spec.PROPS
    )
    monkeypatch.setattr(registry, "RESOURCES", (replace(registry.API_KEY, props=changed),))
    assert gen.build_schema() != schema


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "schema.json"
    for row in registry.RESOURCES:
        page = gen.reference_page(row)
        (tmp_path / page).write_text((gen.REFERENCE_DIR / page).read_text(encoding="utf-8"))
    files = [
        "--path",
        str(path),
        "--reference-dir",
        str(tmp_path),
        "--plugin-schema",
        str(tmp_path / "plugin-schema.json"),
    ]
    assert gen.main(["--check", *files]) == 1
    assert "is missing" in capsys.readouterr().err

    assert gen.main(files) == 0
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text.startswith('{\n  "config": {\n    "variables"')
    assert gen.main(["--check", *files]) == 0

    path.write_text(text.replace('"Edgee"', '"Edgy"'), encoding="utf-8")
    assert gen.main(["--check", *files]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err
    assert "python scripts/generate_schema.py" in err


@pytest.mark.parametrize("row", registry.RESOURCES, ids=lambda row: row.name)
def test_reference_property_table_is_current(row: registry.Resource) -> None:
    page = (gen.REFERENCE_DIR / gen.reference_page(row)).read_text(encoding="utf-8")
    assert gen.render_reference(page, row) == page, (
        "the reference page's property table is stale: run `python scripts/generate_schema.py`"
    )
    for prop in row.props:
        assert f"| `{prop.python}` | `{prop.wire}` |" in page


# --- (c) every property is where spec.PROPS says ---------------------------------------


def test_properties_are_exactly_spec_props(resource: dict[str, Any]) -> None:
    # schema.json has sorted keys, so the maps are compared as sets.
    assert set(resource["properties"]) == {p.wire for p in spec.PROPS}
    assert set(resource["inputProperties"]) == {p.wire for p in spec.INPUT_PROPS}
    assert resource["requiredInputs"] == ["name"]
    assert resource["requiredInputs"] == [p.wire for p in spec.PROPS if p.required]


@pytest.mark.parametrize("prop", spec.PROPS, ids=lambda p: p.wire)
def test_property_placement(prop: Any, schema: dict[str, Any], resource: dict[str, Any]) -> None:
    output = resource["properties"][prop.wire]
    is_input = prop.change is not spec.Change.OUTPUT_ONLY
    assert (prop.wire in resource["inputProperties"]) is is_input
    placements = [output]
    if is_input:
        placements.append(resource["inputProperties"][prop.wire])

    for placed in placements:
        assert placed.get("secret", False) is prop.secret
        assert placed.get("replaceOnChanges", False) is (prop.change is spec.Change.REPLACE)
        assert placed["description"].startswith(prop.description)

    expected_type: dict[str, Any] = {"type": prop.schema_type}
    if prop.items is not None:
        expected_type["items"] = {"type": prop.items}
    assert {k: output[k] for k in ("type", "items") if k in output} == expected_type
    for value in prop.enum:
        assert f"`{value}`" in output["description"]

    if is_input:
        placed_input = resource["inputProperties"][prop.wire]
        if prop.enum:
            ref = placed_input["$ref"]
            assert ref.startswith("#/types/")
            enum_type = schema["types"][ref.removeprefix("#/types/")]
            assert enum_type["type"] == prop.schema_type
            assert [v["value"] for v in enum_type["enum"]] == list(prop.enum)
        else:
            assert {k: placed_input[k] for k in ("type", "items") if k in placed_input} == (
                expected_type
            )
        assert placed_input.get("default") == prop.default
    assert "default" not in output


def test_key_and_token_are_secret(schema: dict[str, Any], resource: dict[str, Any]) -> None:
    assert resource["properties"]["key"]["secret"] is True
    assert schema["config"]["variables"]["apiToken"]["secret"] is True
    assert schema["provider"]["inputProperties"]["apiToken"]["secret"] is True


def test_replace_props(resource: dict[str, Any]) -> None:
    for placement in ("properties", "inputProperties"):
        replaced = {w for w, p in resource[placement].items() if p.get("replaceOnChanges")}
        assert replaced == set(spec.REPLACE_PROPS) == {"type", "codingAssistant", "expiresInDays"}


def test_enum_types_are_named_as_documented(schema: dict[str, Any]) -> None:
    assert set(schema["types"]) == {
        "edgee:index:ApiKeyType",
        "edgee:index:CodingAssistant",
        "edgee:index:ApiKeyInfo",
    }
    refs = set(_refs(schema))
    assert refs == {f"#/types/{token}" for token in schema["types"]}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _nullable(annotation: Any) -> bool:
    return annotation is None or type(None) in typing.get_args(annotation)


def test_required_outputs(resource: dict[str, Any]) -> None:
    assert resource["required"] == [
        "name",
        "type",
        "models",
        "active",
        "organizationId",
        "debugMode",
        "createdAt",
        "key",
    ]
    # Output-only properties are always set exactly when the Console API always returns
    # them; `key` is the exception: `read` reveals it when state lacks it.
    from pulumi_edgee.console.models import ApiKeyObject

    for prop in spec.PROPS:
        if prop.change is not spec.Change.OUTPUT_ONLY or not prop.echoed:
            continue
        field = ApiKeyObject.model_fields[prop.python]
        always = not _nullable(field.annotation)
        assert (prop.wire in resource["required"]) is always, (
            f"{prop.wire}: ApiKeyObject.{prop.python} is {field.annotation}; update "
            f"OPTIONAL_OUTPUTS in scripts/generate_schema.py, then {REGENERATE}"
        )
    optional_outputs: frozenset[str] = gen.OPTIONAL_OUTPUTS
    assert optional_outputs <= {p.wire for row in registry.RESOURCES for p in row.props}


def test_config_variables(schema: dict[str, Any]) -> None:
    variables = schema["config"]["variables"]
    assert set(variables) == {"apiToken", "organizationId", "consoleUrl"}
    assert {f"edgee:{name}" for name in variables} == {
        s.config_key for s in settings.CONFIG_SOURCES
    }
    for source in settings.CONFIG_SOURCES:
        variable = variables[source.config_key.removeprefix("edgee:")]
        assert variable["type"] == "string"
        assert source.env_var in variable["description"]
        assert variable["defaultInfo"] == {"environment": [source.env_var]}
        assert variable.get("secret", False) is source.secret
    assert (
        variables["consoleUrl"]["default"]
        == settings.DEFAULT_CONSOLE_URL
        == ("https://api.edgee.app")
    )
    assert "default" not in variables["apiToken"]
    assert schema["provider"]["inputProperties"] == variables


# --- (d) the resource class agrees with properties.PROPS ----------------------------------------


def test_api_key_signature_matches_spec() -> None:
    inputs = [p.python for p in spec.INPUT_PROPS]
    assert [f.name for f in fields(api_key.ApiKeyArgs)] == inputs
    required_args = [
        f.name
        for f in fields(api_key.ApiKeyArgs)
        if f.default is MISSING and f.default_factory is MISSING
    ]
    assert required_args == [p.python for p in spec.PROPS if p.required]
    keywords = [
        name
        for name, param in inspect.signature(api_key.ApiKey.__init__).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert keywords == inputs
    assert list(vars(api_key.ApiKey)["__annotations__"]) == [p.python for p in spec.PROPS]


def test_provider_reads_the_schema_config_keys() -> None:
    config_keys: tuple[str, ...] = provider._CONFIG_KEYS
    assert config_keys == tuple(s.config_key for s in settings.CONFIG_SOURCES)
