"""Command line: `python -m pulumi_edgee.emulator --port 0 --token T --organization-id org_1`.

The first line on stdout is the base URL (so a parent process can read it and knows
the port is bound); then it serves until SIGINT or SIGTERM and exits 0. Tokens may come
from the environment instead of the command line, where other local users can see them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from .app import ConsoleApp
from .backend import EmulatorBackend
from .errors import StateFileError
from .server import EmulatorServer

# Names of environment variables, not secrets.
TOKEN_ENV = "EDGEE_EMULATOR_TOKEN"  # noqa: S105
READ_ONLY_TOKEN_ENV = "EDGEE_EMULATOR_READ_ONLY_TOKEN"  # noqa: S105


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_edgee.emulator",
        description="Local emulator of the Edgee Console API (Gateway API keys), with an"
        " AI Gateway stand-in on the same port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=_port, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"accepted bearer token (or ${TOKEN_ENV})",
    )
    parser.add_argument(
        "--organization-id",
        required=True,
        action="append",
        help="an organization served; repeat for several (the first is the default)",
    )
    parser.add_argument("--state-file", help="JSON file to load keys from and save them to")
    parser.add_argument(
        "--read-only-token",
        default=os.environ.get(READ_ONLY_TOKEN_ENV),
        help=f"a token that may list but not write or reveal (or ${READ_ONLY_TOKEN_ENV})",
    )
    parser.add_argument(
        "--serve-key-get",
        action="store_true",
        help="serve GET /api_keys/{id} (undocumented upstream; 405 otherwise)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.token:
        parser.error(f"--token is required (or set {TOKEN_ENV})")
    try:
        backend = EmulatorBackend(state_file=args.state_file)
        app = ConsoleApp(
            backend,
            token=args.token,
            organization_id=args.organization_id[0],
            extra_organization_ids=args.organization_id[1:],
            read_only_token=args.read_only_token or None,
            serve_key_get=args.serve_key_get,
        )
        server = EmulatorServer(app, host=args.host, port=args.port)
    except (OSError, ValueError, StateFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # SIGTERM behaves like Ctrl-C: serve_forever unwinds and the socket is released.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        print(server.url, flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
