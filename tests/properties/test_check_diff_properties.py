"""Check and diff over arbitrary input shapes: CheckFailures or a clean answer, never an
exception; diff deterministic and blind to the order and repetition of models.

Inputs reach the provider from a program (any Python value a user can write, encoded on
the wire as null, bool, double, string, list or map), with unknowns during a preview, or
from state (which people edit, and older versions wrote). These call the lifecycle and
the provider in-process, which is fast; the gRPC boundary is covered elsewhere.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pulumi.dynamic import CheckResult
from pulumi.output import Unknown, contains_unknowns

from pulumi_edgee import lifecycle
from pulumi_edgee.properties import (
    CODING_ASSISTANTS,
    INPUT_PROPS,
    KEY_TYPES,
    PROPS,
    REPLACE_PROPS,
    Change,
    python_name,
)
from pulumi_edgee.provider import ApiKeyProvider
from pulumi_edgee.results import Checked, Diff
from pulumi_edgee.spec import ApiKeySpec
from pulumi_edgee.testing import provider_payload
from pulumi_edgee.testing.secrets import LeakDetector

from .support import EXAMPLES

INPUT_NAMES = [p.wire for p in INPUT_PROPS]
CREATE_ONLY_NAMES = {p.wire for p in INPUT_PROPS if p.change is Change.CREATE_ONLY}
# Inputs whose wire name differs from the Python one: reasons use the Python spelling.
CAMEL_ONLY = {p.wire for p in INPUT_PROPS if p.wire != p.python}
ALL_NAMES = [p.wire for p in PROPS]
TOKEN = "tok_properties_51c0e3a7"

# --------------------------------------------------------------------------- strategies

huge_text = st.builds(
    lambda chunk, times: chunk * times,
    st.text(min_size=1, max_size=8),
    st.integers(min_value=300, max_value=40_000),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 1.0, 1.5, -0.0, 1e300, 2**53 + 1, 1_000_000_001, 3651]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    huge_text,
    st.builds(Unknown),
)
# Anything a program, the wire or an edited state can hold.
anything = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.text(max_size=12), children, max_size=6),
    ),
    max_leaves=8,
)
_segment = st.text(alphabet="abcXYZ019._-:", min_size=0, max_size=8)
valid_model_names = st.builds(
    "{}{}/{}{}".format,
    st.sampled_from("aZ0"),
    st.text(alphabet="abcXYZ019._-", max_size=8),
    st.sampled_from("bY1"),
    _segment,
)
model_names = st.one_of(
    valid_model_names,
    st.builds("{}/{}".format, _segment, _segment),
    st.sampled_from(["anthropic/claude-opus-4-6", "a/", "/b", "ab", "a/b/c", " a/b"]),
)
# Values near the valid ones, where validation has to decide.
plausible: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(st.text(max_size=300), st.just("   "), huge_text),
    "type": st.one_of(st.sampled_from([*KEY_TYPES, "API", "", "coding-agent"]), st.text()),
    "codingAssistant": st.one_of(st.none(), st.sampled_from([*CODING_ASSISTANTS, "Codex"])),
    "models": st.one_of(
        st.none(),
        st.lists(model_names, max_size=5),
        st.lists(st.one_of(model_names, st.text(max_size=20), st.builds(Unknown)), max_size=5),
    ),
    "maxUsage": st.one_of(st.none(), numbers, st.booleans(), st.text(max_size=5)),
    "expiresInDays": st.one_of(st.none(), numbers, st.booleans()),
    "email": st.one_of(
        st.none(),
        st.sampled_from(["ops@example.com", "a@b", "a@b.c", "@b.c", "a b@c.d", "ops@ex.com."]),
        st.text(max_size=30),
        huge_text,
    ),
    "active": st.one_of(st.none(), st.booleans(), st.sampled_from([0, 1, "true"])),
}


def _value(name: str) -> st.SearchStrategy[Any]:
    """A property's value: near the valid ones, anything at all, or unknown."""
    near = plausible.get(name, anything)
    return st.one_of(near, near, anything, st.builds(Unknown))


