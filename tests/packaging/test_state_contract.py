"""What users' state depends on stays put, and a stack written by an earlier release
still refreshes, updates and destroys through today's provider.

Every resource's state holds the pickled provider (by module and class name), its type
token (in the URN) and its property names. The fixture under `fixtures/release-0.1.0/`
is what 0.1.0 wrote (`make_state_fixture.py`): the stack as `pulumi stack export
--show-secrets` prints it and the emulator's keys. It is replayed through the real
`python -m pulumi.dynamic` server with the engine's call sequences.
"""

from __future__ import annotations

import base64
import json
import pickletools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_edgee import properties
from pulumi_edgee.provider import ApiKeyProvider
from pulumi_edgee.testing import EmulatorHandle, LeakDetector, run_emulator
from pulumi_edgee.testing.program import ProgramRunner
from pulumi_edgee.testing.provider_server import ProviderServer

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "programs" / "release_state"
RELEASES = sorted(p.name for p in (HERE / "fixtures").glob("release-*"))
TOKEN = "tok_release_state_0c1d2e3f"  # the fixture's; stored in neither file
ORGANIZATION = "org_1"
SECRET_SIG = "4dabf18193072939515e22adb298388d"

# The contract. Changing any of these breaks every existing stack: a release that must
# change one needs a migration, not an edit here.
PROVIDER_CLASS = ("pulumi_edgee.provider", "ApiKeyProvider")
TYPE_TOKEN = "pulumi-python:dynamic/edgee:ApiKey"
INPUT_NAMES = frozenset(
    {
        "__provider",
        "name",
        "type",
        "codingAssistant",
        "models",
        "maxUsage",
        "expiresInDays",
        "email",
        "active",
    }
)
OUTPUT_NAMES = INPUT_NAMES | {
    "organizationId",
    "debugMode",
    "createdAt",
    "expiresAt",
    "lastUsedAt",
    "key",
}
SECRET_OUTPUTS = frozenset({"key"})


def pickled_globals(provider: str) -> list[tuple[str, str]]:
    """The (module, name) pairs a serialized provider loads, read without unpickling it."""
    found: list[tuple[str, str]] = []
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(base64.b64decode(provider)):
        if isinstance(arg, str) and "UNICODE" in op.name:
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            found.append((strings[-2], strings[-1]))
        elif op.name == "GLOBAL":
            module, _, name = str(arg).partition(" ")
            found.append((module, name))
        elif op.name == "BUILD":
            raise AssertionError("the pickled provider carries instance state")
    return found


def plain(values: dict[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Values of an exported resource, secrets decrypted, and the names that were secret."""
    out: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in values.items():
        if isinstance(value, dict) and SECRET_SIG in value:
            out[name] = json.loads(value["plaintext"])
            secret.add(name)
        else:
            out[name] = value
    return out, frozenset(secret)


def urn_type(urn: str) -> str:
    """The resource's own type in a URN (after its parents' types)."""
    return urn.split("::")[2].split("$")[-1]


def urn_identity(urn: str) -> tuple[str, str]:
    """What the package decides in a URN: the qualified type and the name."""
    parts = urn.split("::")
    return parts[2], parts[3]


def api_keys(release: str) -> list[dict[str, Any]]:
    stack = json.loads((HERE / "fixtures" / release / "stack.json").read_text())
    resources: list[dict[str, Any]] = stack["deployment"]["resources"]
    return [r for r in resources if r["custom"]]


@pytest.mark.parametrize("release", RELEASES)
def test_release_state_matches_the_pinned_contract(release: str) -> None:
    keys = api_keys(release)
    assert keys, "the fixture holds no ApiKey"
    for res in keys:
        assert res["type"] == TYPE_TOKEN
        assert urn_type(res["urn"]) == TYPE_TOKEN
        inputs, secret_inputs = plain(res["inputs"])
        outputs, secret_outputs = plain(res["outputs"])
        assert set(inputs) <= INPUT_NAMES
        assert set(outputs) <= OUTPUT_NAMES
        assert (secret_inputs, secret_outputs) == (frozenset(), SECRET_OUTPUTS)
        assert pickled_globals(inputs["__provider"]) == [PROVIDER_CLASS]
        assert outputs["__provider"] == inputs["__provider"]


def test_today_writes_the_same_contract() -> None:
    """Today's provider pickles to the same class, and the property table has the same
    names, so what today writes, the next release must read too."""
    assert pickled_globals(serialize_provider(ApiKeyProvider())) == [PROVIDER_CLASS]
    assert (ApiKeyProvider.__module__, ApiKeyProvider.__qualname__) == PROVIDER_CLASS
    wire = {p.wire for p in properties.PROPS}
    assert wire | {"__provider"} == OUTPUT_NAMES
    inputs = {p.wire for p in properties.PROPS if p.change is not properties.Change.OUTPUT_ONLY}
    assert inputs | {"__provider"} == INPUT_NAMES
    assert {p.wire for p in properties.PROPS if p.secret} == SECRET_OUTPUTS


@pytest.fixture
def release_emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    """An emulator holding the keys the release's stack made."""
    state_file = tmp_path / "emulator.json"
    shutil.copyfile(HERE / "fixtures" / RELEASES[-1] / "emulator.json", state_file)
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION, state_file=state_file) as emu:
        yield emu


