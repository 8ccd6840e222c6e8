"""Generate `schema.json`, the Pulumi package schema, from the code's own tables.

The resources come from the registry (`pulumi_edgee.registry`: each row's property table), the
functions' keys from `pulumi_edgee.properties.PROPS`, and the provider configuration
from `pulumi_edgee.settings.CONFIG_SOURCES`, so the schema cannot say something the
provider does not do. The provider plugin serves the same text from the copy written
into its package (`pulumi_edgee/plugin/schema.json`). Run it after changing either:

    python scripts/generate_schema.py           # rewrite schema.json
    python scripts/generate_schema.py --check   # exit 1 if schema.json is stale (CI)

`tests/schema/test_schema.py` validates the result against the Pulumi package metaschema
and fails when the file on disk differs from `build_schema()`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import pulumi_edgee
from pulumi_edgee import properties, registry, settings
from pulumi_edgee.registry import API_KEY, PACKAGE

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "schema.json"
PLUGIN_SCHEMA_PATH = ROOT / "pulumi_edgee/plugin/schema.json"
PYPROJECT_PATH = ROOT / "pyproject.toml"


# A Python SDK generated from the schema (`pulumi package gen-sdk`) for the plugin: a name
# of its own, since `pulumi_edgee` is this package (the dynamic provider).
PYTHON_PACKAGE = "pulumi_edgee_plugin"
FALLBACK_DESCRIPTION = "Manage Edgee AI Gateway API keys as code with Pulumi"
FALLBACK_HOMEPAGE = "https://www.edgee.ai"
LICENSE = "Apache-2.0"
# Free-form strings to the metaschema; `kind/native`: the package ships a provider plugin.
KEYWORDS = ("pulumi", "edgee", "ai", "ai-gateway", "api-keys", "category/utility", "kind/native")

RESOURCE_NAME = API_KEY.name
RESOURCE_TOKEN = API_KEY.token
GET_API_KEY_TOKEN = f"{PACKAGE}:index:getApiKey"
GET_API_KEYS_TOKEN = f"{PACKAGE}:index:getApiKeys"
# One key as `getApiKeys` lists it: the resource's outputs and its id, no secret.
API_KEY_INFO_TOKEN = f"{PACKAGE}:index:ApiKeyInfo"
PROVIDER_DESCRIPTION = (
    "The Edgee provider manages Edgee AI Gateway API keys through the Edgee Console API. "
    "Each setting is read from stack config first, then from its environment variable."
)

# Enum properties get a named enum type; a new enum property gets `ApiKey<Wire>`.
ENUM_TYPE_NAMES: dict[str, str] = {"type": "ApiKeyType", "codingAssistant": "CodingAssistant"}

# Output-only properties the Console API may leave unset (every other one is always set).
# A test checks this against the nullable fields of `pulumi_edgee.console.ApiKeyObject`.
# `expired` is worked out by the provider, and a stack written before it existed lacks
# it until the key's next refresh or update.
OPTIONAL_OUTPUTS: frozenset[str] = frozenset(
    {
        "expiresAt",
        "lastUsedAt",
        "expired",
        # A RotatingApiKey's previous key, outside a grace period.
        "previousKeyId",
        "previousKey",
        "previousRetiresAt",
        "previousLastUsedAt",
    }
)

# What each configuration setting is; how to set it comes from `settings.Source`.
CONFIG_DESCRIPTIONS: dict[str, str] = {
    settings.API_TOKEN.config_key: (
        "Edgee Console API token the provider authenticates with. Held in memory only, "
        "never written to the provider's state."
    ),
    settings.ORGANIZATION_ID.config_key: "Edgee organization whose API keys are managed.",
    settings.CONSOLE_URL.config_key: (
        "Base URL of the Edgee Console API. Must be https://, except for loopback hosts "
        "such as the local emulator."
    ),
}


def _project() -> dict[str, Any]:
    """The `[project]` table of pyproject.toml, or `{}` when it cannot be read."""
    if sys.version_info >= (3, 11):  # tomllib is 3.11+; older Pythons use the fallbacks
        import tomllib

        try:
            with PYPROJECT_PATH.open("rb") as handle:
                project = tomllib.load(handle).get("project", {})
        except (OSError, tomllib.TOMLDecodeError):
            return {}
        return project if isinstance(project, dict) else {}
    return {}


def package_version() -> str:
    """`pulumi_edgee.__version__`, the one place the version is written."""
    return pulumi_edgee.__version__


def _setting_name(source: settings.Source) -> str:
    """`edgee:apiToken` -> `apiToken`, the variable's name in the schema."""
    package, _, name = source.config_key.partition(":")
    if package != PACKAGE or not name:
        raise ValueError(f"config key {source.config_key!r} is not of the form {PACKAGE}:<name>")
    return name


