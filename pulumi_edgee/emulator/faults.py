"""Fault rules: what they are, how a posted rule is validated, and how they are matched.

A rule concerns the requests whose method and path it matches; the HTTP layer carries
out the decision (app.py), this module only keeps the rules and their counts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, get_args

from .errors import FieldError, ValidationFailed
from .validation import int_range_error

DEFAULT_FAULT_PATH = "/v1/.*"
MAX_FAULT_DELAY_MS = 60_000

_METHOD_RE = re.compile(r"[A-Za-z]+")

LIST_PATH = "/v1/organizations/[^/]+/api_keys"
# An unreadable body for apply_then_garble: deeper than any JSON parser's recursion limit.
GARBLED_BODY = "[" * 50_000

FaultKind = Literal[
    "latency",
    "rate_limit",
    "server_error",
    "drop_connection",
    "apply_then_fail",
    "late_apply",
    "apply_then_garble",
    "slow_drip",
    "endless_pages",
    "growing_pages",
    "answer_unapplied",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
_FAULT_COMMON_FIELDS = frozenset({"kind", "method", "path", "count"})
_FAULT_KIND_FIELDS: dict[str, frozenset[str]] = {
    "latency": frozenset({"delay_ms"}),
    "rate_limit": frozenset({"retry_after"}),
    "server_error": frozenset({"status", "retry_after", "body"}),
    "drop_connection": frozenset(),
    "apply_then_fail": frozenset({"status", "drop"}),
    "late_apply": frozenset({"delay_ms"}),
    "apply_then_garble": frozenset({"status", "body"}),
    "slow_drip": frozenset({"interval_ms"}),
    "endless_pages": frozenset(),
    "growing_pages": frozenset(),
    "answer_unapplied": frozenset(),
}
# Kinds that concern one route unless told otherwise: (method, path).
_KIND_DEFAULT_TARGET: dict[str, tuple[str, str]] = {
    "endless_pages": ("GET", LIST_PATH),
    "growing_pages": ("GET", LIST_PATH),
}


@dataclass(frozen=True)
class FaultRule:
    """An armed fault; `remaining` is None for a rule that lasts until cleared."""

    id: str
    kind: FaultKind
    method: str
    path: str
    count: int | None
    remaining: int | None
    delay_ms: int | None = None
    retry_after: int | None = None
    status: int | None = None
    drop: bool = False
    body: str | None = None
    interval_ms: int | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule concerns a request (path must match as a whole)."""
        if self.method not in ("*", method.upper()):
            return False
        return re.fullmatch(self.path, path) is not None


@dataclass(frozen=True)
class FaultDecision:
    """What the armed rules do to one request: a total delay, then at most one rule."""

    delay_ms: int = 0
    delayed: bool = False
    rule: FaultRule | None = None

    @property
    def label(self) -> str | None:
        """The name the request log shows: the deciding kind, else `latency` if delayed."""
        if self.rule is not None:
            return self.rule.kind
        return "latency" if self.delayed else None


def _fault_int(
    spec: Mapping[str, object],
    field: str,
    default: int | None,
    bounds: tuple[int, int],
    errors: list[FieldError],
) -> int | None:
    value = spec.get(field, default)
    if value is None:
        return None
    message = int_range_error(field, value, bounds)
    if message is not None:
        errors.append(FieldError(field, message))
        return None
    assert isinstance(value, int)
    return value


def _require(spec: Mapping[str, object], kind: str, field: str, errors: list[FieldError]) -> None:
    if spec.get(field) is None:
        errors.append(FieldError(field, f"{field} is required for a {kind} rule."))


def _fault_str(
    spec: Mapping[str, object], field: str, default: str, errors: list[FieldError]
) -> str | None:
    value = spec.get(field, default)
    if not isinstance(value, str):
        errors.append(FieldError(field, f"{field} must be a string."))
        return None
    return value


