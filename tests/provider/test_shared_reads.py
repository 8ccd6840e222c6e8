"""Reads share one list walk inside a provider process, through the real server."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pulumi_edgee.emulator.keys import format_timestamp
from pulumi_edgee.testing import EmulatorHandle, configured_server, run_emulator
from pulumi_edgee.testing.secrets import LeakDetector

from .support import ORGANIZATION, PROVIDER, TOKEN, ProviderSteps, urn


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[ProviderSteps, EmulatorHandle]]:
    with (
        run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator,
        configured_server(
            emulator.url,
            token=TOKEN,
            organization=ORGANIZATION,
            project="quickstart",
            env={"EDGEE_READ_REUSE_SECONDS": "60"},
        ) as server,
    ):
        yield ProviderSteps(server, LeakDetector()), emulator


def list_walks(emulator: EmulatorHandle) -> int:
    return sum(
        1 for r in emulator.requests() if r["method"] == "GET" and r["path"].endswith("/api_keys")
    )


@pytest.mark.slow
def test_a_refresh_of_many_keys_costs_one_list_walk(
    setup: tuple[ProviderSteps, EmulatorHandle],
) -> None:
    engine, emulator = setup
    created = [engine.create(f"k{i}", name=f"key {i}") for i in range(30)]
    emulator.clear_requests()
    # `pulumi refresh` is a new command, so a new provider process: nothing cached.
    with configured_server(
        emulator.url, token=TOKEN, organization=ORGANIZATION, project="quickstart"
    ) as refresher:
        with ThreadPoolExecutor(8) as pool:
            reads = list(pool.map(lambda c: refresher.read(c[0], urn("k"), c[1], c[2]), created))
    assert [r.id for r in reads] == [c[0] for c in created]
    assert [r.outputs["name"] for r in reads] == [f"key {i}" for i in range(30)]
    assert list_walks(emulator) == 1
    assert len(emulator.requests()) == 1, "no other request either"


def test_a_read_after_this_process_writes_sees_the_write(
    setup: tuple[ProviderSteps, EmulatorHandle],
) -> None:
    engine, emulator = setup
    key_id, outputs, inputs = engine.create("own", name="before")
    engine.server.read(key_id, urn("own"), outputs, inputs)  # the view now holds the key
    news = {**inputs, "name": "after", "maxUsage": 9}
    engine.server.update(key_id, urn("own"), outputs, news, inputs)
    walks = list_walks(emulator)
    read = engine.server.read(key_id, urn("own"), outputs, news)
    assert (read.outputs["name"], read.outputs["maxUsage"]) == ("after", 9)
    assert list_walks(emulator) == walks, "served from the shared view"
    engine.server.delete(key_id, urn("own"), outputs)
    assert engine.server.read(key_id, urn("own"), outputs, news).id == ""


def test_a_key_missing_from_the_view_is_confirmed_before_it_is_dropped(
    setup: tuple[ProviderSteps, EmulatorHandle],
) -> None:
    engine, emulator = setup
    bare = {"__provider": PROVIDER}
    seen, _, _ = engine.create("seen", name="seen")
    engine.server.read(seen, urn("seen"), bare, {})  # take a view
    with httpx.Client(
        base_url=emulator.organization_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as api:
        made_elsewhere = api.post("/api_keys", json={"name": "made elsewhere"}).json()
    # The next command (`pulumi import` of it): a process of its own, whose reads by id
    # alone trust only its own walks (the ids existed before it began).
    with configured_server(
        emulator.url,
        token=TOKEN,
        organization=ORGANIZATION,
        project="quickstart",
        env={"EDGEE_READ_REUSE_SECONDS": "60"},
    ) as importer:
        read = importer.read(made_elsewhere["id"], urn("elsewhere"), bare, {})
    assert read.id == made_elsewhere["id"], "absent from an older view is not proof of deletion"
    assert read.outputs["name"] == "made elsewhere"


def refresh(
    emulator: EmulatorHandle, reads: list[tuple[str, Any]], env: dict[str, str]
) -> list[Any]:
    """Read every key from a fresh provider process, as `pulumi refresh` does."""
    with configured_server(
        emulator.url, token=TOKEN, organization=ORGANIZATION, project="quickstart", env=env
    ) as refresher:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda r: refresher.read(r[0], urn("k"), r[1], {}), reads))


def fill(emulator: EmulatorHandle, count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` keys made straight in the emulator's store, with the outputs a state holds."""
    made = [
        emulator.backend.create_key(ORGANIZATION, {"name": f"filled {i}"}) for i in range(count)
    ]
    return [
        (
            k.id,
            {
                "name": k.name,
                "createdAt": format_timestamp(k.created_at),
                "key": k.secret,
                "__provider": PROVIDER,
            },
        )
        for k in made
    ]


