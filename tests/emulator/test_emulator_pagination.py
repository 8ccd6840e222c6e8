"""List pagination: limits, cursors across pages, and cursors that survive deletions."""

from __future__ import annotations

import httpx
import pytest

from pulumi_edgee.testing import EmulatorHandle


def seed(emulator: EmulatorHandle, count: int, organization_id: str = "org_1") -> list[str]:
    """Create keys directly in the backend (fast); returns their ids in creation order."""
    return [
        emulator.backend.create_key(organization_id, {"name": f"key {i}"}).id for i in range(count)
    ]


def walk(api: httpx.Client, limit: int) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = api.get("/api_keys", params=params).json()
        ids += [key["id"] for key in page["data"]]
        assert page["has_more"] is (page["next_cursor"] is not None)
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_default_limit_is_20(emulator: EmulatorHandle, emulator_api: httpx.Client) -> None:
    ids = seed(emulator, 25)
    first = emulator_api.get("/api_keys").json()
    assert [key["id"] for key in first["data"]] == ids[:20]
    assert first["has_more"] is True
    assert isinstance(first["next_cursor"], str)
    second = emulator_api.get("/api_keys", params={"cursor": first["next_cursor"]}).json()
    assert [key["id"] for key in second["data"]] == ids[20:]
    assert (second["has_more"], second["next_cursor"]) == (False, None)


@pytest.mark.parametrize("limit", [1, 3, 7, 10, 11])
def test_walking_all_pages_yields_every_key_once_in_creation_order(
    emulator: EmulatorHandle, emulator_api: httpx.Client, limit: int
) -> None:
    ids = seed(emulator, 10)
    seed(emulator, 3, organization_id="org_2")
    assert walk(emulator_api, limit) == ids


def test_a_full_last_page_has_no_cursor(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    seed(emulator, 4)
    page = emulator_api.get("/api_keys", params={"limit": 4}).json()
    assert (len(page["data"]), page["has_more"], page["next_cursor"]) == (4, False, None)


def test_limit_above_100_is_clamped(emulator: EmulatorHandle, emulator_api: httpx.Client) -> None:
    seed(emulator, 105)
    for limit in ("101", "1000", "99999999999999999999999"):
        page = emulator_api.get("/api_keys", params={"limit": limit}).json()
        assert len(page["data"]) == 100
        assert page["has_more"] is True


def test_cursor_survives_deletions(emulator: EmulatorHandle, emulator_api: httpx.Client) -> None:
    ids = seed(emulator, 9)
    first = emulator_api.get("/api_keys", params={"limit": 3}).json()
    assert [key["id"] for key in first["data"]] == ids[:3]
    # Delete the key the cursor points after, and the first key of the next page.
    for key_id in (ids[2], ids[3]):
        assert emulator_api.delete(f"/api_keys/{key_id}").status_code == 200
    second = emulator_api.get(
        "/api_keys", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [key["id"] for key in second["data"]] == ids[4:7]
    # Deleting everything after the cursor gives an empty last page, not an error.
    for key_id in ids[4:]:
        emulator_api.delete(f"/api_keys/{key_id}")
    third = emulator_api.get("/api_keys", params={"cursor": second["next_cursor"]}).json()
    assert third == {"object": "list", "data": [], "has_more": False, "next_cursor": None}


def test_keys_created_after_a_cursor_appear_on_later_pages(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    ids = seed(emulator, 2)
    first = emulator_api.get("/api_keys", params={"limit": 2}).json()
    assert first["next_cursor"] is None
    ids += seed(emulator, 2)
    page = emulator_api.get("/api_keys", params={"limit": 1}).json()
    assert walk(emulator_api, 1) == ids
    assert page["data"][0]["id"] == ids[0]


def test_an_empty_cursor_means_the_first_page(
    emulator: EmulatorHandle, emulator_api: httpx.Client
) -> None:
    ids = seed(emulator, 2)
    page = emulator_api.get("/api_keys", params={"cursor": ""}).json()
    assert [key["id"] for key in page["data"]] == ids


@pytest.mark.parametrize("limit", ["abc", "0", "-1", "", "1.5", " 5", "+5", "٣"])
def test_bad_limit_is_400(emulator_api: httpx.Client, limit: str) -> None:
    response = emulator_api.get("/api_keys", params={"limit": limit})
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "Bad Request"
    assert payload["errors"][0]["field"] == "limit"


def test_unknown_cursor_is_400(emulator: EmulatorHandle, emulator_api: httpx.Client) -> None:
    seed(emulator, 3)
    seed(emulator, 3, organization_id="org_2")
    other_org_cursor = emulator.backend.list_keys("org_2", limit=1).next_cursor
    good = emulator_api.get("/api_keys", params={"limit": 1}).json()["next_cursor"]
    assert other_org_cursor is not None
    for cursor in ["garbage", "!!!", "é", good + "x", good[:-1], other_org_cursor, "b3JnXzEKOTk"]:
        response = emulator_api.get("/api_keys", params={"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["errors"] == [{"field": "cursor", "message": "cursor is unknown."}]
