"""`pulumi-resource-edgee`: the process the engine starts for the `edgee` provider.

The engine runs `pulumi-resource-edgee [--logtostderr] [-v=N] [--tracing X] <engine
address>`, reads the port from the first line of stdout (nothing may be printed before
it), and calls the ResourceProvider service there until it stops the process.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from concurrent import futures
from types import FrameType

import grpc
from pulumi.runtime.proto import provider_pb2_grpc

from .log import EngineLog
from .provider import EdgeeProvider

# Calls served at once; the Console client and the lifecycle are thread-safe.
MAX_WORKERS = 8
# Flags the engine may pass before the engine address that take a separate value.
_FLAGS_WITH_VALUE = frozenset({"--tracing", "--root"})


def engine_address(argv: Sequence[str]) -> str | None:
    """The engine address: the last argument that is not a flag or a flag's value."""
    positional: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _FLAGS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            positional.append(arg)
    return positional[-1] if positional else None


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until the engine stops the process (SIGTERM or SIGINT)."""
    args = sys.argv[1:] if argv is None else list(argv)
    log = EngineLog(engine_address(args))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=MAX_WORKERS),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(EdgeeProvider(log), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()

    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopped.wait()
    server.stop(grace=2).wait()
    log.close()
    return 0