def parse_fault(spec: Mapping[str, object], rule_id: str) -> FaultRule:
    """Validate a fault rule as posted to /_emulator/faults; unknown fields are errors."""
    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise ValidationFailed(
            [FieldError("kind", "kind must be one of: " + ", ".join(FAULT_KINDS) + ".")]
        )
    allowed = _FAULT_COMMON_FIELDS | _FAULT_KIND_FIELDS[kind]
    errors = [
        FieldError(field, f"{field} is not a field of a {kind} rule.")
        for field in sorted(set(spec) - allowed)
    ]
    default_method, default_path = _KIND_DEFAULT_TARGET.get(kind, ("*", DEFAULT_FAULT_PATH))
    method = spec.get("method", default_method)
    if not isinstance(method, str) or (method != "*" and _METHOD_RE.fullmatch(method) is None):
        errors.append(FieldError("method", "method must be an HTTP method or '*'."))
        method = "*"
    path = spec.get("path", default_path)
    if not isinstance(path, str):
        errors.append(FieldError("path", "path must be a regular expression string."))
        path = DEFAULT_FAULT_PATH
    else:
        try:
            re.compile(path)
        except re.error as exc:
            errors.append(FieldError("path", f"path is not a valid regular expression: {exc}."))
    count = spec.get("count", 1)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        errors.append(FieldError("count", "count must be a positive integer or null."))
        count = 1
    delay_ms = retry_after = status = interval_ms = None
    drop = False
    body: str | None = None
    if kind in ("latency", "late_apply"):
        _require(spec, kind, "delay_ms", errors)
        delay_ms = _fault_int(spec, "delay_ms", None, (0, MAX_FAULT_DELAY_MS), errors)
    elif kind == "slow_drip":
        _require(spec, kind, "interval_ms", errors)
        interval_ms = _fault_int(spec, "interval_ms", None, (0, MAX_FAULT_DELAY_MS), errors)
    elif kind == "apply_then_garble":
        status = _fault_int(spec, "status", 201, (200, 599), errors)
        body = _fault_str(spec, "body", GARBLED_BODY, errors)
    elif kind == "rate_limit":
        retry_after = _fault_int(spec, "retry_after", 1, (0, 86_400), errors)
    elif kind == "server_error":
        status = _fault_int(spec, "status", 503, (400, 599), errors)
        retry_after = _fault_int(spec, "retry_after", None, (0, 86_400), errors)
        if "body" in spec:  # the error message, as a server might word it
            body = _fault_str(spec, "body", "", errors)
    elif kind == "apply_then_fail":
        status = _fault_int(spec, "status", 500, (400, 599), errors)
        raw_drop = spec.get("drop", False)
        if not isinstance(raw_drop, bool):
            errors.append(FieldError("drop", "drop must be a boolean."))
        drop = raw_drop is True
    if errors:
        raise ValidationFailed(errors)
    return FaultRule(
        id=rule_id,
        kind=kind,
        method=method.upper(),
        path=path,
        count=count if isinstance(count, int) else None,
        remaining=count if isinstance(count, int) else None,
        delay_ms=delay_ms,
        retry_after=retry_after,
        status=status,
        drop=drop,
        body=body,
        interval_ms=interval_ms,
    )


def fault_json(rule: FaultRule) -> dict[str, object]:
    """A fault rule as the admin API shows it."""
    return {
        "id": rule.id,
        "kind": rule.kind,
        "method": rule.method,
        "path": rule.path,
        "count": rule.count,
        "remaining": rule.remaining,
        "delay_ms": rule.delay_ms,
        "retry_after": rule.retry_after,
        "status": rule.status,
        "drop": rule.drop,
        "body": rule.body,
        "interval_ms": rule.interval_ms,
    }


class FaultRules:
    """The armed rules, in the order added, behind their own lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: Mapping[str, object]) -> FaultRule:
        """Arm a rule after the existing ones (raises ValidationFailed)."""
        with self._lock:
            rule = parse_fault(spec, f"fault_{self._next_id}")
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def armed(self) -> list[FaultRule]:
        """The rules still armed, in the order added."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._rules.clear()

    def match(self, method: str, path: str) -> FaultDecision:
        """Consume the rules that apply to one request, in order.

        Latency rules add their delay and let checking go on; the first other matching
        rule decides and stops it. Each matched rule's count goes down by one.
        """
        with self._lock:
            delay_ms = 0
            delayed = False
            decider: FaultRule | None = None
            for index, rule in enumerate(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.remaining is not None:
                    self._rules[index] = replace(rule, remaining=rule.remaining - 1)
                if rule.kind != "latency":
                    decider = rule
                    break
                delay_ms += rule.delay_ms or 0
                delayed = True
            self._rules = [rule for rule in self._rules if rule.remaining != 0]
            return FaultDecision(delay_ms=delay_ms, delayed=delayed, rule=decider)
