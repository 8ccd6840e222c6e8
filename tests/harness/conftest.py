"""Fixtures for the harness tests: one provider server per test module, fresh runners.

pytest puts this directory on ``sys.path`` (rootdir-relative "prepend" imports), which is
what lets both the tests and the programs they run import ``harness_support``; the server
subprocess gets it through ``PYTHONPATH``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness_support.cloud import CounterCloud
from harness_support.paths import HARNESS_DIR, PROGRAMS, RunnerFactory

from pulumi_edgee.testing.program import ProgramRunner
from pulumi_edgee.testing.provider_server import ProviderServer


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> CounterCloud:
    return CounterCloud(tmp_path_factory.mktemp("counter-cloud") / "db.json")


@pytest.fixture(scope="module")
def server(cloud: CounterCloud) -> Iterator[ProviderServer]:
    env = {"PYTHONPATH": str(HARNESS_DIR), "COUNTER_DB": str(cloud.path)}
    with ProviderServer(env=env, project="counters") as srv:
        yield srv


@pytest.fixture
def counters(server: ProviderServer) -> RunnerFactory:
    """A fresh stack (empty state) of the ``counters`` program with the given counter specs,
    reusing the module's provider process (these tests are about the runner itself)."""

    def make(*specs: dict[str, Any], **config: Any) -> ProgramRunner:
        secret = ["seed"] if "seed" in config else []
        return ProgramRunner(
            PROGRAMS / "counters",
            server,
            {"counters": list(specs), **config},
            secret_config_keys=secret,
        )

    return make
