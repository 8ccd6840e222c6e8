"""Create markers and the provider's budgets, without a server."""

from __future__ import annotations

import time

import pytest

from pulumi_edgee import markers
from pulumi_edgee.properties import MAX_NAME_LENGTH
from pulumi_edgee.session import MAX_BUDGET, Deadlines


def test_a_marker_is_unique_parseable_and_holds_its_expiry() -> None:
    first, second = markers.Marker.new(120), markers.Marker.new(120)
    assert first.token != second.token
    assert markers.parse(first.name) == first
    assert time.time() + 119 <= first.expires <= time.time() + 122
    assert len(first.name) <= 255, "fits the Console's name limit"


@pytest.mark.parametrize(
    "name",
    [
        "backend",
        "pulumi-edgee-create:zz" + "0" * 30 + ":1700000000",
        "pulumi-edgee-create:" + "0" * 32 + ":",
        "pulumi-edgee-create:" + "0" * 32 + ":1700000000 ",
        "x pulumi-edgee-create:" + "0" * 32 + ":1700000000",
        "pulumi-edgee-create:" + "0" * 16 + ":1700000000",
        "pulumi-edgee-create:" + "0" * 31 + ":1700000000",
        "pulumi-edgee-create:" + "0" * 33 + ":1700000000",
        "pulumi-edgee-create:" + "0" * 32 + ":1700000000000",
    ],
)
def test_only_the_exact_marker_form_is_a_marker(name: str) -> None:
    assert markers.parse(name) is None
    assert not markers.expired(name, time.time() + 10**9, 0)


def test_a_marker_expires_only_after_its_expiry_and_the_grace() -> None:
    marker = markers.Marker("a" * 32, 1_000)
    assert not markers.expired(marker.name, 1_000, 60)
    assert not markers.expired(marker.name, 1_060, 60)
    assert markers.expired(marker.name, 1_060.5, 60)


def test_budgets_come_from_the_environment_and_bad_values_keep_the_defaults() -> None:
    assert Deadlines.from_environment({}) == Deadlines(30.0, 120.0, 60.0)
    assert Deadlines.from_environment(
        {
            "EDGEE_REQUEST_DEADLINE_SECONDS": "2.5",
            "EDGEE_STEP_DEADLINE_SECONDS": "9",
            "EDGEE_LEFTOVER_GRACE_SECONDS": "0",
        }
    ) == Deadlines(2.5, 9.0, 0.0)
    for bad in ("0", "-1", "nan", "inf", "soon"):
        assert Deadlines.from_environment(
            {"EDGEE_REQUEST_DEADLINE_SECONDS": bad, "EDGEE_LEFTOVER_GRACE_SECONDS": bad}
        ) == Deadlines(30.0, 120.0, 0.0 if bad == "0" else 60.0)


@pytest.mark.parametrize("absurd", ["1e30", "99999999999999", "1e308"])
def test_an_absurd_step_deadline_still_makes_markers_a_walk_can_sweep(absurd: str) -> None:
    """Held to a day: the marker's expiry stays parseable and its name within the API's
    limit (a marker that cannot be parsed is a leftover no walk ever removes)."""
    deadlines = Deadlines.from_environment({"EDGEE_STEP_DEADLINE_SECONDS": absurd})
    assert deadlines.step == MAX_BUDGET
    marker = markers.Marker.new(deadlines.step)
    assert markers.parse(marker.name) == marker
    assert len(marker.name) <= MAX_NAME_LENGTH
    assert markers.expired(marker.name, time.time() + MAX_BUDGET + 2, 1)
