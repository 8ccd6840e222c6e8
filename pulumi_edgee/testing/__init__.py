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
    is_access_probe,
    run_emulator,
    spawn_emulator,
)
from .engine import (
    EngineError,
    LifeCycle,
    ModelStack,
    Props,
    ResourceState,
    configured_server,
    edgee_config,
    provider_payload,
    resource_urn,
)
from .program import (
    UNKNOWN_VALUE,
    OutputValue,
    ProgramRunner,
    ProgramStep,
    RunResult,
    StackState,
)
from .provider_server import ProviderCallError, ProviderServer
from .secrets import LeakDetector

__all__ = [
    "UNKNOWN_VALUE",
    "EmulatorAdminError",
    "EmulatorClient",
    "EmulatorHandle",
    "EmulatorProcess",
    "EngineError",
    "LeakDetector",
    "LifeCycle",
    "ModelStack",
    "OutputValue",
    "ProgramRunner",
    "ProgramStep",
    "Props",
    "ProviderCallError",
    "ProviderServer",
    "ResourceState",
    "RunResult",
    "StackState",
    "configured_server",
    "edgee_config",
    "is_access_probe",
    "provider_payload",
    "resource_urn",
    "run_emulator",
    "spawn_emulator",
]
