"""The checks that compare the emulator's keys with the stacks after each command."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pulumi_edgee.registry import ROTATING_API_KEY
from pulumi_edgee.spec import ApiKeySpec, RotatingApiKeySpec

from ..engine import (
    ModelStack,
    ResourceState,
)
from .scenarios import ORGANIZATION, OTHER_ORGANIZATION


def short_reason(text: str) -> str:
    """An error's last line with ids, names and numbers blanked, to group failures."""
    line = text.strip().splitlines()[-1] if text.strip() else "(no details)"
    line = re.sub(r"key_[A-Za-z0-9]+", "key_…", line)
    line = re.sub(r"'[^']*'", "'…'", line)
    line = re.sub(r"\d{4}-\d\d-\d\dT[\d:]+Z", "<time>", line)
    line = re.sub(r"\b\d+(\.\d+)?s\b", "<n>s", line)
    return line[:200]


def _rotating(resource: ResourceState) -> bool:
    return resource.type in (ROTATING_API_KEY.token, ROTATING_API_KEY.dynamic_token)


def held_keys(resource: ResourceState) -> dict[str, Any]:
    """The keys a resource holds, by id, with the secret its state stores for each: an
    ApiKey's id is its key's; a RotatingApiKey holds its current key (first) and, during a
    grace period, its previous key."""
    if not _rotating(resource):
        return {resource.id: resource.outputs.get("key")}
    outputs = resource.outputs
    pairs = (("keyId", "key"), ("previousKeyId", "previousKey"))
    return {outputs[i]: outputs.get(k) for i, k in pairs if outputs.get(i)}


def _days(created: str | None, expires: str | None) -> int | None:
    if created is None or expires is None:
        return None
    start = datetime.fromisoformat(created.replace("Z", "+00:00"))
    end = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    return round((end - start).total_seconds() / 86400)


def _live_differences(
    name: str,
    spec: ApiKeySpec,
    live: Mapping[str, Any],
    *,
    check_email: bool,
) -> str:
    wanted = {
        "name": spec.name,
        "type": spec.type,
        "coding_assistant": spec.coding_assistant,
        "models": sorted(spec.models),
        "max_usage": spec.max_usage,
        "email": spec.email,
        "active": spec.active,
        "expires_in_days": spec.expires_in_days,
    }
    actual = {
        **{k: live.get(k) for k in wanted},
        "models": sorted(live.get("models") or ()),
        "expires_in_days": _days(live.get("created_at"), live.get("expires_at")),
    }
    if not check_email:
        del wanted["email"]
    diffs = [
        f"{k}: live {actual[k]!r}, declared {v!r}" for k, v in wanted.items() if actual[k] != v
    ]
    return f"{name} ({live['id']}): " + "; ".join(diffs) if diffs else ""


def _output_differences(name: str, resource: ResourceState, live: Mapping[str, Any]) -> str:
    pairs = {
        "name": "name",
        "type": "type",
        "codingAssistant": "coding_assistant",
        "maxUsage": "max_usage",
        "active": "active",
    }
    diffs = [
        f"{out}: state {resource.outputs.get(out)!r}, live {live.get(key)!r}"
        for out, key in pairs.items()
        if resource.outputs.get(out) != live.get(key)
    ]
    if sorted(resource.outputs.get("models") or ()) != sorted(live.get("models") or ()):
        diffs.append("models differ")
    return f"{name} ({resource.id}) outputs: " + "; ".join(diffs) if diffs else ""


@dataclass(frozen=True)
class Inconsistency:
    """One way the stack's state and the emulator's keys disagree."""

    category: str
    detail: str
    key_id: str | None = None


