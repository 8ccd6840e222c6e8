"""Helpers for testing with pulumi-edgee: an emulator of the Console API, and more.

Each helper lives in its own module; this package only re-exports their names.
"""

from .emulator import (
    EmulatorAdminError,
    EmulatorClient,
    EmulatorHandle,
    EmulatorProcess,
    run_emulator,
    spawn_emulator,
)

__all__ = [
    "EmulatorAdminError",
    "EmulatorClient",
    "EmulatorHandle",
    "EmulatorProcess",
    "run_emulator",
    "spawn_emulator",
]
