"""ProgramRunner: an unchanged program, the engine's call sequences, state between runs."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from harness_support.cloud import CounterCloud
from harness_support.paths import PROGRAMS, RunnerFactory
from pulumi.runtime import rpc, settings

from pulumi_edgee.testing.program import UNKNOWN_VALUE, EngineError, ProgramRunner, RunResult
from pulumi_edgee.testing.provider_server import ProviderCallError, ProviderServer

HANDSHAKE = ["GetPluginInfo", "Configure"]


def ops(result: RunResult) -> list[tuple[str, str, tuple[str, ...]]]:
    """The custom-resource steps as (name, op, calls), Stack and components left out."""
    return [(s.name, s.op, s.calls) for s in result.steps if s.name != "counters-dev"]


def ok(result: RunResult) -> RunResult:
    assert result.error is None, result.error
    return result


def test_up_creates_and_a_second_up_changes_nothing(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters({"name": "a", "value": 1}, {"name": "b", "depends_on": ["a"]})
    first = ok(stack.up())
    assert first.calls[:2] == HANDSHAKE
    assert ops(first) == [
        ("a", "create", ("Check", "Create")),
        ("b", "create", ("Check", "Create")),
    ]
    a, b = stack.state.get("a"), stack.state.get("b")
    assert cloud.load()["items"][a.id]["value"] == 1
    assert b.inputs["value"] == 7, "the Pulumi.yaml config default reaches the program"
    assert b.dependencies == (a.urn,)
    assert a.provider is not None
    assert first.outputs["aId"].value == a.id

    second = ok(stack.up())
    assert ops(second) == [("a", "same", ("Check", "Diff")), ("b", "same", ("Check", "Diff"))]
    assert stack.state.get("a") == a
    assert second.change_summary == {"same": 3}


def test_preview_makes_only_check_and_diff_calls(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters({"name": "upd", "value": 1}, {"name": "rep"}, {"name": "gone"})
    ok(stack.up())
    before, mark = stack.state, cloud.log_length()
    stack.set_config(
        "counters", [{"name": "upd", "value": 2}, {"name": "rep", "label": "new"}, {"name": "add"}]
    )
    preview = ok(stack.preview())
    assert set(preview.calls) == {*HANDSHAKE, "Check", "Diff"}
    assert {(name, op) for name, op, _ in ops(preview)} == {
        ("upd", "update"),
        ("rep", "replace"),
        ("add", "create"),
        ("gone", "delete"),
        ("rep", "delete-replaced"),
    }
    assert preview.steps_for("rep")[0].calls == ("Check", "Diff", "Check")
    add_id = preview.outputs["addId"]
    assert add_id.value is UNKNOWN_VALUE, "a new resource has no id in preview"
    assert not add_id.known
    assert str(add_id) == "[unknown]"
    assert rpc.UNKNOWN not in repr(preview.outputs), "the wire sentinel never reaches a user"
    assert preview.outputs["addValue"].value == 7, "checked inputs are known in preview"
    assert preview.outputs["addToken"].value is UNKNOWN_VALUE
    assert stack.state == before
    assert cloud.log_length() == mark


def test_in_place_update_keeps_the_id_and_carries_outputs(counters: RunnerFactory) -> None:
    stack = counters({"name": "u", "value": 1})
    ok(stack.up())
    old = stack.state.get("u")
    stack.set_config("counters", [{"name": "u", "value": 5}])
    result = ok(stack.up())
    assert ops(result) == [("u", "update", ("Check", "Diff", "Update"))]
    new = stack.state.get("u")
    assert (new.id, new.outputs["value"], new.outputs["token"]) == (old.id, 5, old.outputs["token"])
    assert result.outputs["uValue"].value == 5


def test_replacement_creates_before_deleting_by_default(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters({"name": "r", "label": "one"})
    ok(stack.up())
    old_id, mark = stack.state.get("r").id, cloud.log_length()
    stack.set_config("counters", [{"name": "r", "label": "two"}])
    result = ok(stack.up())
    assert ops(result) == [
        ("r", "replace", ("Check", "Diff", "Check", "Create")),
        ("r", "delete-replaced", ("Delete",)),
    ]
    new_id = stack.state.get("r").id
    assert cloud.log_since(mark) == [["create", new_id], ["delete", old_id]]
    assert [r.name for r in stack.state.resources if r.custom] == ["r"]


@pytest.mark.parametrize(
    "spec",
    [{"dbr": True}, {"exclusive": True}],
    ids=["resource-option", "provider-diff"],
)
def test_delete_before_replace_deletes_first(
    counters: RunnerFactory, cloud: CounterCloud, spec: dict[str, Any]
) -> None:
    stack = counters({"name": "d", "label": "one", **spec})
    ok(stack.up())
    old_id, mark = stack.state.get("d").id, cloud.log_length()
    stack.set_config("counters", [{"name": "d", "label": "two", **spec}])
    result = ok(stack.up())
    assert ops(result) == [("d", "replace", ("Check", "Diff", "Check", "Delete", "Create"))]
    assert cloud.log_since(mark) == [["delete", old_id], ["create", stack.state.get("d").id]]


def test_the_resource_option_overrides_the_providers_delete_before_replace(
    counters: RunnerFactory,
) -> None:
    stack = counters({"name": "o", "label": "one", "exclusive": True, "dbr": False})
    ok(stack.up())
    stack.set_config("counters", [{"name": "o", "label": "two", "exclusive": True, "dbr": False}])
    result = ok(stack.up())
    assert [op for _, op, _ in ops(result)] == ["replace", "delete-replaced"]


def test_resources_removed_from_the_program_are_deleted_last_first(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters(
        {"name": "keep"},
        {"name": "x"},
        {"name": "y", "depends_on": ["x"]},
        {"name": "z", "depends_on": ["y"]},
    )
    ok(stack.up())
    ids = {name: stack.state.get(name).id for name in "xyz"}
    mark = cloud.log_length()
    stack.set_config("counters", [{"name": "keep"}])
    result = ok(stack.up())
    assert ops(result)[1:] == [(n, "delete", ("Delete",)) for n in "zyx"]
    assert cloud.log_since(mark) == [["delete", ids[n]] for n in "zyx"]
    assert stack.state.names() == ["keep"]


def test_destroy_deletes_in_reverse_dependency_order(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters({"name": "p"}, {"name": "q", "depends_on": ["p"]})
    ok(stack.up())
    ids = [stack.state.get(n).id for n in "qp"]
    mark = cloud.log_length()
    result = ok(stack.destroy())
    assert [(s.name, s.calls) for s in result.steps] == [
        ("q", ("Delete",)),
        ("p", ("Delete",)),
        ("counters-dev", ()),
    ]
    assert cloud.log_since(mark) == [["delete", i] for i in ids]
    assert stack.state.resources == ()


def test_refresh_drops_vanished_resources_and_picks_up_drift(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters({"name": "drift", "value": 1}, {"name": "vanish"})
    ok(stack.up())
    drift, vanish = stack.state.get("drift"), stack.state.get("vanish")
    db = cloud.load()
    db["items"][drift.id]["value"] = 9
    del db["items"][vanish.id]
    cloud.save(db)

    result = ok(stack.refresh())
    assert sorted(ops(result)) == [
        ("drift", "refresh", ("Read", "Diff")),
        ("vanish", "refresh-delete", ("Read",)),
    ]
    assert stack.state.get("drift").outputs["value"] == 9
    assert stack.state.get("drift").inputs["value"] == 1
    assert stack.state.names() == ["drift"]

    repaired = ok(stack.up())
    assert {(name, op) for name, op, _ in ops(repaired)} == {
        ("drift", "update"),
        ("vanish", "create"),
    }


def test_a_failed_refresh_keeps_the_state(counters: RunnerFactory) -> None:
    stack = counters({"name": "rf", "fail_on": "read"})
    ok(stack.up())
    before = stack.state
    result = stack.refresh()
    assert isinstance(result.error, ProviderCallError)
    assert ops(result) == [("rf", "refresh", ("Read",))]
    assert stack.state == before


def test_secret_outputs_follow_the_engine_rules(counters: RunnerFactory) -> None:
    stack = counters(
        {"name": "s", "secret_token": True, "with_seed": True},
        {"name": "plain"},
        seed="s33d-value",
    )
    preview = ok(stack.preview())
    assert preview.outputs["sToken"].value is UNKNOWN_VALUE
    assert preview.outputs["sToken"].secret, "an unknown additional secret output stays secret"
    assert not preview.outputs["plainToken"].secret
    result = ok(stack.up())
    s, plain = stack.state.get("s"), stack.state.get("plain")
    assert "token" in s.secret_outputs, "additional_secret_outputs"
    assert "seed" in s.secret_inputs, "a secret config value stays secret as an input"
    assert "seed" in s.secret_outputs, "an output named like a secret input is secret"
    assert "signature" in plain.secret_outputs, "the provider wrapped it"
    assert "token" not in plain.secret_outputs, "a generated value is plain without the option"
    assert "__provider" in s.secret_outputs
    assert result.outputs["sToken"].secret
    assert not result.outputs["plainToken"].secret
    assert stack.outputs()["sToken"].secret


def test_exported_state_holds_no_plaintext_secret(counters: RunnerFactory) -> None:
    stack = counters(
        {"name": "e", "secret_token": True, "with_seed": True},
        {"name": "f"},
        seed="s33d-in-state",
    )
    ok(stack.up())
    text = json.dumps(stack.export_state())
    e, f = stack.state.get("e"), stack.state.get("f")
    assert e.provider is not None
    for secret in ("s33d-in-state", e.outputs["token"], e.outputs["signature"], e.provider):
        assert secret not in text
    assert f.outputs["token"] in text, "a token without additional_secret_outputs leaks"
    assert '"ciphertext": "[secret]"' in text
    assert json.loads(text)["deployment"]["resources"][1]["outputs"]["value"] == 7


def test_a_failed_create_adds_nothing_and_cancels_the_deployment(
    counters: RunnerFactory,
) -> None:
    stack = counters({"name": "ok1"})
    ok(stack.up())
    stack.set_config("counters", [{"name": "bad", "fail_on": "create"}])
    result = stack.up()
    assert isinstance(result.error, ProviderCallError)
    assert result.error.method == "Create"
    assert ("bad", "create", ("Check", "Create")) in ops(result)
    assert not any(step.op == "delete" for step in result.steps), "no deletes after a failure"
    assert stack.state.names() == ["ok1"]


def test_a_failed_update_keeps_the_old_state(counters: RunnerFactory) -> None:
    stack = counters({"name": "fu", "value": 1})
    ok(stack.up())
    old = stack.state.get("fu")
    stack.set_config("counters", [{"name": "fu", "value": 2, "fail_on": "update"}])
    result = stack.up()
    assert isinstance(result.error, ProviderCallError)
    assert ops(result) == [("fu", "update", ("Check", "Diff", "Update"))]
    assert stack.state.get("fu") == old


def test_a_failed_delete_keeps_the_resource(counters: RunnerFactory, cloud: CounterCloud) -> None:
    stack = counters({"name": "fd", "fail_on": "delete"}, {"name": "other"})
    ok(stack.up())
    stack.set_config("counters", [{"name": "other"}])
    result = stack.up()
    assert isinstance(result.error, ProviderCallError)
    assert result.error.method == "Delete"
    assert "fd" in stack.state.names()
    assert stack.state.get("fd").id in cloud.load()["items"]


def test_a_failed_deferred_delete_is_retried_by_the_next_up(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters({"name": "lk", "label": "one"})
    ok(stack.up())
    old_id = stack.state.get("lk").id
    db = cloud.load()
    db["items"][old_id]["locked"] = True
    cloud.save(db)
    stack.set_config("counters", [{"name": "lk", "label": "two"}])
    failed = stack.up()
    assert isinstance(failed.error, ProviderCallError)
    assert [s.op for s in failed.steps_for("lk")] == ["replace", "delete-replaced"]
    pending = [r for r in stack.state.resources if r.pending_delete]
    assert [r.id for r in pending] == [old_id]
    assert stack.export_state()["deployment"]["resources"][-1]["delete"] is True
    assert stack.state.get("lk").id != old_id

    db = cloud.load()
    db["items"][old_id]["locked"] = False
    cloud.save(db)
    retried = ok(stack.up())
    assert [s.op for s in retried.steps_for("lk")] == ["same", "delete-replaced"]
    assert not any(r.pending_delete for r in stack.state.resources)
    assert old_id not in cloud.load()["items"]


def test_check_failures_fail_the_step_before_any_other_call(counters: RunnerFactory) -> None:
    result = counters({"name": "neg", "value": -1}).up()
    assert isinstance(result.error, EngineError)
    assert "value must not be negative" in str(result.error)
    assert ops(result) == [("neg", "create", ("Check",))]


def test_a_program_error_deletes_nothing(counters: RunnerFactory) -> None:
    stack = counters({"name": "kept"})
    ok(stack.up())
    stack.set_config("counters", [{"nom": "typo"}])
    result = stack.up()
    assert isinstance(result.error, KeyError)
    assert stack.state.names() == ["kept"]


def test_protect_refuses_delete_and_replace(counters: RunnerFactory) -> None:
    stack = counters({"name": "prot", "protect": True})
    ok(stack.up())
    stack.set_config("counters", [{"name": "prot", "protect": True, "label": "other"}])
    replaced = stack.up()
    assert isinstance(replaced.error, EngineError)
    assert ops(replaced) == [("prot", "replace", ("Check", "Diff"))]
    assert "marked for protection" in str(replaced.error)
    stack.set_config("counters", [])
    assert isinstance(stack.up().error, EngineError)
    assert isinstance(stack.destroy().error, EngineError)
    assert "prot" in stack.state.names()


def test_retain_on_delete_leaves_the_resource_behind(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    stack = counters({"name": "ret", "retain": True})
    ok(stack.up())
    kept_id = stack.state.get("ret").id
    stack.set_config("counters", [])
    result = ok(stack.up())
    assert ("ret", "delete", ()) in ops(result)
    assert kept_id in cloud.load()["items"]


def test_ignore_changes_keeps_the_old_input(counters: RunnerFactory) -> None:
    stack = counters({"name": "ign", "value": 1, "ignore_changes": ["value"]})
    ok(stack.up())
    stack.set_config("counters", [{"name": "ign", "value": 3, "ignore_changes": ["value"]}])
    result = ok(stack.up())
    assert ops(result) == [("ign", "same", ("Check", "Diff"))]
    assert stack.state.get("ign").inputs["value"] == 1


def test_an_unknown_diff_is_decided_by_the_engine(counters: RunnerFactory) -> None:
    """With `changes=None` the engine compares inputs itself, and only then can
    `replace_on_changes` apply: with an explicit diff it never sees changed keys."""
    stack = counters(
        {"name": "du", "value": 1, "diff_unknown": True},
        {"name": "roc", "value": 1, "diff_unknown": True, "replace_on_changes": ["value"]},
        {"name": "exp", "value": 1, "replace_on_changes": ["value"]},
    )
    ok(stack.up())
    assert [op for _, op, _ in ops(ok(stack.up()))] == ["same", "same", "same"]
    stack.set_config(
        "counters",
        [
            {"name": "du", "value": 2, "diff_unknown": True},
            {"name": "roc", "value": 2, "diff_unknown": True, "replace_on_changes": ["value"]},
            {"name": "exp", "value": 2, "replace_on_changes": ["value"]},
        ],
    )
    result = ok(stack.up())
    assert {(name, op) for name, op, _ in ops(result)} == {
        ("du", "update"),
        ("roc", "replace"),
        ("roc", "delete-replaced"),
        ("exp", "update"),
    }


def test_get_reads_an_existing_resource_and_never_deletes_it(
    counters: RunnerFactory, cloud: CounterCloud
) -> None:
    owner = counters({"name": "owned", "value": 4})
    ok(owner.up())
    owned_id = owner.state.get("owned").id
    reader = counters({"name": "seen", "label": "owned", "get_id": owned_id})
    read = ok(reader.up())
    assert ops(read) == [("seen", "read", ("Read",))]
    assert reader.state.get("seen").external
    assert read.outputs["seenValue"].value == 4
    assert ok(reader.preview()).steps_for("seen")[0].calls == ("Read",), "reads run in preview"
    destroyed = ok(reader.destroy())
    assert ("seen", "delete", ()) in ops(destroyed)
    assert owned_id in cloud.load()["items"]


def test_import_of_a_dynamic_resource_fails_in_the_server(counters: RunnerFactory) -> None:
    result = counters({"name": "imp", "import_id": "c1"}).up()
    assert isinstance(result.error, ProviderCallError)
    assert result.error.method == "Read"
    assert "KeyError: '__provider'" in result.error.details


def test_several_programs_and_runs_share_one_process(
    server: ProviderServer, counters: RunnerFactory
) -> None:
    mixed = ProgramRunner(PROGRAMS / "mixed", server, {"size": 2})
    counter_stack = counters({"name": "between"})
    first = ok(mixed.up())
    ok(counter_stack.up())
    child = mixed.state.get("group-counter")
    assert child.parent == mixed.state.get("group").urn
    assert "harness:index:Group$pulumi-python:dynamic/harness:Counter" in child.urn
    assert mixed.state.get("group").outputs == {"counterId": child.id}
    assert first.outputs["counterId"].value == child.id

    mixed.set_config("size", 3)
    second = ok(mixed.up())
    assert [(s.name, s.op) for s in second.steps] == [
        ("mixed-dev", "same"),
        ("group", "update"),
        ("group-counter", "update"),
    ]
    assert settings.get_monitor() is None, "no runtime settings leak out of a run"
    assert "group" not in sys.modules, "the program's own modules are imported afresh each run"


@pytest.mark.parametrize(
    ("switch", "message"),
    [("foreign", "not a Python dynamic resource"), ("invoke", "is not supported")],
)
def test_what_the_harness_cannot_serve_fails_clearly(
    server: ProviderServer, switch: str, message: str
) -> None:
    stack = ProgramRunner(PROGRAMS / "mixed", server, {switch: True})
    result = stack.up()
    assert result.error is not None
    assert message in str(result.error)