@pytest.mark.slow
def test_a_walk_longer_than_the_reuse_window_still_serves_every_waiting_read() -> None:
    # 150 keys are two pages; each page takes 2 s, so the walk (4 s) outlasts the 3 s
    # window: the reads that waited for it use it, and the rest are served well inside
    # the window that starts at its end.
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator:
        reads = fill(emulator, 150)
        emulator.add_fault("latency", method="GET", path=".*/api_keys", delay_ms=2000, count=None)
        results = refresh(emulator, reads, {"EDGEE_READ_REUSE_SECONDS": "3"})
        assert [r.id for r in results] == [key_id for key_id, _ in reads]
        assert list_walks(emulator) == 2, "one walk of two pages"
        assert len(emulator.requests()) == 2


def test_keys_deleted_out_of_band_are_confirmed_by_one_shared_walk() -> None:
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator:
        reads = fill(emulator, 40)
        gone = {key_id for key_id, _ in reads[::8]}
        for key_id in gone:
            emulator.backend.delete_key(ORGANIZATION, key_id)
        results = refresh(emulator, reads, {"EDGEE_READ_REUSE_SECONDS": "60"})
        assert {key_id for (key_id, _), r in zip(reads, results, strict=True) if r.id == ""} == gone
        assert all(
            r.id == key_id
            for (key_id, _), r in zip(reads, results, strict=True)
            if key_id not in gone
        )
        assert list_walks(emulator) == 2, "the first walk, and one confirming walk for all"
        assert len(emulator.requests()) == 2


@pytest.mark.slow
@pytest.mark.parametrize("latency_ms", [0, 20])
def test_reads_by_id_alone_share_the_walks_of_their_command(latency_ms: int) -> None:
    """300 ids (an import of many keys, `ApiKey.get`), 30 of them deleted, read four at a
    time: every id existed before the command began, so the command's first walk serves
    them all and says which are gone (formerly each read wanted a walk begun after its
    own arrival: about 90 walks)."""
    with run_emulator(token=TOKEN, organization_id=ORGANIZATION) as emulator:
        ids = [key_id for key_id, _ in fill(emulator, 300)]
        gone = set(ids[::10])
        for key_id in gone:
            emulator.backend.delete_key(ORGANIZATION, key_id)
        if latency_ms:
            emulator.add_fault("latency", path=".*", delay_ms=latency_ms, count=None)
        bare = {"__provider": PROVIDER}
        with configured_server(
            emulator.url, token=TOKEN, organization=ORGANIZATION, project="quickstart"
        ) as importer:
            emulator.clear_requests()
            with ThreadPoolExecutor(4) as pool:
                reads = list(pool.map(lambda k: importer.read(k, urn("k"), bare, {}), ids))
        assert {key_id for key_id, r in zip(ids, reads, strict=True) if r.id == ""} == gone
        walks = [
            r
            for r in emulator.requests()
            if r["path"].endswith("/api_keys") and "cursor" not in r["query"]
        ]
        assert len(walks) == 1, "one walk (of three pages) for the whole command"
