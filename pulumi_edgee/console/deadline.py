"""Total time budgets: per request and per step, enforced on every socket operation.

httpx's timeouts bound each socket read, so a server that sends one byte every few
seconds keeps a request alive for ever. Here the network backend under httpx clamps
every connect, read and write to what is left of the calling thread's budget, so a
request ends by its deadline whatever the server does. The client runs each request
on the calling thread, which is why the budget is thread-local.
"""

from __future__ import annotations

import threading
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpcore

# Where the provider's settings for the budgets come from (read by `session`), named in
# the errors so that the message says how to change them.
REQUEST_DEADLINE_ENV_VAR = "EDGEE_REQUEST_DEADLINE_SECONDS"
STEP_DEADLINE_ENV_VAR = "EDGEE_STEP_DEADLINE_SECONDS"

_local = threading.local()


@dataclass(frozen=True)
class Budget:
    """An absolute deadline on the monotonic clock, and what to call it in an error."""

    deadline: float
    seconds: float
    what: str

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def describe(self) -> str:
        return f"the {self.seconds:g} s {self.what}"


def current_step() -> Budget | None:
    """The budget of the step running on this thread, if any."""
    return typing.cast(Budget | None, getattr(_local, "step", None))


class step_budget:
    """Bound everything this thread does inside to `seconds`; a nested budget never
    outlasts the one around it, unless it `replace`s it (clean-up after a step ran out).
    A class rather than a generator: every Read enters one."""

    __slots__ = ("_outer", "_replace", "_seconds", "_what")

    def __init__(self, seconds: float, what: str, *, replace: bool = False) -> None:
        self._seconds, self._what, self._replace = seconds, what, replace
        self._outer: Budget | None = None

    def __enter__(self) -> Budget:
        outer = self._outer = current_step()
        budget = Budget(time.monotonic() + self._seconds, self._seconds, self._what)
        if not self._replace and outer is not None and outer.deadline < budget.deadline:
            budget = outer
        _local.step = budget
        return budget

    def __exit__(self, *exc_info: object) -> None:
        _local.step = self._outer


@contextmanager
def request_budget(budget: Budget) -> Iterator[None]:
    """The budget the socket operations of one request on this thread must respect."""
    outer = getattr(_local, "request", None)
    _local.request = budget
    try:
        yield
    finally:
        _local.request = outer


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    budget: Budget | None = getattr(_local, "request", None)
    if budget is None:
        return timeout
    remaining = budget.remaining()
    if remaining <= 0:
        raise error(f"{budget.describe()} ran out")
    return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _Stream(inner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


def _ascii_host(host: str) -> str:
    """The host as the socket layer takes it without the IDNA codec: an ASCII name (every
    name httpx hands on is ASCII, already IDNA-encoded) passed as bytes is resolved as
    is, where text is first run through the `idna` codec, whose import costs the first
    connection of each provider process about 1.5 ms of CPU."""
    return typing.cast(str, host.encode("ascii")) if host.isascii() else host


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every operation bounded by the thread's budget."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            _ascii_host(host),
            port,
            _clamp(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _clamp(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _Stream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
