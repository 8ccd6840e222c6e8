"""Messages to the engine's log (the Engine service's `Log`), attached to a resource.

Best effort: the CLI shows them beside the resource, but a plugin whose engine cannot
take a message carries on. Messages are written by the plugin and hold no secret.
"""

from __future__ import annotations

import contextlib

import grpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

_TIMEOUT_SECONDS = 5.0


class EngineLog:
    """A client of the engine at `address`; without one, messages go nowhere."""

    def __init__(self, address: str | None) -> None:
        self._channel = grpc.insecure_channel(address) if address else None
        self._stub = engine_pb2_grpc.EngineStub(self._channel) if self._channel else None

    def _send(self, severity: engine_pb2.LogSeverity.ValueType, message: str, urn: str) -> None:
        if self._stub is None:
            return
        # An engine that went away or refused still gets the step's own answer.
        with contextlib.suppress(grpc.RpcError):
            self._stub.Log(
                engine_pb2.LogRequest(severity=severity, message=message, urn=urn),
                timeout=_TIMEOUT_SECONDS,
            )

    def debug(self, message: str, urn: str = "") -> None:
        self._send(engine_pb2.DEBUG, message, urn)

    def info(self, message: str, urn: str = "") -> None:
        self._send(engine_pb2.INFO, message, urn)

    def warning(self, message: str, urn: str = "") -> None:
        self._send(engine_pb2.WARNING, message, urn)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