def config_variable(source: settings.Source) -> dict[str, Any]:
    """The property spec of one configuration setting."""
    how = source.how_to_set()
    variable: dict[str, Any] = {
        "type": "string",
        "description": f"{CONFIG_DESCRIPTIONS[source.config_key]} {how[:1].upper()}{how[1:]}.",
        "defaultInfo": {"environment": [source.env_var]},
    }
    if source is settings.CONSOLE_URL:
        variable["default"] = settings.DEFAULT_CONSOLE_URL
    if source.secret:
        variable["secret"] = True
    return variable


def config_variables() -> dict[str, dict[str, Any]]:
    return {_setting_name(s): config_variable(s) for s in settings.CONFIG_SOURCES}


def enum_type_token(prop: properties.Prop) -> str:
    name = ENUM_TYPE_NAMES.get(prop.wire, f"{RESOURCE_NAME}{prop.wire[:1].upper()}{prop.wire[1:]}")
    return f"{PACKAGE}:index:{name}"


def _type_ref(prop: properties.Prop) -> dict[str, Any]:
    if prop.schema_type == "array":
        if prop.items is None:
            raise ValueError(f"array property {prop.wire!r} has no `items` type")
        return {"type": "array", "items": {"type": prop.items}}
    return {"type": prop.schema_type}


def _replaces(prop: properties.Prop) -> dict[str, Any]:
    return {"replaceOnChanges": True} if prop.change is properties.Change.REPLACE else {}


def output_property(prop: properties.Prop) -> dict[str, Any]:
    """A property as the resource reports it (`properties`).

    Enum properties stay plain strings here: the Console API may grow new values (the
    client keeps an unknown `type` as a string) and a typed SDK must still read them.
    """
    description = prop.description
    if prop.enum:
        values = ", ".join(f"`{v}`" for v in prop.enum)
        description = f"{description} Known values: {values}."
    result: dict[str, Any] = {**_type_ref(prop), "description": description, **_replaces(prop)}
    if prop.secret:
        result["secret"] = True
    return result


def input_property(prop: properties.Prop) -> dict[str, Any]:
    """A property as a program sets it (`inputProperties`): enums are the enum types."""
    type_ref = {"$ref": f"#/types/{enum_type_token(prop)}"} if prop.enum else _type_ref(prop)
    result: dict[str, Any] = {**type_ref, "description": prop.description, **_replaces(prop)}
    if prop.default is not None:
        result["default"] = prop.default
    if prop.secret:
        result["secret"] = True
    return result


def always_output(prop: properties.Prop) -> bool:
    """Whether the resource always reports a value for the property."""
    if prop.change is properties.Change.OUTPUT_ONLY:
        return prop.wire not in OPTIONAL_OUTPUTS
    # Required inputs, inputs with a default, and lists (`[]` when unset) are always set.
    return prop.required or prop.default is not None or prop.schema_type == "array"


def enum_value_name(value: str) -> str:
    """An enum value's name in the SDKs: `coding_agent` -> `CodingAgent` (the generators
    would otherwise make names such as Go's `ApiKeyType_Coding_agent`)."""
    return "".join(part.capitalize() for part in value.split("_"))


def enum_types() -> dict[str, dict[str, Any]]:
    return {
        enum_type_token(p): {
            "description": p.description,
            "type": p.schema_type,
            "enum": [{"name": enum_value_name(value), "value": value} for value in p.enum],
        }
        for p in properties.PROPS
        if p.enum
    }