@pytest.fixture
def server(release_emulator: EmulatorHandle) -> Iterator[ProviderServer]:
    with ProviderServer(project="release-state", cwd=PROGRAM) as srv:
        srv.get_plugin_info()
        srv.configure(
            {
                "edgee:apiToken": TOKEN,
                "edgee:organizationId": ORGANIZATION,
                "edgee:consoleUrl": release_emulator.url,
            },
            secret_keys=["edgee:apiToken"],
        )
        yield srv


def test_program_registers_the_same_urns(
    release_emulator: EmulatorHandle, server: ProviderServer
) -> None:
    """The unchanged program, previewed with today's package, names the same resources
    (type token and name in the URN; project and stack come from the stack): the engine
    matches them to the old state."""
    stack = ProgramRunner(
        PROGRAM,
        server,
        {"edgee:apiToken": TOKEN, "edgee:consoleUrl": release_emulator.url},
        secret_config_keys=["edgee:apiToken"],
    )
    result = stack.preview()
    assert result.error is None
    previewed = {urn_identity(s.urn) for s in result.steps if urn_type(s.urn) == TYPE_TOKEN}
    assert previewed == {urn_identity(r["urn"]) for r in api_keys(RELEASES[-1])}


def test_release_state_refreshes_updates_and_destroys(
    release_emulator: EmulatorHandle, server: ProviderServer
) -> None:
    leaks = LeakDetector()
    leaks.add_secrets(TOKEN)
    keys = api_keys(RELEASES[-1])
    live = {k["id"]: k for k in release_emulator.keys()}
    assert set(live) == {r["id"] for r in keys}
    today = serialize_provider(ApiKeyProvider())
    after: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    for res in keys:
        urn, id_ = res["urn"], res["id"]
        inputs, _ = plain(res["inputs"])
        outputs, _ = plain(res["outputs"])
        leaks.add_secrets(outputs["key"])

        # pulumi refresh: Read with the old state (the old pickled provider), then Diff.
        read = server.read(id_, urn, outputs, inputs)
        assert read.id == id_
        assert read.secret_keys == SECRET_OUTPUTS
        assert read.outputs["key"] == outputs["key"], "the secret must survive a refresh"
        assert set(read.outputs) <= OUTPUT_NAMES
        for name in set(outputs) - {"__provider"}:
            assert read.outputs.get(name) == outputs[name], name
        refreshed_inputs = read.inputs if read.inputs is not None else inputs
        leaks.record(f"read {id_}", {k: v for k, v in read.outputs.items() if k != "key"})

        # pulumi up with the same program (today's provider): no change.
        news = {**refreshed_inputs, "__provider": today}
        checked = server.check(urn, refreshed_inputs, news)
        assert checked.failures == []
        diff = server.diff(id_, urn, read.outputs, checked.inputs, refreshed_inputs)
        assert diff.changes == "none"

        # pulumi up with a changed name: an in-place update of the same key.
        renamed = {**news, "name": f"{inputs['name']} (renamed)"}
        checked = server.check(urn, refreshed_inputs, renamed)
        assert checked.failures == []
        diff = server.diff(id_, urn, read.outputs, checked.inputs, refreshed_inputs)
        assert (diff.changes, diff.replaces) == ("some", [])
        updated = server.update(id_, urn, read.outputs, checked.inputs, refreshed_inputs)
        assert updated.outputs["name"] == renamed["name"]
        assert updated.outputs["key"] == outputs["key"]
        assert updated.secret_keys == SECRET_OUTPUTS
        after[id_] = (checked.inputs, updated.outputs)

    by_id = {k["id"]: k for k in release_emulator.keys()}
    assert set(by_id) == set(live), "an update must not replace or add keys"
    for id_, (_, outputs) in after.items():
        assert by_id[id_]["name"] == outputs["name"]
        assert by_id[id_]["key"] == live[id_]["key"] == outputs["key"]

    # pulumi destroy, last first.
    for res in reversed(keys):
        inputs, outputs = after[res["id"]]
        server.delete(res["id"], res["urn"], outputs, inputs)
    assert release_emulator.keys() == []

    leaks.record("server stdout", server.stdout_text())
    leaks.record("server stderr", server.stderr_text())
    leaks.assert_clean()


def test_release_state_destroys_with_the_old_provider(
    release_emulator: EmulatorHandle, server: ProviderServer
) -> None:
    """`pulumi destroy` right after upgrading: Delete gets only the old state."""
    for res in reversed(api_keys(RELEASES[-1])):
        inputs, _ = plain(res["inputs"])
        outputs, _ = plain(res["outputs"])
        server.delete(res["id"], res["urn"], outputs, inputs)
    assert release_emulator.keys() == []
