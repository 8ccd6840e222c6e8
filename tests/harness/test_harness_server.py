"""ProviderServer: the engine's calls on a real `python -m pulumi.dynamic` server."""

from __future__ import annotations

import threading
import time
from typing import Any

import grpc
import pytest
from harness_support.cloud import CounterCloud
from harness_support.counter_provider import CounterProvider
from pulumi.runtime import rpc

from pulumi_edgee.testing import provider_payload, resource_urn
from pulumi_edgee.testing.provider_server import ProviderCallError, ProviderServer

PROVIDER = provider_payload(CounterProvider())
TYPE = "pulumi-python:dynamic/harness:Counter"


def urn(name: str) -> str:
    return resource_urn(name, project="counters", stack="dev", type_=TYPE)


def props(**values: Any) -> dict[str, Any]:
    return {**values, "__provider": PROVIDER}


def test_handshake_negotiates_plain_text(server: ProviderServer) -> None:
    start = len(server.calls)
    assert server.get_plugin_info() == "0.1.0"
    answer = server.configure({"counters:seed": "s"}, secret_keys=["counters:seed"])
    assert (answer.accept_secrets, answer.supports_preview) == (False, False)
    assert server.calls[start:] == ["GetPluginInfo", "Configure"]


def test_crud_round_trip_reports_secrets_and_deletion(
    server: ProviderServer, cloud: CounterCloud
) -> None:
    checked = server.check(urn("rt"), {}, props(name="rt", value=1))
    assert checked.failures == []
    assert checked.inputs == props(name="rt", value=1)
    created = server.create(urn("rt"), checked.inputs)
    assert created.secret_keys == {"signature"}, "only what the provider wrapped is secret"
    assert created.outputs["signature"] == f"sig-{created.id}"
    assert created.outputs["token"].startswith(f"tok-{created.id}-")

    news = props(name="rt", value=2)
    diff = server.diff(created.id, urn("rt"), created.outputs, news, checked.inputs)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == ("some", [], False)
    updated = server.update(created.id, urn("rt"), created.outputs, news, checked.inputs)
    assert updated.outputs["value"] == 2
    assert updated.outputs["token"] == created.outputs["token"]

    read = server.read(created.id, urn("rt"), updated.outputs, news)
    assert (read.id, read.outputs["value"], read.inputs) == (created.id, 2, None)
    server.delete(created.id, urn("rt"), read.outputs, news)
    assert created.id not in cloud.load()["items"]
    gone = server.read(created.id, urn("rt"), read.outputs, news)
    assert (gone.id, gone.outputs) == ("", {"__provider": PROVIDER})


def test_unknown_inputs_reach_the_provider_as_unknowns(server: ProviderServer) -> None:
    checked = server.check(urn("unk"), {}, props(name="unk", value=rpc.UNKNOWN))
    assert checked.inputs["value"] == rpc.UNKNOWN
    diff = server.diff("c0", urn("unk"), props(name="unk", value=1), checked.inputs, {})
    assert diff.changes == "some"


def test_check_failures_come_back_as_pairs(server: ProviderServer) -> None:
    checked = server.check(urn("neg"), {}, props(name="neg", value=-1))
    assert checked.failures == [("value", "value must not be negative")]


def test_provider_exception_is_a_typed_error_with_the_traceback(server: ProviderServer) -> None:
    with pytest.raises(ProviderCallError) as caught:
        server.create(urn("boom"), props(name="boom", value=1, fail_on="create"))
    assert caught.value.method == "Create"
    assert caught.value.code is grpc.StatusCode.UNKNOWN
    assert "Traceback" in caught.value.details
    assert "counter refuses to create" in caught.value.details


def test_provider_output_is_captured(server: ProviderServer) -> None:
    server.create(urn("chatty"), props(name="chatty", value=1))
    # The output is read by a pump thread: it may land just after the call returns.
    deadline = time.monotonic() + 10
    while "counter: creating chatty" not in server.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "counter: creating chatty" in server.stderr_text()
    assert server.stdout_text() == ""


def test_concurrent_calls_are_served_and_logged(server: ProviderServer) -> None:
    start = len(server.calls)
    ids: list[str] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        created = server.create(urn(f"par{n}"), props(name=f"par{n}", value=n))
        with lock:
            ids.append(created.id)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 8
    assert server.calls[start:] == ["Create"] * 8


def test_a_server_that_cannot_start_reports_its_stderr() -> None:
    with pytest.raises(RuntimeError, match="did not report its port") as caught:
        ProviderServer(env={"PYTHONHOME": "/nonexistent"}, startup_timeout=20)
    assert "encoding" in str(caught.value)
