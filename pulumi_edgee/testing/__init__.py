"""Test Pulumi stacks offline: a Console API emulator, the real dynamic provider server
driven like the engine does, a runner for unchanged Pulumi programs, and a search for
leaked secrets.

Each helper lives in its own module; this package only re-exports their names. Nothing
here is imported by the provider.
"""

from .emulator import (
    EmulatorAdminError,
    EmulatorClient,
    EmulatorHandle,
    EmulatorProcess,
    run_emulator,
    spawn_emulator,
)
from .program import (
    EngineError,
    OutputValue,
    ProgramRunner,
    ResourceState,
    RunResult,
    StackState,
    Step,
)
from .provider_server import ProviderCallError, ProviderServer
from .secrets import LeakDetector

__all__ = [
    "EmulatorAdminError",
    "EmulatorClient",
    "EmulatorHandle",
    "EmulatorProcess",
    "EngineError",
    "LeakDetector",
    "OutputValue",
    "ProgramRunner",
    "ProviderCallError",
    "ProviderServer",
    "ResourceState",
    "RunResult",
    "StackState",
    "Step",
    "run_emulator",
    "spawn_emulator",
]
