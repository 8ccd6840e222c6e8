"""The fault scenarios (`faults`) run against the provider plugin instead of the dynamic
provider: same stacks, faults, re-runs and invariant checks, with `pulumi-resource-edgee`
answering the engine's calls.

Like the dynamic harness, one plugin process serves many commands and each command is
configured with a Console URL of its own (a new port of the same emulator), so the
plugin's per-settings session, with its caches, starts empty for every command. The
stacks are of the plugin's type (`edgee:index:ApiKey`), spoken to as the engine speaks to a
plugin (`PLUGIN_DOOR`).
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from typing import Any

from ..registry import API_KEY, Resource
from .engine import PLUGIN_DOOR, SECRET_CONFIG_KEYS, edgee_config
from .faults import (
    ORGANIZATION,
    TOKEN,
    Harness,
    ProviderProcess,
    Report,
    Scenario,
    run_scenario,
)
from .faults.runner import on_pool
from .plugin import EngineLogServer, PluginProcess
from .provider_server import ProviderServer
from .secrets import LeakDetector

__all__ = ["PluginHarness", "run_plugin_scenarios"]


class PluginHarness(Harness):
    """`faults.Harness` with the provider plugin as the provider process."""

    door = PLUGIN_DOOR

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._engine_log = self._exit.enter_context(EngineLogServer())

    def _current_server(self) -> ProviderServer:
        if self._server is None or self._generations >= self.restart_every:
            self._stop_server()
            self._server = PluginProcess(self._engine_log.address, env=self._env)
            self._server.get_plugin_info()
            self._generations = 0
        return self._server

    @contextlib.contextmanager
    def process(
        self,
        leaks: LeakDetector | None = None,
        organization: str = ORGANIZATION,
        row: Resource = API_KEY,
    ) -> Iterator[ProviderProcess]:
        """A plugin process for one command (one plugin serves every row)."""
        leaks = self.leaks if leaks is None else leaks
        with contextlib.ExitStack() as held:
            with self._lock:
                if self._active:
                    # Another stack's command is running (its Configure holds the shared
                    # process): a plugin process of its own, as the CLI starts per stack.
                    server: ProviderServer = PluginProcess(self._engine_log.address, env=self._env)
                    held.callback(self._stop, server)
                    server.get_plugin_info()
                else:
                    self._generations += 1
                    server = self._current_server()
                url = held.enter_context(self._endpoint())
                self._active += 1
            held.callback(self._release)
            server.configure(
                edgee_config(url, token=TOKEN, organization=organization),
                secret_keys=SECRET_CONFIG_KEYS,
            )
            yield ProviderProcess(server, None, leaks, PLUGIN_DOOR)

    def _release(self) -> None:
        with self._lock:
            self._active -= 1

    def close(self) -> None:
        super().close()
        for record in self._engine_log.records:
            self.leaks.record("engine log", record)


def run_plugin_scenarios(scenarios: list[Scenario], *, workers: int = 4) -> Report:
    """Run the scenarios on `workers` plugin harnesses at once (most of a scenario's time
    is the client's retry back-off); what each plugin wrote to its output and to the
    engine's log is searched for secrets at the end."""
    todo: queue.Queue[Scenario] = queue.Queue()
    for scenario in scenarios:
        todo.put(scenario)
    seed = scenarios[0].seed if scenarios else 0
    harnesses = [PluginHarness() for _ in range(max(1, min(workers, len(scenarios))))]

    def work(harness: Harness, report: Report) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                run_scenario(harness, todo.get_nowait(), report)

    started = time.perf_counter()
    total = Report(seed=seed)
    for report in on_pool(harnesses, work, seed):
        total.merge(report)
    total.elapsed = time.perf_counter() - started
    return total
