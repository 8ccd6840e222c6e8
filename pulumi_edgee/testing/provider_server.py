"""Drive a real ``python -m pulumi.dynamic`` provider server the way the Pulumi engine does.

The engine talks to a Python dynamic provider over gRPC, in a separate process, with plain
(secret-free) property structs. Testing through that same server catches what calling the
provider class directly cannot: pickling of the provider, the server's own (de)serialisation,
``configure`` caching, secret unwrapping, and tracebacks leaking into gRPC error details.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, NamedTuple, TypedDict

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

__all__ = [
    "CheckResponse",
    "ConfigureResponse",
    "CreateResponse",
    "DiffResponse",
    "ProviderCallError",
    "ProviderServer",
    "ReadResponse",
    "UpdateResponse",
    "check_request",
    "create_request",
    "decode_properties",
    "encode_properties",
    "read_request",
    "urn_name",
    "urn_type",
]

Changes = Literal["none", "some", "unknown"]

_KIND_NAMES = {v: k for k, v in provider_pb2.PropertyDiff.Kind.items()}
_CHANGES: dict[int, Changes] = {
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_SOME: "some",
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
}


class ProviderCallError(Exception):
    """A provider call answered with a gRPC error (a provider exception arrives as UNKNOWN).

    ``details`` is what the engine would print: for a Python dynamic provider, the full
    traceback of the exception, which is why provider exceptions must never carry secrets.
    """

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{method} failed with {code.name}: {details}")
        self.method = method
        self.code = code
        self.details = details


class ConfigureResponse(NamedTuple):
    """The protocol options the server negotiated; the engine sends plain text when
    ``accept_secrets`` is False."""

    accept_secrets: bool
    supports_preview: bool
    accept_resources: bool


class CheckResponse(NamedTuple):
    """Checked inputs (plain values), validation failures as ``(property, reason)``, and the
    top-level input names the provider returned wrapped as secrets."""

    inputs: dict[str, Any]
    failures: list[tuple[str, str]]
    secret_keys: frozenset[str] = frozenset()


class DiffResponse(NamedTuple):
    """A diff: whether it changes, what it replaces, and delete-before-replace; the detail
    (property -> kind: `UPDATE`, `ADD_REPLACE`, ...) only a provider plugin sends."""

    changes: Changes
    replaces: list[str]
    delete_before_replace: bool
    detailed_diff: dict[str, str] = {}  # noqa: RUF012 - a NamedTuple default, never mutated
    has_detailed_diff: bool = False


class CreateResponse(NamedTuple):
    """The new id, the outputs (plain values) and the names of outputs that arrived as secrets."""

    id: str
    outputs: dict[str, Any]
    secret_keys: frozenset[str]


class ReadResponse(NamedTuple):
    """``id`` is empty when the resource is gone; ``inputs`` is None unless the provider
    returned ``ReadResult.inputs``."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None
    secret_keys: frozenset[str]


class UpdateResponse(NamedTuple):
    """Outputs after the update (they replace all previous outputs) and their secret names."""

    outputs: dict[str, Any]
    secret_keys: frozenset[str]


def urn_type(urn: str) -> str:
    """The resource type token in a URN (the last segment of a parent-qualified type)."""
    return urn.split("::")[2].split("$")[-1]


def urn_name(urn: str) -> str:
    """The logical resource name in a URN."""
    return urn.split("::", 3)[3]


class _Target(TypedDict):
    """The resource fields every engine request carries."""

    urn: str
    name: str
    type: str


def _target(urn: str) -> _Target:
    return {"urn": urn, "name": urn_name(urn), "type": urn_type(urn)}


