"""The socket server: keep-alive, dropped connections on the wire, and a clean stop."""

from __future__ import annotations

import http.client
import socket

import pytest

from pulumi_edgee.emulator import ConsoleApp, EmulatorBackend, EmulatorServer


def make_server(host: str = "127.0.0.1") -> EmulatorServer:
    return EmulatorServer(ConsoleApp(EmulatorBackend(), "t", "org_1"), host=host)


def health(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
    connection.request("GET", "/_emulator/health")
    return connection.getresponse()


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    with make_server() as server:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
        try:
            first = health(connection)
            assert (first.status, first.read()) == (200, b'{"status":"ok"}')
            sock = connection.sock
            connection.request("GET", "/v1/organizations/org_1/api_keys")
            second = connection.getresponse()
            assert second.status == 401
            assert second.getheader("Content-Length") == str(len(second.read()))
            assert connection.sock is sock
        finally:
            connection.close()


def test_a_dropped_connection_gets_no_byte() -> None:
    with make_server() as server:
        with socket.create_connection((server.host, server.port), timeout=5) as raw:
            raw.sendall(
                b"POST /_emulator/faults HTTP/1.1\r\nHost: localhost\r\nContent-Length: 29\r\n"
                b"Content-Type: application/json\r\n\r\n"
            )
            raw.sendall(b'{"kind": "drop_connection"}\r\n')
            assert b"201 Created" in raw.recv(65536)
        with socket.create_connection((server.host, server.port), timeout=5) as raw:
            raw.sendall(b"GET /v1/organizations/org_1/api_keys HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert raw.recv(65536) == b""


def test_stop_ends_idle_connections_and_releases_the_port() -> None:
    server = make_server()
    server.start()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    health(connection).read()
    server.stop()
    server.stop()  # idempotent
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        health(connection)
    connection.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=5).close()
    with pytest.raises(RuntimeError, match="once"):
        server.start()


def test_ipv6_loopback() -> None:
    try:
        server = make_server("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        assert server.url == f"http://[::1]:{server.port}"
        connection = http.client.HTTPConnection("::1", server.port, timeout=5)
        assert health(connection).status == 200
        connection.close()


def test_localhost_binds_ipv4_loopback() -> None:
    with make_server("localhost") as server:
        assert server.url.startswith("http://127.0.0.1:")