def property_bags(**overrides: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the resource's properties (any may be missing; `overrides` replace a
    property's values), sometimes stray keys and the `__provider` payload."""
    known = st.fixed_dictionaries(
        {},
        optional={
            **{name: overrides.get(name, _value(name)) for name in ALL_NAMES},
            "__provider": st.just("cHJvdmlkZXI="),
        },
    )
    stray = st.dictionaries(st.text(max_size=15), anything, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, stray)


@st.composite
def valid_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Inputs a user could declare that pass check."""
    inputs: dict[str, Any] = {"name": draw(st.text(min_size=1, max_size=40).filter(str.strip))}
    if draw(st.booleans()):
        inputs["type"] = "coding_agent"
        inputs["codingAssistant"] = draw(st.sampled_from(CODING_ASSISTANTS))
    if draw(st.booleans()):
        inputs["models"] = draw(st.lists(valid_model_names, max_size=5))
    if draw(st.booleans()):
        inputs["maxUsage"] = draw(st.integers(1, 1_000_000_000))
    if draw(st.booleans()):
        inputs["expiresInDays"] = draw(st.integers(1, 3650))
    if draw(st.booleans()):
        inputs["email"] = draw(st.sampled_from(["ops@example.com", "a.b+c@d.example"]))
    if draw(st.booleans()):
        inputs["active"] = draw(st.booleans())
    return inputs


def unknown_props(bag: dict[str, Any]) -> set[str]:
    return {k for k in INPUT_NAMES if k in bag and contains_unknowns(bag[k])}


def assert_clean_check(
    result: CheckResult | Checked, news: dict[str, Any], *, python_names: bool = False
) -> None:
    """Failures name known properties (by their Python names from the dynamic provider),
    once each, in the user's words; unknown values are not judged."""
    assert isinstance(result, (CheckResult, Checked))
    failures = result.failures or []
    spell = python_name if python_names else str
    unknown = {spell(k) for k in unknown_props(news)}
    names = {spell(k) for k in INPUT_NAMES}
    for failure in failures:
        assert failure.property in names, f"unknown property {failure.property!r}"
        assert isinstance(failure.reason, str)
        assert failure.reason.strip()
        assert not failure.reason.startswith(failure.property), "the property is named once"
        assert not any(wire in failure.reason for wire in CAMEL_ONLY), "in Python names"
        assert "tuple" not in failure.reason.lower(), "a list is called a list"
        assert failure.property not in unknown, "an unknown value is not judged"
    reasons = [f.reason for f in failures]
    assert len(set(reasons)) == len(reasons), "no failure is reported twice"
    if not failures and not any(contains_unknowns(v) for v in news.values()):
        ApiKeySpec.model_validate(result.inputs)  # a clean check yields a valid spec


def assert_clean_diff(result: Diff) -> None:
    assert set(result.replaces) <= set(REPLACE_PROPS)
    if result.replaces:
        assert result.changed


def answer(result: Diff) -> tuple[bool, list[str], dict[str, str]]:
    kinds = {name: change.kind.value for name, change in result.changes.items()}
    return (result.changed, sorted(result.replaces), kinds)


@pytest.fixture(scope="module")
def leaks() -> Iterator[LeakDetector]:
    """Every failure reason the provider gave, searched for the token at the end."""
    detector = LeakDetector()
    detector.add_secrets(TOKEN)
    yield detector
    detector.assert_clean()


@pytest.fixture(scope="module")
def provider(leaks: LeakDetector) -> Iterator[ApiKeyProvider]:
    """The provider as the engine holds it, with credentials from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDGEE_CONSOLE_API_TOKEN", TOKEN)
        patch.setenv("EDGEE_ORGANIZATION_ID", "org_1")
        patch.setenv("EDGEE_CONSOLE_URL", "http://127.0.0.1:9")
        instance = ApiKeyProvider()
        yield instance
    leaks.record("__provider", provider_payload(instance))


# --------------------------------------------------------------------------- check


@given(news=property_bags())
def test_check_answers_any_shape_with_failures_or_clean_inputs(news: dict[str, Any]) -> None:
    EXAMPLES["check: any shape"] += 1
    assert_clean_check(lifecycle.check(news), news)


@given(news=property_bags(), olds=st.one_of(st.just({}), valid_inputs()))
def test_provider_check_answers_any_shape(
    provider: ApiKeyProvider, leaks: LeakDetector, olds: dict[str, Any], news: dict[str, Any]
) -> None:
    EXAMPLES["provider.check: any shape"] += 1
    result = provider.check(olds, news)
    assert_clean_check(result, news, python_names=True)
    leaks.record("check failures", [f.reason for f in result.failures or []])


@given(inputs=valid_inputs(), seed=st.integers(0, 2**32))
def test_valid_inputs_pass_and_round_trip(inputs: dict[str, Any], seed: int) -> None:
    EXAMPLES["check: valid inputs round-trip"] += 1
    first = lifecycle.check(inputs)
    assert first.failures == []
    again = lifecycle.check(first.inputs)
    assert again.failures == []
    assert again.inputs == first.inputs, "checked inputs are a fixed point"
    # As the wire delivers them: every number a double, models shuffled and repeated.
    wire = {
        k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in inputs.items()
    }
    if "models" in wire:
        models = wire["models"] * 2
        random.Random(seed).shuffle(models)
        wire["models"] = models
    from_wire = lifecycle.check(wire)
    assert from_wire.failures == []
    assert {k: v for k, v in from_wire.inputs.items() if k != "models"} == {
        k: v for k, v in first.inputs.items() if k != "models"
    }
    assert sorted(from_wire.inputs["models"]) == sorted(first.inputs["models"])


@given(inputs=valid_inputs(), name=st.sampled_from(INPUT_NAMES), data=st.data())
def test_an_unknown_value_is_never_judged(
    inputs: dict[str, Any], name: str, data: st.DataObject
) -> None:
    EXAMPLES["check: unknowns"] += 1
    nested = data.draw(st.sampled_from(["top", "in-list", "in-map"]))
    unknown: Any = {"top": Unknown(), "in-list": [Unknown()], "in-map": {"x": Unknown()}}[nested]
    news = {**inputs, name: unknown}
    result = lifecycle.check(news)
    assert_clean_check(result, news)
    assert all(f.property != name for f in result.failures or [])


@given(value=st.one_of(numbers, st.booleans(), st.text(max_size=5)))
def test_numbers_are_whole_and_in_range_or_fail(value: Any) -> None:
    EXAMPLES["check: numbers"] += 1
    for name, low, high in (("maxUsage", 1, 1_000_000_000), ("expiresInDays", 1, 3650)):
        result = lifecycle.check({"name": "n", name: value})
        valid = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and float(value).is_integer()
            and low <= value <= high
        )
        assert (not result.failures) is valid, (name, value, result.failures)


# --------------------------------------------------------------------------- diff


@given(olds=property_bags(), news=property_bags())
def test_diff_answers_any_shape(olds: dict[str, Any], news: dict[str, Any]) -> None:
    EXAMPLES["diff: any shape"] += 1
    first = lifecycle.diff(olds, news)
    assert_clean_diff(first)
    assert answer(lifecycle.diff(olds, news)) == answer(first)
    # `adoptId` is read only at create: not a change, even unknown.
    if unknown_props(news) - CREATE_ONLY_NAMES:
        assert first.changes, "an unknown input may change"


@pytest.mark.parametrize(
    ("olds", "news"),
    [
        ({"name": "n", "models": 5}, {"name": "n"}),
        ({"name": "n"}, {"name": "n", "models": [["a/b"]]}),
        ({"name": "n", "models": [{"a": "b"}]}, {"name": "n", "models": ["a/b"]}),
        ({"name": "n", "models": Unknown()}, {"name": "n"}),
    ],
    ids=["number", "list-in-list", "map-in-list", "unknown-in-state"],
)
def test_diff_answers_models_of_any_shape(olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Shapes hypothesis found to raise TypeError in diff (now fixed), kept as examples."""
    result = lifecycle.diff(olds, news)
    assert_clean_diff(result)
    assert result.changes


@given(olds=valid_inputs(), news=valid_inputs(), seed=st.integers(0, 2**32))
def test_diff_is_deterministic_and_blind_to_model_order(
    olds: dict[str, Any], news: dict[str, Any], seed: int
) -> None:
    EXAMPLES["diff: determinism, model order"] += 1
    old_state = lifecycle.check(olds).inputs
    checked = lifecycle.check(news).inputs
    first = lifecycle.diff(old_state, checked)
    assert_clean_diff(first)
    assert answer(lifecycle.diff(old_state, checked)) == answer(first)
    shuffled = dict(checked)
    models = list(checked["models"]) * 2
    random.Random(seed).shuffle(models)
    shuffled["models"] = models
    assert answer(lifecycle.diff(old_state, shuffled)) == answer(first)
    same = lifecycle.diff(old_state, old_state)
    assert answer(same) == (False, [], {}), "no change against itself"
    replaced = {p for p in REPLACE_PROPS if old_state.get(p) != checked.get(p)}
    assert set(first.replaces or []) == replaced
