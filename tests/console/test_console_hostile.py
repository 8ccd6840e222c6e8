"""The client against small hostile HTTP servers: every request and walk ends, clearly.

These servers do what no emulator fault rule needs to: drip an answer one byte at a
time from a raw socket, or serve pages that never end.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from pulumi_edgee.console import (
    ApiKeyCreate,
    ConsoleClient,
    DeadlineExceededError,
    OutcomeUnknownError,
    RetryPolicy,
    UnexpectedResponseError,
)
from pulumi_edgee.console.deadline import step_budget

TOKEN = "tok_hostile_0123456789"

Answer = Callable[[socket.socket, bytes], None]


@contextmanager
def hostile_server(answer: Answer) -> Iterator[str]:
    """A loopback server answering each request with `answer(connection, request)`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection:
            try:
                while not stop.is_set():
                    request = connection.recv(65536)
                    if not request:
                        return
                    answer(connection, request)
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def drip(body: bytes, interval: float, stop_after: float) -> Answer:
    """Headers at once, then the body one byte every `interval` seconds."""

    def answer(connection: socket.socket, _request: bytes) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        connection.sendall(head.encode())
        started = time.monotonic()
        for byte in body:
            if time.monotonic() - started > stop_after:
                return
            connection.sendall(bytes([byte]))
            time.sleep(interval)

    return answer


def respond(status: str, payload: object) -> Callable[[socket.socket], None]:
    def send(connection: socket.socket) -> None:
        body = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        connection.sendall(head.encode() + body)

    return send


def client(url: str, **kwargs: object) -> ConsoleClient:
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)
    return ConsoleClient(url, "org_1", TOKEN, retry=policy, **kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_dripping_answer_is_cut_off_at_the_request_deadline() -> None:
    body = json.dumps({"data": [], "has_more": False}).encode() + b" " * 200
    with hostile_server(drip(body, interval=0.1, stop_after=30)) as url:
        started = time.monotonic()
        with client(url, request_deadline=1.0) as c, pytest.raises(DeadlineExceededError) as info:
            c.list_api_keys()
        elapsed = time.monotonic() - started
    # Two attempts of one second each, not 200 bytes x 0.1 s.
    assert elapsed < 6, elapsed
    assert "request deadline (EDGEE_REQUEST_DEADLINE_SECONDS)" in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.slow
def test_a_dripping_create_answer_is_an_unknown_outcome_at_the_deadline() -> None:
    with hostile_server(drip(b"{" + b" " * 500 + b"}", 0.1, stop_after=30)) as url:
        started = time.monotonic()
        with client(url, request_deadline=1.0) as c, pytest.raises(OutcomeUnknownError) as info:
            c.create_api_key(ApiKeyCreate(name="n"))
        assert time.monotonic() - started < 4
    assert isinstance(info.value.cause, DeadlineExceededError)


@pytest.mark.slow
def test_a_step_budget_bounds_retries_and_requests_together() -> None:
    body = b'{"data": []}' + b" " * 500
    with hostile_server(drip(body, 0.1, stop_after=30)) as url:
        started = time.monotonic()
        with (
            client(url, request_deadline=10.0) as c,
            step_budget(1.5, "step deadline (EDGEE_STEP_DEADLINE_SECONDS)"),
            pytest.raises(DeadlineExceededError, match=r"1\.5 s step deadline"),
        ):
            c.list_api_keys()
        assert time.monotonic() - started < 4


def test_endless_pages_stop_with_a_clear_error() -> None:
    pages = 0

    def endless(connection: socket.socket, _request: bytes) -> None:
        nonlocal pages
        pages += 1
        page = {"object": "list", "data": [], "has_more": True, "next_cursor": f"c{pages}"}
        respond("200 OK", page)(connection)

    with hostile_server(endless) as url, client(url) as c:
        with pytest.raises(UnexpectedResponseError, match="empty pages in a row"):
            c.list_api_keys()
    assert pages == 5


@pytest.mark.slow
def test_a_walk_that_runs_out_during_a_page_says_so_in_its_own_words() -> None:
    """Whether the walk's budget ends between pages or inside one, one message."""
    first = {"object": "list", "data": [], "has_more": True, "next_cursor": "c1"}
    dripping = drip(b'{"data": []}' + b" " * 500, 0.1, stop_after=30)

    def answer(connection: socket.socket, request: bytes) -> None:
        if b"cursor=c1" in request:
            dripping(connection, request)
        else:
            respond("200 OK", first)(connection)

    with hostile_server(answer) as url, client(url, walk_deadline=1.5) as c:
        started = time.monotonic()
        with pytest.raises(
            DeadlineExceededError,
            match=r"did not end within the 1\.5 s walk deadline .* \(1 pages, 0 keys read\)",
        ):
            c.list_api_keys()
        assert time.monotonic() - started < 4