def inconsistencies(
    stack: ModelStack,
    live: Mapping[str, Mapping[str, Any]],
    program: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    others: Sequence[ModelStack] = (),
    unseen_email: Collection[str] = (),
) -> list[Inconsistency]:
    """Compare a stack's state with the organization's live keys (`Harness.live_keys()`).

    Always: every live key in exactly one resource (`others` are further stacks of the
    same organization), every key a resource holds alive, and its stored secret the live
    one.
    With `program` (after an `up` or a `destroy`): state holds exactly the program's
    resources, no replaced key is left, and inputs, outputs and live keys match it (but
    the `email` of the keys in `unseen_email`, whose update was acknowledged without
    being applied: the Console API never returns `email`, so that cannot be noticed).
    """
    found: list[Inconsistency] = []
    entries = stack.all()
    ids = Counter(key_id for _, resource in entries for key_id in held_keys(resource))
    elsewhere = {k for other in others for _, r in other.all() for k in held_keys(r)}
    for key_id, n in ids.items():
        if n > 1:
            names = [name for name, r in entries if key_id in held_keys(r)]
            found.append(Inconsistency("duplicates", f"{names} all hold key {key_id}", key_id))
        if key_id in elsewhere:
            detail = f"{key_id} is also in another stack's state"
            found.append(Inconsistency("owned_by_two_stacks", detail, key_id))
    for key_id, key in live.items():
        if key_id not in ids and key_id not in elsewhere:
            detail = f"live key {key_id} ({key['name']!r}) is in no resource"
            found.append(Inconsistency("orphans", detail, key_id))
    for name, resource in entries:
        keys = held_keys(resource)
        if not keys:
            detail = f"{name} ({resource.id}) holds no key"
            found.append(Inconsistency("ghosts", detail, resource.id))
        for key_id, secret in keys.items():
            held = live.get(key_id)
            if held is None:
                detail = f"{name} holds {key_id}, which is gone"
                found.append(Inconsistency("ghosts", detail, key_id))
            elif secret != held["key"]:
                detail = f"{name} ({key_id}) stores another secret than the live key's"
                found.append(Inconsistency("lost_secrets", detail, key_id))
    if program is None:
        return found
    if set(stack.resources) != set(program) or stack.pending_deletes:
        detail = (
            f"state has {sorted(stack.resources)} (+{len(stack.pending_deletes)} replaced "
            f"keys not deleted), the program {sorted(program)}"
        )
        return [*found, Inconsistency("mismatches", detail)]
    for name, resource in stack.resources.items():
        model = RotatingApiKeySpec if _rotating(resource) else ApiKeySpec
        spec = model.model_validate(program[name])
        wanted = spec.to_wire()
        stored = {k: v for k, v in resource.inputs.items() if k != "__provider"}
        if stored != wanted:
            detail = f"{name} inputs {stored} != {wanted}"
            found.append(Inconsistency("mismatches", detail, resource.id))
        current_id = next(iter(held_keys(resource)), "")
        current = live.get(current_id)
        if current is None:
            continue
        for difference in (
            _live_differences(name, spec, current, check_email=current_id not in unseen_email),
            _output_differences(name, resource, current),
        ):
            if difference:
                found.append(Inconsistency("mismatches", difference, resource.id))
    return found


def taken_from_another_stack(
    stacks: Mapping[str, ModelStack], first_held: dict[str, str]
) -> list[Inconsistency]:
    """Keys a stack holds that another stack held first (in `first_held`, key id to stack,
    which this extends with the ids seen for the first time). Ids are never reused, so
    the first stack to hold a key made it: a later holder took another stack's key, even
    once the first has let it go (deleted it from under the taker, or was destroyed)."""
    found: list[Inconsistency] = []
    for label, stack in stacks.items():
        for key_id in sorted({k for _, resource in stack.all() for k in held_keys(resource)}):
            first = first_held.setdefault(key_id, label)
            if first != label:
                detail = f"stack {label!r} holds {key_id}, which stack {first!r} held first"
                found.append(Inconsistency("owned_by_two_stacks", detail, key_id))
    return found


def misdirection_problems(
    error: str | None,
    state: tuple[object, object],
    state_after: tuple[object, object],
    keys: Mapping[str, str],
    keys_after: Mapping[str, str],
) -> list[str]:
    """What a command configured for `OTHER_ORGANIZATION` on a stack of `ORGANIZATION`
    did wrong: it must fail naming both organizations, leave the state as it was and
    delete no key of either organization (`keys`: key id to organization)."""
    found: list[str] = []
    if error is None:
        found.append("the command succeeded")
    elif ORGANIZATION not in error or OTHER_ORGANIZATION not in error:
        found.append(f"the error does not name both organizations: {short_reason(error)}")
    if state_after != state:
        found.append("the stack's state changed")
    gone = sorted(f"{k} ({org})" for k, org in keys.items() if k not in keys_after)
    if gone:
        found.append(f"keys deleted: {', '.join(gone)}")
    return found
