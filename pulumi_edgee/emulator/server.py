"""Serve a ConsoleApp over a real loopback socket with the standard library.

Why `http.server` and not an ASGI/WSGI framework: the tests need a connection that is
closed mid-request without a byte of answer (a lost response), and ASGI/WSGI servers
always answer something once the application has the request. Owning the socket makes
that a `shutdown()` call. The server speaks HTTP/1.1 with keep-alive, always sends
Content-Length, and binds loopback addresses only, since the admin API has no token.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import re
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .app import ConsoleApp
from .wire import DropConnection, HttpRequest, HttpResponse, error_response, reason_phrase

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# Connections served at once (each is a thread, held for a keep-alive's life); more wait.
MAX_WORKERS = 256
# Connections the kernel queues before accept: a burst of a few hundred must not be dropped.
LISTEN_BACKLOG = 1024
# Seconds a connection has to deliver a whole request (line, headers and body) from when
# the server starts waiting for it (accept, or the previous answer): a silent or
# dripping client cannot hold a worker longer. Clients drop idle keep-alive connections
# sooner (httpx after 5 s), so a well-behaved client never meets it.
REQUEST_READ_DEADLINE = 10.0
_DIGITS_RE = re.compile(r"[0-9]+")


def loopback_address(host: str) -> str:
    """The address to bind for `host`; refuses anything that is not loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"refusing to bind {host!r}: the emulator binds loopback addresses only")
    return str(address)


def _loopback_name(name: str) -> bool:
    """Whether `name` (a Host's host part, brackets removed) is localhost or a loopback address."""
    name = name.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_refusal(host: str | None, port: int) -> HttpResponse | None:
    """The 421 for a request whose Host is not this server's (a DNS-rebinding page).

    A page of `evil.example` whose name is re-pointed at 127.0.0.1 reaches the port
    with `Host: evil.example`, and a browser then calls it same-origin; checking the
    Host is what tells it apart. Only loopback names and addresses (the server binds
    nothing else), on this port or with none, are this server's.
    """
    try:
        parts = urlsplit("//" + (host or "").strip())
        ok = parts.hostname is not None and _loopback_name(parts.hostname)
        ok = ok and parts.port in (None, port)
    except ValueError:  # a malformed port or address
        ok = False
    if ok:
        return None
    return error_response(
        421,
        f"The emulator answers only requests addressed to it: Host must be localhost or a "
        f"loopback address, on port {port} or none (got {(host or '')[:100]!r}).",
    )


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the app, writes the answer or drops the socket."""

    protocol_version = "HTTP/1.1"
    server_version = "pulumi-edgee-emulator"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    timeout = 60  # per socket operation; reading a request is bounded as a whole too

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the app (which answers 405 where a route lacks it), not
        # http.server's HTML 501 for methods without a do_ handler, such as TRACE.
        if name.startswith("do_"):
            return self.do_GET
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default one-line-per-request stderr log."""

    def _dispatch(self) -> None:
        server = self.server
        assert isinstance(server, _HttpServer)
        try:
            body = self._read_body()
        except _BodyError as exc:
            self._write(error_response(exc.status, str(exc)), close=True)
            return
        finally:
            server.read_done(self.connection)
        refusal = host_refusal(self.headers.get("Host"), int(server.server_address[1]))
        if refusal is not None:
            self._write(refusal)
            return
        request = HttpRequest.from_target(self.command, self.path, self.headers.items(), body)
        try:
            response = server.app.handle(request)
        except DropConnection:
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(response)
        server.await_request(self.connection)

    def _read_body(self) -> bytes:
        if "Transfer-Encoding" in self.headers:
            raise _BodyError(411, "Send the body with a Content-Length, not chunked.")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        digits = length_text.strip()
        if _DIGITS_RE.fullmatch(digits) is None:
            raise _BodyError(400, "The Content-Length header is not a number.")
        significant = digits.lstrip("0") or "0"
        if len(significant) > 9 or int(significant) > MAX_BODY_BYTES:
            raise _BodyError(413, f"The body exceeds {MAX_BODY_BYTES} bytes.")
        return self.rfile.read(int(significant))

    def _write(self, response: HttpResponse, *, close: bool = False) -> None:
        if response.drip_interval_ms is not None:
            self._drip(response, response.drip_interval_ms / 1000)
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    def _drip(self, response: HttpResponse, interval: float) -> None:
        """Send the whole answer one byte at a time, `interval` apart, while the client stays."""
        lines = [
            f"{self.protocol_version} {response.status} {reason_phrase(response.status)}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            *(f"{name}: {value}" for name, value in response.headers),
            f"Content-Length: {len(response.body)}",
        ]
        answer = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body
        for index in range(len(answer)):
            if index and interval:
                time.sleep(interval)
            try:
                self.wfile.write(answer[index : index + 1])
            except OSError:
                self.close_connection = True
                return


