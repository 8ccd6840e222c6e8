"""What the command-line tools (`adopt`, `report`) share: how they find the Console.

Settings come from flags or the environment (`EDGEE_CONSOLE_URL`,
`EDGEE_ORGANIZATION_ID`); the token only from `EDGEE_CONSOLE_API_TOKEN`, never a flag,
where other local users could read it. Errors name the flag or variable to set.
"""

from __future__ import annotations

import argparse
import os

from .console import ConsoleClient
from .session import Deadlines
from .settings import API_TOKEN, CONSOLE_URL, ORGANIZATION_ID, Settings, Source, resolve

# What these tools read: flags and the environment, never stack config.
_FLAGS = {CONSOLE_URL: "--console-url", ORGANIZATION_ID: "--organization-id"}


def _how_to_set(source: Source) -> str:
    flag = _FLAGS.get(source)
    return f"give {flag} or set ${source.env_var}" if flag else f"set ${source.env_var}"


# How a Console error tells a program's user to set the token (console/errors.py).
_TOKEN_HINT = f"with `pulumi config set --secret {API_TOKEN.config_key} <token>` or the environment"


def in_this_tools_words(message: str) -> str:
    """A message that names stack config names the tools' flag or variable instead."""
    for source, flag in _FLAGS.items():
        message = message.replace(f"`{source.config_key}`", flag)
    return message.replace(_TOKEN_HINT, "in the environment")


def add_console_flags(parser: argparse.ArgumentParser, what: str) -> None:
    """`--console-url` and `--organization-id`; ``what`` says what the organization is for."""
    parser.add_argument(
        "--console-url",
        default=os.environ.get(CONSOLE_URL.env_var),
        help=f"Console API base URL (or ${CONSOLE_URL.env_var}; default https://api.edgee.app)",
    )
    parser.add_argument(
        "--organization-id",
        default=os.environ.get(ORGANIZATION_ID.env_var),
        help=f"organization {what} (or ${ORGANIZATION_ID.env_var})",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings the flags and the environment give; `SettingsError` names what to set."""
    config = {
        CONSOLE_URL.config_key: args.console_url,
        ORGANIZATION_ID.config_key: args.organization_id,
        API_TOKEN.config_key: os.environ.get(API_TOKEN.env_var),
    }
    return resolve(config, {}, how_to_set=_how_to_set)


def open_client(settings: Settings) -> ConsoleClient:
    """A Console client with the deadlines the environment sets (as the provider has)."""
    deadlines = Deadlines.from_environment()
    return ConsoleClient(
        settings.console_url,
        settings.organization_id,
        settings.api_token,
        request_deadline=deadlines.request,
        walk_deadline=deadlines.step,
    )
