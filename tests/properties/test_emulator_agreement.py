"""The emulator's create rules and `pulumi_edgee.spec.validate` agree: over the same
strategies as the check and diff properties, a body that one accepts the other accepts,
and a body they both refuse is refused for the same properties.

They differ on purpose in three places, each applied below before comparing:
- `spec` takes integral floats as integers (Pulumi's wire carries every number as a
  double) and sends integers; the Console API, and so the emulator, takes JSON integers.
- `spec` removes repeated models (declaring one twice is harmless) and sends the list
  without repeats; the emulator refuses a repeated model as the contract says.
- `active` is not a create field of the Console API (the provider sets it by update),
  so it is left out of the bodies.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from pulumi_edgee.emulator.errors import ValidationFailed
from pulumi_edgee.emulator.validation import validate_create
from pulumi_edgee.properties import PYTHON_TO_WIRE, WIRE_TO_PYTHON
from pulumi_edgee.spec import validate, whole_number

from .support import EXAMPLES
from .test_check_diff_properties import anything, plausible, valid_inputs, valid_model_names

# The Console API's create fields, by the names the spec uses.
CREATE_FIELDS = ("name", "type", "coding_assistant", "models", "max_usage", "expires_in_days")
CREATE_FIELDS += ("email",)


# Values at the edges of each rule, where two implementations most easily disagree.
edges: dict[str, st.SearchStrategy[Any]] = {
    "name": st.builds(lambda n, c: c * n, st.sampled_from([255, 256]), st.sampled_from("a ")),
    "email": st.builds(lambda n: "a" * n + "@example.com", st.sampled_from([242, 243])),
    "max_usage": st.sampled_from([0, 1, 1_000_000_000, 1_000_000_001]),
    "expires_in_days": st.sampled_from([0, 1, 3650, 3651]),
}


def _near_or_anything(field: str) -> st.SearchStrategy[Any]:
    near = plausible[PYTHON_TO_WIRE[field]]
    return st.one_of(near, edges.get(field, near), anything)


bodies = st.one_of(
    st.fixed_dictionaries(
        {}, optional={field: _near_or_anything(field) for field in CREATE_FIELDS}
    ),
    st.fixed_dictionaries({}, optional=edges),
    valid_inputs().map(
        lambda inputs: {
            WIRE_TO_PYTHON[wire]: value for wire, value in inputs.items() if wire != "active"
        }
    ),
)


def _as_json(body: dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON client would send it; hypothesis drops what JSON cannot carry."""
    try:
        text = json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):  # an unknown, NaN or infinity: no JSON body
        assume(False)
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def _as_provider_sends(body: dict[str, Any]) -> dict[str, Any]:
    """The two normalisations the provider applies before a create (see the docstring)."""
    sent = dict(body)
    for field in ("max_usage", "expires_in_days"):
        if field in sent:
            sent[field] = whole_number(sent[field])
    models = sent.get("models")
    if isinstance(models, list) and all(isinstance(m, str) for m in models):
        sent["models"] = list(dict.fromkeys(models))
    return sent


def _emulator_refuses(body: dict[str, Any]) -> set[str]:
    try:
        validate_create(body)
    except ValidationFailed as refused:
        return {error.field for error in refused.errors}
    return set()


def _spec_refuses(body: dict[str, Any]) -> set[str]:
    _, failures = validate({PYTHON_TO_WIRE[field]: value for field, value in body.items()})
    return {WIRE_TO_PYTHON[failure.property] for failure in failures}


@given(bodies)
def test_emulator_and_spec_accept_and_refuse_the_same_bodies(raw: dict[str, Any]) -> None:
    EXAMPLES["emulator and spec agree"] += 1
    body = _as_json(raw)
    assert _emulator_refuses(_as_provider_sends(body)) == _spec_refuses(body)


@given(st.lists(valid_model_names, min_size=1, max_size=4))
def test_repeated_models_are_the_one_intended_difference(models: list[str]) -> None:
    EXAMPLES["repeated models"] += 1
    body = {"name": "k", "models": [*models, *models]}
    assert _spec_refuses(body) == set()
    assert _emulator_refuses(body) == {"models"}
    assert _emulator_refuses(_as_provider_sends(body)) == set()