def _or_list(names: list[str]) -> str:
    """`a`, `b` or `c`."""
    quoted = [f"`{name}`" for name in names]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def resource_description(row: registry.Resource) -> str:
    parts = [row.summary]
    secrets = [f"`{p.wire}`" for p in row.props if p.secret]
    if len(secrets) == 1:
        parts.append(f"Its secret, {secrets[0]}, is always a Pulumi secret.")
    elif secrets:
        parts.append(
            f"Its secrets, {', '.join(secrets[:-1])} and {secrets[-1]}, are always Pulumi secrets."
        )
    if row.replace_props:
        parts.append(
            f"Changing {_or_list(list(row.replace_props))} replaces the key (the new key "
            "has a new secret); every other input is updated in place."
        )
    rotating = [p.wire for p in row.props if p.change is properties.Change.ROTATE]
    if rotating:
        parts.append(
            f"Changing {_or_list(rotating)} rotates the key in place (a new current key; the "
            "old one stays valid as the previous key); every other input is updated in place."
        )
    return " ".join(parts)


def resource_schema(row: registry.Resource) -> dict[str, Any]:
    """One registry row as a schema resource: its outputs, inputs and what each does."""
    return {
        "description": resource_description(row),
        "properties": {p.wire: output_property(p) for p in row.props},
        "required": [p.wire for p in row.props if always_output(p)],
        "inputProperties": {p.wire: input_property(p) for p in row.input_props},
        "requiredInputs": [p.wire for p in row.input_props if p.required],
    }


def _key_outputs(*, with_secret: bool) -> dict[str, Any]:
    """A looked-up key: its id and the resource's outputs (the secret only if asked).

    `email` is left out: the Console API never returns it, so a lookup cannot know it;
    so are the settings of how a resource manages its key (adoption, rotation).
    """
    managing = (properties.Change.STATE_ONLY, properties.Change.CREATE_ONLY)
    shown = [
        p
        for p in properties.PROPS
        if p.wire != "email" and p.change not in managing and (with_secret or not p.secret)
    ]
    props: dict[str, Any] = {"id": {"type": "string", "description": "The key's id."}}
    for prop in shown:
        props[prop.wire] = output_property(prop)
        if prop.secret:
            props[prop.wire]["description"] += " Set only when `reveal` is true."
    required = [p.wire for p in shown if always_output(p) and not p.secret]
    return {"properties": props, "required": ["id", *required]}


def object_types() -> dict[str, dict[str, Any]]:
    return {
        API_KEY_INFO_TOKEN: {
            "description": "An API key as `getApiKeys` lists it (never with its secret).",
            "type": "object",
            **_key_outputs(with_secret=False),
        }
    }


def functions() -> dict[str, dict[str, Any]]:
    """The lookups: keys this stack does not manage, read by id, name or filter."""
    key_type = {"$ref": f"#/types/{enum_type_token(properties.PROPS_BY_WIRE['type'])}"}
    return {
        GET_API_KEY_TOKEN: {
            "description": (
                "Look up one API key by `id` or by `name` (exactly one of them). Its secret "
                "is returned, as a Pulumi secret, only when `reveal` is true."
            ),
            "inputs": {
                "properties": {
                    "id": {"type": "string", "description": "The key's id."},
                    "name": {
                        "type": "string",
                        "description": "The key's name; more than one key with it is an error.",
                    },
                    "reveal": {
                        "type": "boolean",
                        "description": "Whether to return the secret `key`.",
                        "default": False,
                    },
                },
            },
            "outputs": _key_outputs(with_secret=True),
        },
        GET_API_KEYS_TOKEN: {
            "description": "List API keys, optionally by name prefix and type, without secrets.",
            "inputs": {
                "properties": {
                    "namePrefix": {
                        "type": "string",
                        "description": "Only keys whose name starts with this.",
                    },
                    "type": {**key_type, "description": "Only keys of this type."},
                },
            },
            "outputs": {
                "properties": {
                    "keys": {
                        "type": "array",
                        "items": {"$ref": f"#/types/{API_KEY_INFO_TOKEN}"},
                        "description": "The matching keys, ordered by name then id.",
                    }
                },
                "required": ["keys"],
            },
        },
    }