def encode_properties(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Serialise a property bag with the SDK's own encoder.

    ``serialize_properties`` is async; it runs in a fresh event loop so that this works from
    any thread without a running loop (the engine monitor calls it from executor threads).
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _change(
    id: str,
    urn: str,
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    old_inputs: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields of a Diff or Update request: old outputs, new inputs, old inputs."""
    return {
        "id": id,
        **_target(urn),
        "olds": encode_properties(olds),
        "news": encode_properties(news),
        "old_inputs": encode_properties(old_inputs),
    }


def check_request(
    urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> provider_pb2.CheckRequest:
    """The engine's Check request (built apart from the call, so that a benchmark can
    encode it before its clock starts)."""
    return provider_pb2.CheckRequest(
        **_target(urn), olds=encode_properties(olds), news=encode_properties(news)
    )


def diff_response(response: provider_pb2.DiffResponse) -> DiffResponse:
    """A Diff or DiffConfig answer, decoded."""
    return DiffResponse(
        changes=_CHANGES[response.changes],
        replaces=list(response.replaces),
        delete_before_replace=response.deleteBeforeReplace,
        detailed_diff={k: _KIND_NAMES[v.kind] for k, v in response.detailedDiff.items()},
        has_detailed_diff=response.hasDetailedDiff,
    )


def create_request(
    urn: str, properties: Mapping[str, Any], preview: bool = False
) -> provider_pb2.CreateRequest:
    """The engine's Create request from checked inputs."""
    return provider_pb2.CreateRequest(
        **_target(urn), properties=encode_properties(properties), preview=preview
    )


def read_request(
    id: str, urn: str, properties: Mapping[str, Any], inputs: Mapping[str, Any]
) -> provider_pb2.ReadRequest:
    """The engine's Read request of a refresh: old outputs and old inputs."""
    return provider_pb2.ReadRequest(
        id=id,
        **_target(urn),
        properties=encode_properties(properties),
        inputs=encode_properties(inputs),
    )


def _unknowns_to_sentinel(value: Any) -> Any:
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: _unknowns_to_sentinel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknowns_to_sentinel(v) for v in value]
    return value


def decode_properties(struct: struct_pb2.Struct) -> tuple[dict[str, Any], frozenset[str]]:
    """Decode a property struct into plain values plus the names of top-level secrets.

    The SDK's decoder lifts secretness to the top-level property (a list or map holding a
    secret comes back wholly wrapped), so unwrapping the top level yields plain values.
    Unknowns come back as the ``rpc.UNKNOWN`` sentinel string, the same form callers send.
    """
    decoded: dict[str, Any] = rpc.deserialize_properties(struct, keep_unknowns=True)
    plain: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in decoded.items():
        if rpc.is_rpc_secret(value):
            secrets.add(key)
            value = rpc.unwrap_rpc_secret(value)
        plain[key] = _unknowns_to_sentinel(value)
    return plain, frozenset(secrets)


def _config_struct(config: Mapping[str, str], secret_keys: Collection[str]) -> struct_pb2.Struct:
    return encode_properties(
        {k: rpc.wrap_rpc_secret(v) if k in secret_keys else v for k, v in config.items()}
    )