class _WorkerPool:
    """At most `size` daemon threads serving connections; more connections wait in a queue.

    Threads start on demand and stay; being daemons, a connection held open (an idle
    keep-alive, a held fault) never delays the interpreter's exit.
    """

    def __init__(self, size: int, work: Callable[[Any, Any], None]) -> None:
        self._size = size
        self._work = work
        self._queue: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # started threads waiting for a connection, not yet promised one

    @property
    def threads(self) -> int:
        """How many worker threads have been started."""
        with self._lock:
            return self._threads

    def submit(self, request: Any, client_address: Any) -> None:
        """Hand a connection to an idle worker, a new one, or the queue when all are busy."""
        with self._lock:
            if self._idle:
                self._idle -= 1
            elif self._threads < self._size:
                self._threads += 1
                threading.Thread(
                    target=self._run, name="edgee-emulator-worker", daemon=True
                ).start()
        self._queue.put((request, client_address))

    def stop(self) -> None:
        """Let every worker end once its current connection is done."""
        with self._lock:
            for _ in range(self._threads):
                self._queue.put(None)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._work(*item)
            with self._lock:
                self._idle += 1


class _HttpServer(HTTPServer):
    """Serves connections from a bounded worker pool with a listen backlog for bursts;
    tracks open connections so that `stop()` also ends idle keep-alive ones."""

    timeout = 0  # handle_request() is called only once select() saw a connection
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        app: ConsoleApp,
        max_workers: int = MAX_WORKERS,
        read_deadline: float = REQUEST_READ_DEADLINE,
    ) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        # When each connection waiting for (or reading) a request must have delivered it.
        self._read_deadlines: dict[socket.socket, float] = {}
        self._read_deadline = read_deadline
        self._reaper_started = False
        self._closed = threading.Event()
        self.pool = _WorkerPool(max_workers, self._serve_connection)
        super().__init__(address, _Handler)

    def await_request(self, connection: socket.socket) -> None:
        """The server waits for a request on `connection`: it has the read deadline."""
        with self._connections_lock:
            self._read_deadlines[connection] = time.monotonic() + self._read_deadline
            start = not self._reaper_started
            self._reaper_started = True
        if start:
            threading.Thread(target=self._reap, name="edgee-emulator-reaper", daemon=True).start()

    def read_done(self, connection: socket.socket) -> None:
        """The request has arrived (or failed): its handling is not bounded here."""
        with self._connections_lock:
            self._read_deadlines.pop(connection, None)

    def _reap(self) -> None:
        """Close the connections whose request is late; a blocked read then ends."""
        while not self._closed.wait(min(0.25, self._read_deadline / 4)):
            now = time.monotonic()
            with self._connections_lock:
                late = [c for c, due in self._read_deadlines.items() if due <= now]
                for connection in late:
                    del self._read_deadlines[connection]
            for connection in late:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), slow in sandboxes.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
            self.await_request(request)  # from accept: time queued for a worker counts
        self.pool.submit(request, client_address)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
            self._read_deadlines.pop(request, None)
        super().shutdown_request(request)

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is normal here; keep stderr quiet.
        logger.debug("connection from %s failed", client_address, exc_info=True)


class _HttpServer6(_HttpServer):
    address_family = socket.AF_INET6


class EmulatorServer:
    """The app on a loopback port; `port=0` picks a free one (bound at construction)."""

    def __init__(
        self,
        app: ConsoleApp,
        host: str = "127.0.0.1",
        port: int = 0,
        max_workers: int = MAX_WORKERS,
        read_deadline: float = REQUEST_READ_DEADLINE,
    ) -> None:
        address = loopback_address(host)
        server_class = _HttpServer6 if ":" in address else _HttpServer
        self._httpd = server_class((address, port), app, max_workers, read_deadline)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()

    @property
    def host(self) -> str:
        """The bound address."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked)."""
        return int(self._httpd.server_address[1])

    @property
    def worker_threads(self) -> int:
        """How many connection threads have been started (at most `max_workers`)."""
        return self._httpd.pool.threads

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:43121`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Serve in a background daemon thread."""
        with self._lock:
            if self._thread is not None or self._stopped.is_set():
                raise RuntimeError("the emulator server can be started once")
            self._thread = threading.Thread(
                target=self._accept_loop,
                name=f"edgee-emulator-{self.port}",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop serving, end open connections and release the port; idempotent."""
        with self._lock:
            if self._stopped.is_set():
                return
            if self._thread is not None:
                self._wake_writer.send(b"\0")
                self._thread.join()
            self._httpd.close_connections()
            self._httpd.pool.stop()
            self._httpd.server_close()
            self._wake_reader.close()
            self._wake_writer.close()
            self._stopped.set()

    def _accept_loop(self) -> None:
        # Unlike socketserver's serve_forever, which polls for shutdown, this loop also
        # waits on a socketpair, so stop() takes effect at once and idle costs nothing.
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_reader in ready:
                    return
                self._httpd.handle_request()

    def serve_forever(self) -> None:
        """Serve until `stop()` is called from another thread or KeyboardInterrupt arrives."""
        self.start()
        try:
            self._stopped.wait()
        finally:
            self.stop()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
