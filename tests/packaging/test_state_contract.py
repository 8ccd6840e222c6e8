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
import dataclasses
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
from pulumi_edgee.testing import (
    EmulatorHandle,
    LeakDetector,
    LifeCycle,
    ProgramRunner,
    Props,
    ProviderServer,
    ResourceState,
    configured_server,
    provider_payload,
    run_emulator,
)

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
    # Added after 0.1.0 (adoption and rotation): new names may only be added, and only here.
    | {"adoptId", "rotateBeforeExpiryDays", "rotateEveryDays"}
)
OUTPUT_NAMES = INPUT_NAMES | {
    "organizationId",
    "debugMode",
    "createdAt",
    "expiresAt",
    "lastUsedAt",
    "key",
    # Added after 0.1.0 (expired keys are never silent): added only, and only here.
    "expired",
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
    server = configured_server(
        release_emulator.url, token=TOKEN, organization=ORGANIZATION, project="release-state"
    )
    with server:
        yield server


def release_state(res: dict[str, Any]) -> ResourceState:
    """One exported resource as the engine holds it in memory."""
    inputs, secret_inputs = plain(res["inputs"])
    outputs, secret_outputs = plain(res["outputs"])
    return ResourceState(
        urn=res["urn"],
        type=res["type"],
        custom=True,
        id=res["id"],
        inputs=inputs,
        outputs=outputs,
        secret_inputs=secret_inputs,
        secret_outputs=secret_outputs,
        parent=res.get("parent", ""),
        additional_secret_outputs=tuple(res.get("additionalSecretOutputs", ())),
    )


def test_program_registers_the_same_urns(release_emulator: EmulatorHandle) -> None:
    """The unchanged program, previewed with today's package, names the same resources
    (type token and name in the URN; project and stack come from the stack): the engine
    matches them to the old state."""
    stack = ProgramRunner(
        PROGRAM,
        config={"edgee:apiToken": TOKEN, "edgee:consoleUrl": release_emulator.url},
        secret_config_keys=["edgee:apiToken"],
    )
    result = stack.preview()
    assert result.error is None
    previewed = {urn_identity(s.urn) for s in result.steps if urn_type(s.urn) == TYPE_TOKEN}
    assert previewed == {urn_identity(r["urn"]) for r in api_keys(RELEASES[-1])}


def test_release_state_refreshes_updates_and_destroys(
    release_emulator: EmulatorHandle, server: ProviderServer
) -> None:
    """refresh, an `up` of the unchanged program, an `up` with a new name, then destroy,
    each with the engine's call sequence, starting from the release's state."""
    leaks = LeakDetector()
    leaks.add_secrets(TOKEN)
    engine = LifeCycle(
        server, on_outputs=lambda label, out: leaks.record(label, {**out.values, "key": None})
    )
    olds = [release_state(r) for r in api_keys(RELEASES[-1])]
    live = {k["id"]: k for k in release_emulator.keys()}
    assert set(live) == {old.id for old in olds}
    today = provider_payload()
    after: list[ResourceState] = []

    for old in olds:
        leaks.add_secrets(old.outputs["key"])
        # pulumi refresh: Read (with the release's pickled provider), then Diff.
        new = engine.refresh(old)
        assert new is not None
        assert new.id == old.id
        assert new.secret_outputs == SECRET_OUTPUTS
        assert set(new.outputs) <= OUTPUT_NAMES
        assert {k: new.outputs.get(k) for k in old.outputs} == old.outputs
        # pulumi up of the unchanged program (today's provider): nothing to do.
        declared = {k: v for k, v in new.inputs.items() if k != "__provider"}
        same = engine.register(old.urn, Props({**declared, "__provider": today}), new)
        assert same.op == "same"
        # pulumi up with a new name: the same key, updated in place, keeping its secret.
        renamed = {**declared, "name": f"{declared['name']} (renamed)", "__provider": today}
        done = engine.register(old.urn, Props(renamed), new)
        assert (done.op, done.id) == ("update", old.id)
        assert done.outputs.values["name"] == renamed["name"]
        assert done.outputs.values["key"] == old.outputs["key"]
        assert done.outputs.secrets == SECRET_OUTPUTS
        after.append(
            dataclasses.replace(
                new,
                inputs=done.inputs.values,
                outputs=done.outputs.values,
                secret_outputs=done.outputs.secrets,
            )
        )

    by_id = {k["id"]: k for k in release_emulator.keys()}
    assert set(by_id) == set(live), "an update must not replace or add keys"
    for res in after:
        assert by_id[res.id]["name"] == res.outputs["name"]
        assert by_id[res.id]["key"] == live[res.id]["key"] == res.outputs["key"]

    # pulumi destroy, last first.
    for res in reversed(after):
        engine.delete(res)
    assert release_emulator.keys() == []

    leaks.record("server stdout", server.stdout_text())
    leaks.record("server stderr", server.stderr_text())
    leaks.assert_clean()


def test_release_state_destroys_with_the_old_provider(
    release_emulator: EmulatorHandle, server: ProviderServer
) -> None:
    """`pulumi destroy` right after upgrading: Delete gets only the release's state."""
    engine = LifeCycle(server)
    for res in reversed(api_keys(RELEASES[-1])):
        engine.delete(release_state(res))
    assert release_emulator.keys() == []
