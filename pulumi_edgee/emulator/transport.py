"""An httpx transport that calls the emulator app in-process, without a socket.

For fast tests of HTTP clients: `httpx.Client(transport=EmulatorTransport(app),
base_url="http://emulator")` sees the same answers as a client of the real server, and
a dropped connection surfaces as the `httpx.RemoteProtocolError` a socket would give.
"""

from __future__ import annotations

import httpx

from .app import ConsoleApp
from .wire import DropConnection, HttpRequest


class EmulatorTransport(httpx.BaseTransport):
    """Hands each httpx request to `app.handle` in the calling thread."""

    def __init__(self, app: ConsoleApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the socket server would."""
        target = request.url.raw_path.decode("ascii")
        emulator_request = HttpRequest.from_target(
            request.method, target, request.headers.multi_items(), request.read()
        )
        try:
            response = self.app.handle(emulator_request)
        except DropConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        return httpx.Response(
            status_code=response.status,
            headers=[*response.headers, ("Content-Length", str(len(response.body)))],
            content=response.body,
            request=request,
        )