def build_schema() -> dict[str, Any]:
    """The Pulumi package schema of this package, as a JSON-ready dict."""
    project = _project()
    description = project.get("description")
    urls = project.get("urls")
    homepage = urls.get("Homepage") if isinstance(urls, dict) else None
    return {
        "name": PACKAGE,
        "displayName": "Edgee",
        "version": package_version(),
        "description": description if isinstance(description, str) else FALLBACK_DESCRIPTION,
        "keywords": list(KEYWORDS),
        "homepage": homepage if isinstance(homepage, str) else FALLBACK_HOMEPAGE,
        "license": LICENSE,
        "config": {"variables": config_variables()},
        "provider": {"description": PROVIDER_DESCRIPTION, "inputProperties": config_variables()},
        "types": {**enum_types(), **object_types()},
        "resources": {row.token: resource_schema(row) for row in registry.RESOURCES},
        "functions": functions(),
        "language": {"python": {"packageName": PYTHON_PACKAGE}},
    }


def render(schema: dict[str, Any]) -> str:
    """The file's exact text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


REFERENCE_DIR = ROOT / "docs" / "reference"


def reference_page(row: registry.Resource) -> str:
    """A resource's reference page's file name: `RotatingApiKey` -> `rotating-api-key.md`."""
    words = re.findall(r"[A-Z][a-z]*", row.name)
    return "-".join(word.lower() for word in words) + ".md"


REFERENCE_PATH = REFERENCE_DIR / reference_page(API_KEY)
TABLE_START = "<!-- properties:start -->"
TABLE_END = "<!-- properties:end -->"


def properties_table(row: registry.Resource = API_KEY) -> str:
    """A resource's reference table: its properties, from its registry row."""
    rows = [
        "| Python | state | type | a change means | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for prop in row.props:
        kind = f"list of {prop.items}" if prop.items else prop.schema_type
        if prop.enum:
            kind += ": " + ", ".join(f"`{value}`" for value in prop.enum)
        extras = [
            "required" if prop.required else "",
            f"default `{json.dumps(prop.default)}`" if prop.default is not None else "",
            "secret" if prop.secret else "",
        ]
        note = "; ".join(e for e in extras if e)
        rows.append(
            f"| `{prop.python}` | `{prop.wire}` | {kind} | {prop.change.value} | "
            f"{prop.description}{f' ({note})' if note else ''} |"
        )
    return "\n".join(rows)


def render_reference(page: str, row: registry.Resource = API_KEY) -> str:
    """A reference page with its property table regenerated between the markers."""
    head, start, rest = page.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise SystemExit(f"the reference page lacks the {TABLE_START} / {TABLE_END} markers")
    return f"{head}{TABLE_START}\n{properties_table(row)}\n{TABLE_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the file differs from what would be generated",
    )
    parser.add_argument(
        "--path", type=Path, default=SCHEMA_PATH, help="schema file (default: %(default)s)"
    )
    parser.add_argument(
        "--reference-dir",
        type=Path,
        default=REFERENCE_DIR,
        help="the folder of the resources' reference pages (default: %(default)s)",
    )
    parser.add_argument(
        "--plugin-schema",
        type=Path,
        default=PLUGIN_SCHEMA_PATH,
        help="the copy the provider plugin serves (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    path: Path = args.path
    schema = render(build_schema())
    outputs = {path: schema, args.plugin_schema: schema}
    for row in registry.RESOURCES:
        page = args.reference_dir / reference_page(row)
        outputs[page] = render_reference(page.read_text(encoding="utf-8"), row)
    if args.check:
        stale = []
        for target, text in outputs.items():
            try:
                current = target.read_text(encoding="utf-8")
            except FileNotFoundError:
                current = None
            if current != text:
                stale.append(f"{target} {'is missing' if current is None else 'is out of date'}")
        if stale:
            print(
                "; ".join(stale)
                + ": run `python scripts/generate_schema.py` and commit the result.",
                file=sys.stderr,
            )
            return 1
        print("schema.json, its plugin copy and the reference table are up to date.")
        return 0
    for target, text in outputs.items():
        target.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
