"""`check`: validation of a resource's desired inputs, the first call the engine makes.

Kept apart from `lifecycle` so that a provider process answers its first call without
loading the Console API client (httpx, the wire models): only a new resource that
adopts a key needs the client at preview time, and it is given a session for that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pulumi.output import contains_unknowns

from . import markers
from .properties import SECRET_INPUTS, Change
from .results import Checked, Failure
from .spec import ApiKeySpec, validate

if TYPE_CHECKING:
    from .session import Session

PROVIDER_KEY = "__provider"


def inputs_of(props: Mapping[str, Any], model: type[ApiKeySpec] = ApiKeySpec) -> dict[str, Any]:
    """The input properties of a property bag (outputs and `__provider` left out), as the
    resource whose spec is `model` takes them."""
    return {
        k: v
        for k, v in props.items()
        if k in model.props and model.props[k].change is not Change.OUTPUT_ONLY
    }


def check(
    news: Mapping[str, Any],
    olds: Mapping[str, Any] | None = None,
    session: Session | None = None,
    model: type[ApiKeySpec] = ApiKeySpec,
) -> Checked:
    """Validate the desired inputs as `model` (the resource's spec); unknown values
    (preview) are judged once known.

    With a session, a new resource's `adopt_id` is checked against the live key.
    """
    inputs = {k: v for k, v in news.items() if k != PROVIDER_KEY}
    unknown = frozenset(k for k, v in inputs.items() if contains_unknowns(v))
    spec, failures = validate(inputs_of(inputs, model), unknown, model)
    checked = [Failure(f.property, f.reason) for f in failures]
    if spec is not None:
        inputs = spec.to_wire()
        if SECRET_INPUTS in news:  # kept for the steps that follow (see `redaction`)
            inputs[SECRET_INPUTS] = news[SECRET_INPUTS]
        if markers.parse(spec.name) is not None:
            reason = (
                f"names of the form {markers.PREFIX}<token>:<time> are reserved for keys "
                "being created (such a key is removed once that time is past): choose "
                "another name"
            )
            checked.append(Failure("name", reason))
        if session is not None and spec.adopt_id is not None and not inputs_of(olds or {}, model):
            from . import takeover  # the Console API client: only when adopting

            checked += [Failure(p, r) for p, r in takeover.check_failures(session, spec)]
    return Checked(inputs, checked)