class ProviderServer:
    """A ``python -m pulumi.dynamic`` subprocess plus a gRPC client speaking like the engine.

    Starts on construction; use as a context manager or call ``stop()``. Methods take and
    return plain dicts. Every call is appended to ``calls`` (method names, in order);
    ``stub`` is the raw ``ResourceProviderStub`` for tests that need exact protos (calls made
    through it are not logged). Safe to call from several threads at once: the server itself
    serves at most 4 calls concurrently, like under the engine.

    The server caches each provider, configured, by its ``__provider`` string for the life of
    the process: start one server per provider configuration. ``command`` starts another
    provider process that speaks the same protocol (the provider plugin).
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        project: str = "project",
        cwd: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
        call_timeout: float | None = 60.0,
        command: Sequence[str] = (),
    ) -> None:
        self.project = project
        self.call_timeout = call_timeout
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._port_line: str | None = None
        self._port_ready = threading.Event()
        self._stopped = False
        self._channel: grpc.Channel | None = None
        self._process = subprocess.Popen(  # noqa: S603 - the caller's own command
            list(command) or [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {}), "PULUMI_PROJECT": project},
            cwd=Path(cwd) if cwd is not None else None,
        )
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._readers = [
            threading.Thread(target=self._pump_stdout, args=(self._process.stdout,), daemon=True),
            threading.Thread(
                target=self._pump, args=(self._process.stderr, self._stderr), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()
        if not self._port_ready.wait(startup_timeout) or not self._port_line:
            self.stop()
            raise RuntimeError(
                "the provider server did not report its port; stderr:\n" + self.stderr_text()
            )
        self.port = int(self._port_line)
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub: provider_pb2_grpc.ResourceProviderStub = provider_pb2_grpc.ResourceProviderStub(
            self._channel
        )

    @property
    def pid(self) -> int:
        """The server process's id (for CPU accounting or a profiler)."""
        return self._process.pid

    # -- process plumbing ---------------------------------------------------------------

    def _pump_stdout(self, stream: IO[bytes]) -> None:
        first = stream.readline()
        self._port_line = first.decode("utf-8", "replace").strip()
        self._port_ready.set()
        self._pump(stream, self._stdout)

    def _pump(self, stream: IO[bytes], sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._lock:
                sink.append(line)
        self._port_ready.set()  # the process ended: unblock a start still waiting for a port

    def stdout_text(self) -> str:
        """What the server printed on stdout after its port line (the CLI shows it as info)."""
        with self._lock:
            return "".join(self._stdout)

    def stderr_text(self) -> str:
        """Everything the server printed on stderr (the CLI shows it as errors)."""
        with self._lock:
            return "".join(self._stderr)

    def stop(self) -> None:
        """Terminate the server and wait for it, its output readers included. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._channel is not None:
            self._channel.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for reader in self._readers:
            reader.join(timeout=10)

    def __enter__(self) -> ProviderServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- calls ----------------------------------------------------------------------------

    def _call(self, method: str, request: Any) -> Any:
        with self._lock:
            self.calls.append(method)
        try:
            return getattr(self.stub, method)(request, timeout=self.call_timeout)
        except grpc.RpcError as exn:
            raise ProviderCallError(method, exn.code(), exn.details() or "") from None

    def get_plugin_info(self) -> str:
        """The plugin version the server reports (the engine's first call)."""
        info = self._call("GetPluginInfo", empty_pb2.Empty())
        return str(info.version)

    def configure(
        self, config: Mapping[str, str], *, secret_keys: Collection[str] = ()
    ) -> ConfigureResponse:
        """Send the whole stack config like the engine: namespaced keys (``"edgee:apiToken"``),
        string values, the ``secret_keys`` wrapped as secrets (the server unwraps them)."""
        response = self._call(
            "Configure",
            provider_pb2.ConfigureRequest(
                variables=dict(config),
                args=_config_struct(config, secret_keys),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
            ),
        )
        return ConfigureResponse(
            accept_secrets=response.acceptSecrets,
            supports_preview=response.supportsPreview,
            accept_resources=response.acceptResources,
        )

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckResponse:
        """Check: ``olds`` are the old inputs (``{}`` for a create or a replacement)."""
        response = self._call("Check", check_request(urn, olds, news))
        inputs, secret_keys = decode_properties(response.inputs)
        failures = [(f.property, f.reason) for f in response.failures]
        return CheckResponse(inputs, failures, secret_keys)

    def diff(
        self,
        id: str,
        urn: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
        ignore_changes: Sequence[str] = (),
    ) -> DiffResponse:
        """Diff: the engine sends the old OUTPUTS as ``olds`` and the checked inputs as ``news``."""
        response = self._call(
            "Diff",
            provider_pb2.DiffRequest(
                **_change(id, urn, olds, news, old_inputs), ignoreChanges=list(ignore_changes)
            ),
        )
        return diff_response(response)

    def create(
        self, urn: str, properties: Mapping[str, Any], preview: bool = False
    ) -> CreateResponse:
        """Create from checked inputs. The Python server ignores ``preview``: it really creates."""
        response = self._call("Create", create_request(urn, properties, preview))
        outputs, secret_keys = decode_properties(response.properties)
        return CreateResponse(response.id, outputs, secret_keys)

    def read(
        self, id: str, urn: str, properties: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> ReadResponse:
        """Read: on refresh ``properties`` are the old outputs and ``inputs`` the old inputs."""
        response = self._call("Read", read_request(id, urn, properties, inputs))
        outputs, secret_keys = decode_properties(response.properties)
        new_inputs = decode_properties(response.inputs)[0] if response.HasField("inputs") else None
        return ReadResponse(response.id, outputs, new_inputs, secret_keys)

    def update(
        self,
        id: str,
        urn: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
        preview: bool = False,
    ) -> UpdateResponse:
        """Update: ``olds`` are the old outputs, ``news`` the checked inputs; ``preview`` is
        for a provider that answers previews (the plugin), not the Python server."""
        response = self._call(
            "Update",
            provider_pb2.UpdateRequest(**_change(id, urn, olds, news, old_inputs), preview=preview),
        )
        outputs, secret_keys = decode_properties(response.properties)
        return UpdateResponse(outputs, secret_keys)

    def delete(
        self,
        id: str,
        urn: str,
        properties: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> None:
        """Delete: ``properties`` are the old outputs, which carry the ``__provider`` to use."""
        self._call(
            "Delete",
            provider_pb2.DeleteRequest(
                id=id,
                **_target(urn),
                properties=encode_properties(properties),
                old_inputs=encode_properties(old_inputs or {}),
            ),
        )
