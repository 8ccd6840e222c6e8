"""The rotation rule as a pure function of the time: boundary days, unknown inputs, and a
freshly made key never due (so rotation cannot loop)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pulumi.output import Unknown

from pulumi_edgee import lifecycle, rotation

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def _due(**kwargs: object) -> str | None:
    found = rotation.due(NOW, **kwargs)  # type: ignore[arg-type]
    return None if found is None else found.prop


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (7 * DAY + SECOND, None),
        (7 * DAY, "rotateBeforeExpiryDays"),
        (7 * DAY - SECOND, "rotateBeforeExpiryDays"),
        (-DAY, "rotateBeforeExpiryDays"),
    ],
)
def test_before_expiry_boundary(left: timedelta, expected: str | None) -> None:
    assert (
        _due(
            created_at=NOW - 30 * DAY,
            expires_at=NOW + left,
            before_expiry_days=7,
            every_days=None,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("age", "expected"),
    [(30 * DAY - SECOND, None), (30 * DAY, "rotateEveryDays"), (400 * DAY, "rotateEveryDays")],
)
def test_age_boundary(age: timedelta, expected: str | None) -> None:
    assert (
        _due(created_at=NOW - age, expires_at=None, before_expiry_days=None, every_days=30)
        == expected
    )


def test_nothing_declared_or_nothing_to_measure_is_never_due() -> None:
    old = NOW - 1000 * DAY
    assert _due(created_at=old, expires_at=NOW, before_expiry_days=None, every_days=None) is None
    assert _due(created_at=old, expires_at=None, before_expiry_days=7, every_days=None) is None


def test_a_fresh_key_is_never_due() -> None:
    """Any settings `check` accepts leave a key made now undue: rotation cannot loop."""
    for expires in range(1, 120):
        for before in range(1, expires):
            assert (
                lifecycle.check(
                    {"name": "k", "expiresInDays": expires, "rotateBeforeExpiryDays": before}
                ).failures
                == []
            )
            assert (
                rotation.due(
                    NOW,
                    created_at=NOW,
                    expires_at=NOW + expires * DAY,
                    before_expiry_days=before,
                    every_days=1,
                )
                is None
            )


def test_check_refuses_settings_that_would_loop() -> None:
    same = lifecycle.check({"name": "k", "expiresInDays": 30, "rotateBeforeExpiryDays": 30})
    assert [f.property for f in same.failures] == ["rotateBeforeExpiryDays"]
    assert "every new key would be due" in same.failures[0].reason
    no_expiry = lifecycle.check({"name": "k", "rotateBeforeExpiryDays": 3})
    assert "needs `expires_in_days`" in no_expiry.failures[0].reason
    unknown = lifecycle.check(
        {"name": "k", "expiresInDays": Unknown(), "rotateBeforeExpiryDays": 3}
    )
    assert unknown.failures == [], "judged once known"


def test_replaces_reads_state_and_waits_for_unknowns(capsys: pytest.CaptureFixture[str]) -> None:
    olds = {"createdAt": "2026-05-01T12:00:00Z", "expiresAt": "2026-06-05T12:00:00Z"}
    assert rotation.replaces("key_1", olds, {"rotateBeforeExpiryDays": 7.0}, NOW) == [
        "rotateBeforeExpiryDays"
    ]
    assert (
        "API key key_1 is due for rotation: it expires at 2026-06-05T12:00:00Z"
        in capsys.readouterr().out
    )
    assert rotation.replaces("key_1", olds, {"rotateBeforeExpiryDays": 3}, NOW) == []
    assert rotation.replaces("key_1", olds, {"rotateEveryDays": 31}, NOW) == ["rotateEveryDays"]
    assert rotation.replaces("key_1", olds, {"rotateEveryDays": 32}, NOW) == []
    unknown = {"rotateEveryDays": Unknown(), "rotateBeforeExpiryDays": 7}
    assert rotation.replaces("key_1", olds, unknown, NOW) == []
    assert rotation.replaces("key_1", {}, {"rotateEveryDays": 1}, NOW) == [], "no timestamps"
