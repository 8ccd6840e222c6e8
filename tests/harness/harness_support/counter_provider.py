"""A tiny, generic dynamic provider whose "cloud" is a JSON file.

The file path comes from the ``COUNTER_DB`` environment variable, so the provider server
subprocess (which runs the provider) and the test (which inspects or tampers with the
"cloud") see the same data. The file also keeps an ordered log of creates and deletes, which
is how tests prove the order of a replacement.

Behaviour, per input: ``name`` forces a replacement when it changes, ``value`` is updated in
place (negative values fail Check), ``exclusive`` makes Diff ask for delete-before-replace,
``fail_on`` (``"create"``, ``"read"``, ``"update"`` or ``"delete"``) makes that operation raise,
``diff_unknown`` makes Diff answer ``DiffResult()`` (changes unknown); an item marked
``locked`` in the file cannot be deleted. Outputs
echo the inputs plus a server-generated ``token`` returned in plain text (secret only through
``additional_secret_outputs``) and a ``signature`` the provider wraps as a secret itself.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime import rpc

DB_ENV = "COUNTER_DB"
PROVIDER_KEY = "__provider"

_lock = threading.Lock()


def _db_path() -> Path:
    return Path(os.environ[DB_ENV])


def load_db() -> dict[str, Any]:
    """The whole "cloud": ``items`` by id, the id counter and the create/delete log."""
    path = _db_path()
    if not path.exists():
        return {"next": 1, "items": {}, "log": []}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def save_db(db: dict[str, Any]) -> None:
    """Write the "cloud" back (tests use it to tamper behind the engine's back)."""
    _db_path().write_text(json.dumps(db))


def _plain(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def _fail_if(props: dict[str, Any], operation: str) -> None:
    if props.get("fail_on") == operation:
        raise RuntimeError(f"counter refuses to {operation}")


class CounterProvider(ResourceProvider):
    """Stateless (it holds nothing), so it pickles by reference in a few bytes."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        value = news.get("value")
        failures = []
        if isinstance(value, (int, float)) and value < 0:
            failures.append(CheckFailure("value", "value must not be negative"))
        return CheckResult(dict(news), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if news.get("diff_unknown"):
            return DiffResult()
        replaces = ["name"] if olds.get("name") != news.get("name") else []
        changed = [k for k in ("value", "fail_on", "seed") if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(replaces or changed),
            replaces=replaces,
            delete_before_replace=bool(news.get("exclusive")),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        _fail_if(props, "create")
        print(f"counter: creating {props['name']}", file=sys.stderr)
        with _lock:
            db = load_db()
            id_ = f"c{db['next']}"
            db["next"] += 1
            token = f"tok-{id_}-{secrets.token_hex(8)}"
            db["items"][id_] = {"name": props["name"], "value": props["value"], "token": token}
            db["log"].append(["create", id_])
            save_db(db)
        outs = {**_plain(props), "token": token, "signature": rpc.wrap_rpc_secret(f"sig-{id_}")}
        return CreateResult(id_, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        _fail_if(props, "read")
        with _lock:
            item = load_db()["items"].get(id_)
        if item is None:
            return ReadResult(None, {})
        outs = {**_plain(props), **item, "signature": rpc.wrap_rpc_secret(f"sig-{id_}")}
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _fail_if(news, "update")
        with _lock:
            db = load_db()
            db["items"][id_]["value"] = news["value"]
            save_db(db)
        outs = {
            **_plain(news),
            "token": olds["token"],
            "signature": rpc.wrap_rpc_secret(f"sig-{id_}"),
        }
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _fail_if(props, "delete")
        with _lock:
            db = load_db()
            if db["items"].get(id_, {}).get("locked"):
                raise RuntimeError(f"counter {id_} is locked")
            db["items"].pop(id_, None)
            db["log"].append(["delete", id_])
            save_db(db)


class Counter(Resource, module="harness", name="Counter"):
    """A counter; ``token`` and ``signature`` are computed by the provider."""

    token: pulumi.Output[str]
    signature: pulumi.Output[str]
    value: pulumi.Output[float]

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(CounterProvider(), name, {**props, "token": None, "signature": None}, opts)
