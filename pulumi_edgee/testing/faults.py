"""The fault-scenario harness: the engine's commands on a model stack, each in a provider
process of its own, against an emulator whose fault injection is armed step by step, and
the invariant checks that compare the emulator's keys with the stack.

A scenario is a small stack (one to three ApiKey resources) taken through a sequence of
commands (`scripts/fault_scenarios.py` generates seeded ones). Before each command one or
two fault rules are armed on the emulator; the command runs through a real
`python -m pulumi.dynamic` server with the engine's call sequences (`LifeCycle`,
`ModelStack`); a failed provider call leaves the state as the engine would. Then the
faults are cleared and the command runs again, as a user re-running it would, and the
stack is checked:

- orphan: a live key of the organization that no resource in state refers to, and that
  no error named for clean-up (a key an error names is deleted, as the user would, and
  counted apart: "keys left for manual clean-up");
- duplicate: two resources in state with the same key id;
- lost secret: a resource whose stored `key` is not the emulator's secret for its id;
- ghost: a resource in state whose key no longer exists;
- mismatch: after an `up` or `destroy`, state or live keys that differ from the program;
- owned by two stacks: with a second stack in the organization (`ScenarioStep.second_stack`,
  checked like the first after every step and destroyed when the scenario ends), a key
  id in both stacks' states, or in a stack's state when the other stack held it first;
- wrong organization accepted: a command configured for another organization the token
  reaches (`ScenarioStep.other_organization_first`) that did not fail naming both
  organizations, changed the state or deleted a key of either organization;
- not idempotent: the re-run of a command that had succeeded still changed something;
- unrepaired: the re-run failed too (the user is stuck);
- hang: a command that took longer than `HANG_SECONDS`;
- leak: the Console token or a gateway key in an error text, a non-secret output, the
  provider payload or the server's logs.

Every command runs in a provider process of its own, as under the engine: the process
keeps per-process state (the keys it knows belong to a resource, which a create with an
unknown outcome must never adopt), and reusing one process across commands would hide
bugs in it. Starting a server per command is too slow for thousands of scenarios, so a
"process" is a fresh provider instance (its own `__provider` payload) configured with a
Console URL of its own (a new listening port of the same emulator): the provider's
process-level caches are keyed by those two, so each command starts from empty caches.
The real server is restarted every few hundred commands to bound its memory.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import queue
import re
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Literal

from pulumi_edgee import markers
from pulumi_edgee.emulator.app import ConsoleApp, key_json, request_json
from pulumi_edgee.emulator.server import EmulatorServer
from pulumi_edgee.provider import ApiKeyProvider
from pulumi_edgee.spec import ApiKeySpec

from .emulator import EmulatorHandle, run_emulator
from .engine import (
    SECRET_CONFIG_KEYS,
    LifeCycle,
    ModelStack,
    Props,
    ResourceState,
    edgee_config,
    provider_payload,
)
from .provider_server import ProviderCallError, ProviderServer
from .secrets import LeakDetector

__all__ = [
    "CATEGORIES",
    "CONDITION_KINDS",
    "FAULT_KINDS",
    "ORGANIZATION",
    "OTHER_ORGANIZATION",
    "TARGETS",
    "TOKEN",
    "Fault",
    "Harness",
    "Inconsistency",
    "Problem",
    "ProviderProcess",
    "Report",
    "Scenario",
    "ScenarioStep",
    "StepFailed",
    "inconsistencies",
    "run_scenario",
    "run_scenarios",
]

TOKEN = "tok_fault_scenarios_7c1e4b2a9d"  # noqa: S105 - the emulator's test token
ORGANIZATION = "org_faults"
# A second organization the same token reaches: a stack pointed at it by mistake.
OTHER_ORGANIZATION = "org_faults_other"
# The payload state holds; each provider process runs a fresh instance of its own.
PROVIDER = provider_payload()

FAULT_KINDS = (
    "rate_limit",
    "server_error",
    "apply_then_fail",
    "drop_connection",
    "latency",
    "late_apply",
    "apply_then_garble",
    "slow_drip",
    "endless_pages",
    "growing_pages",
    "answer_unapplied",
    # Not rules but conditions set before the step: the emulator's clock shifted by
    # `offset_seconds` (until the scenario ends), a key made by another tool, with odd
    # fields or timestamps, in the organization (not the stack's; left out of the
    # checks), and a rename held and applied after its client gave up while every delete
    # fails (two rules: `late_apply` of updates, `server_error` of deletes).
    "clock_skew",
    "odd_key",
    "held_rename",
)
# The kinds that are conditions rather than emulator fault rules (never in its request log).
CONDITION_KINDS = frozenset({"clock_skew", "odd_key", "held_rename"})
# Provider processes run on short budgets, so that "applied after the client gave up"
# and "a server dripping its answer" take about a second; a leftover of an interrupted
# create expires when its step's budget would have ended (no grace: one machine).
PROVIDER_BUDGETS = {
    "EDGEE_REQUEST_DEADLINE_SECONDS": "1",
    "EDGEE_STEP_DEADLINE_SECONDS": "5",
    "EDGEE_LEFTOVER_GRACE_SECONDS": "0",
}
# A command running longer than this hangs (every step is bounded by the budgets).
HANG_SECONDS = 30.0
StepKind = Literal["create", "update", "replace", "add", "remove", "refresh", "destroy"]
Command = Literal["up", "refresh", "destroy"]

_GATEWAY_KEY = re.compile(r"\bek_[a-z]+_[A-Za-z0-9]{8,}")
_KEYS = r"/v1/organizations/[^/]+/api_keys"
# Where a fault can be aimed: (method, path regex matching the whole request path).
TARGETS: dict[str, tuple[str, str]] = {
    "create": ("POST", _KEYS),
    "list": ("GET", _KEYS),
    "update": ("POST", _KEYS + r"/[^/]+"),
    "delete": ("DELETE", _KEYS + r"/[^/]+"),
    "read": ("GET", _KEYS + r"/[^/]+(/reveal)?"),
    "any": ("*", r"/v1/.*"),
}
# The command each kind of step runs.
_COMMAND: dict[StepKind, Command] = {
    "create": "up",
    "add": "up",
    "update": "up",
    "replace": "up",
    "remove": "up",
    "refresh": "refresh",
    "destroy": "destroy",
}

# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Fault:
    """One fault rule to arm on the emulator before a step."""

    kind: str
    target: str
    count: int | None
    options: tuple[tuple[str, Any], ...] = ()

    def rule(self) -> dict[str, Any]:
        method, path = TARGETS[self.target]
        return {"method": method, "path": path, "count": self.count, **dict(self.options)}

    def __str__(self) -> str:
        options = ",".join(f"{k}={v}" for k, v in self.options)
        times = "until cleared" if self.count is None else f"x{self.count}"
        return f"{self.kind}({options}) {times} on {self.target}"


@dataclass(frozen=True)
class ScenarioStep:
    """One command on the model stack: the program it runs (for `up`), the faults armed
    first, and for a refresh the resource whose key someone deletes in the Console.

    `second_stack`: a second stack of the organization runs `up` of the same program (keys
    with identical settings) at the same time, under the same faults; it stays until the
    scenario ends, then is destroyed. `other_organization_first`: before the command, the
    same command runs with the configuration pointing at another organization the token
    reaches, which must fail and change nothing.
    """

    kind: StepKind
    program: dict[str, dict[str, Any]]
    faults: tuple[Fault, ...]
    deleted_out_of_band: str | None = None
    second_stack: bool = False
    other_organization_first: bool = False

    @property
    def command(self) -> Command:
        return _COMMAND[self.kind]

    def __str__(self) -> str:
        faults = "; ".join(map(str, self.faults)) or "no fault"
        extras = [
            f"key of {self.deleted_out_of_band} deleted in the Console first"
            if self.deleted_out_of_band
            else "",
            "a second stack runs `up` of the same program at once" if self.second_stack else "",
            f"first run configured for {OTHER_ORGANIZATION}"
            if self.other_organization_first
            else "",
        ]
        return f"{self.kind} [{faults}]" + "".join(f", {e}" for e in extras if e)


@dataclass(frozen=True)
class Scenario:
    """A sequence of steps, numbered `index` in the run seeded with `seed` (for replay)."""

    seed: int
    index: int
    steps: tuple[ScenarioStep, ...]

    def describe(self) -> str:
        lines = [f"scenario {self.index} (seed {self.seed}):"]
        for number, step in enumerate(self.steps):
            lines.append(f"  step {number}: {step}")
            if step.command == "up":
                for name, inputs in step.program.items():
                    lines.append(f"      {name}: {inputs}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Problem:
    """One broken invariant, with what is needed to replay it."""

    seed: int
    scenario: int
    step: int
    category: str
    detail: str

    def __str__(self) -> str:
        return (
            f"[{self.category}] scenario {self.scenario} step {self.step} "
            f"(replay: --seed {self.seed} --only {self.scenario} --verbose): {self.detail}"
        )


CATEGORIES = (
    "orphans",
    "duplicates",
    "lost_secrets",
    "ghosts",
    "mismatches",
    "owned_by_two_stacks",
    "wrong_organization_accepted",
    "not_idempotent",
    "unrepaired",
    "hangs",
    "leaks",
    "harness_errors",
)


@dataclass
class Report:
    """What a run of scenarios did and found; `ok` when no invariant broke."""

    seed: int = 0
    scenarios: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    commands: int = 0
    provider_calls: int = 0
    console_requests: int = 0
    faults_armed: Counter[str] = field(default_factory=Counter)
    faults_fired: Counter[str] = field(default_factory=Counter)
    failed_steps: Counter[str] = field(default_factory=Counter)
    repaired_steps: Counter[str] = field(default_factory=Counter)
    failure_reasons: Counter[str] = field(default_factory=Counter)
    manual_cleanups: Counter[str] = field(default_factory=Counter)
    leftovers_removed: int = 0
    # Scenarios with each mixed-in kind that ran: "second stack" (and "second stack,
    # creates at once" when both stacks' creates were in flight together), "other
    # organization".
    mixed_in: Counter[str] = field(default_factory=Counter)
    broken: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    elapsed: float = 0.0
    max_problems: int = 50

    @property
    def ok(self) -> bool:
        return not any(self.broken[c] for c in CATEGORIES)

    def count(self, category: str) -> int:
        return self.broken[category]

    @property
    def orphans(self) -> int:
        return self.broken["orphans"]

    @property
    def duplicates(self) -> int:
        return self.broken["duplicates"]

    @property
    def lost_secrets(self) -> int:
        return self.broken["lost_secrets"]

    @property
    def unrepaired(self) -> int:
        return self.broken["unrepaired"]

    def add_problem(self, problem: Problem) -> None:
        self.broken[problem.category] += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)

    def merge(self, other: Report) -> None:
        self.scenarios += other.scenarios
        self.steps.update(other.steps)
        self.commands += other.commands
        self.provider_calls += other.provider_calls
        self.console_requests += other.console_requests
        self.faults_armed.update(other.faults_armed)
        self.faults_fired.update(other.faults_fired)
        self.failed_steps.update(other.failed_steps)
        self.repaired_steps.update(other.repaired_steps)
        self.failure_reasons.update(other.failure_reasons)
        self.manual_cleanups.update(other.manual_cleanups)
        self.leftovers_removed += other.leftovers_removed
        self.mixed_in.update(other.mixed_in)
        for problem in other.problems:
            if len(self.problems) < self.max_problems:
                self.problems.append(problem)
        self.broken.update(other.broken)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON document (what `--json` of the script writes)."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["problems"] = [asdict(p) for p in self.problems]
        return {k: dict(v) if isinstance(v, Counter) else v for k, v in doc.items()}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Report:
        """A report read back from `to_json`."""
        values: dict[str, Any] = {
            k: Counter(v) if isinstance(v, dict) else v for k, v in doc.items()
        }
        values["problems"] = [Problem(**p) for p in doc["problems"]]
        return cls(**values)


def urn(name: str) -> str:
    """The URN of a scenario stack's resource."""
    return ModelStack(project="scenarios", stack="faults").urn(name)


def new_stack(name: str = "faults") -> ModelStack:
    """An empty scenario stack."""
    return ModelStack(project="scenarios", stack=name)


class StepFailed(Exception):
    """A provider call failed, so the command stopped there (as the engine stops).

    `details` is what the user would read: the provider's error, traceback included.
    """

    def __init__(self, error: ProviderCallError) -> None:
        super().__init__(error.details)
        self.error = error
        self.details = error.details


class ProviderProcess:
    """One command's provider process: the engine model's commands on a stack, every
    output searched for leaks, a failed provider call raised as `StepFailed`."""

    def __init__(self, server: ProviderServer, provider: str, leaks: LeakDetector) -> None:
        self.server = server
        self.leaks = leaks
        self.engine = LifeCycle(server, provider=provider, on_outputs=self._keep)

    def _keep(self, label: str, outputs: Props) -> None:
        """The secret is registered, the rest searched; `key` must arrive as a secret."""
        if "key" in outputs.values and "key" not in outputs.secrets:
            raise AssertionError(f"{label}: the gateway key did not arrive as a secret")
        self.leaks.add_secrets(outputs.values.get("key"))
        self.leaks.record(label, {k: v for k, v in outputs.values.items() if k != "key"})

    def _run(self, command: Callable[[], object]) -> None:
        try:
            command()
        except ProviderCallError as error:
            self.leaks.record(f"{error.method} error", error.details)
            raise StepFailed(error) from None

    def up(self, stack: ModelStack, program: Mapping[str, Mapping[str, Any]]) -> None:
        """`pulumi up`: creates, updates and replacements in program order, then deletes."""
        self._run(lambda: stack.up(self.engine, program, PROVIDER))

    def refresh(self, stack: ModelStack) -> None:
        """`pulumi refresh`: read every resource; a failure keeps it and the others go on."""
        self._run(lambda: stack.refresh(self.engine))

    def destroy(self, stack: ModelStack) -> None:
        """`pulumi destroy`: delete in reverse order; a failure keeps that resource."""
        self._run(lambda: stack.destroy(self.engine))


# --------------------------------------------------------------------------- workers


def _provider_process_env(cert_dir: str) -> dict[str, str]:
    # Every "process" builds an HTTP client; loading the system CA bundle costs ~30 ms
    # and ~1 MB each. The emulator is plain HTTP on loopback, so an empty CA directory
    # changes nothing but the cost.
    return {"SSL_CERT_FILE": "", "SSL_CERT_DIR": cert_dir, **PROVIDER_BUDGETS}


class Harness:
    """An emulator and a provider server of its own, and the engine's commands on a model
    stack (`up`, `refresh`, `destroy`), each in a provider process of its own.

    Use as a context manager. `leaks` collects the token, every gateway key seen and
    every artefact (outputs, errors, request log, server logs) for the leak search.
    """

    def __init__(
        self,
        *,
        fresh_processes: bool = True,
        restart_every: int = 400,
        cert_dir: str | None = None,
    ) -> None:
        self.fresh_processes = fresh_processes
        self.restart_every = restart_every
        self._exit = contextlib.ExitStack()
        if cert_dir is None:
            cert_dir = self._exit.enter_context(tempfile.TemporaryDirectory(prefix="edgee-no-ca-"))
        self._env = _provider_process_env(cert_dir)
        extra = [OTHER_ORGANIZATION]
        self.emulator: EmulatorHandle = self._exit.enter_context(
            run_emulator(token=TOKEN, organization_id=ORGANIZATION, extra_organization_ids=extra)
        )
        self._app = ConsoleApp(
            self.emulator.backend,
            token=TOKEN,
            organization_id=ORGANIZATION,
            extra_organization_ids=extra,
        )
        self._server: ProviderServer | None = None
        self._generations = 0
        # Two stacks' commands may start at once: a provider binds the server's last
        # Configure on its first call, and the server must not restart under a command.
        self._lock = threading.Lock()
        self._active = 0
        self._urls: set[str] = set()
        self.leaks = LeakDetector()
        self.leaks.add_secrets(TOKEN)
        self.log_leaks: list[str] = []

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop_server()
        self._exit.close()

    def _stop_server(self) -> None:
        if self._server is not None:
            self._stop(self._server)
            self._server = None
            self._urls.clear()

    def _stop(self, server: ProviderServer) -> None:
        """Stop a server and search what it wrote for secrets."""
        server.stop()
        for label, text in (
            ("server stdout", server.stdout_text()),
            ("server stderr", server.stderr_text()),
        ):
            self.leaks.record(label, text)
            # The server outlives many scenarios: look for any gateway key, too.
            if _GATEWAY_KEY.search(text):
                self.log_leaks.append(f"a gateway key in the provider's {label}")

    def _current_server(self) -> ProviderServer:
        """The running server; a new one after `restart_every` processes."""
        restart = self._generations >= self.restart_every and self._active == 0
        if self._server is None or restart:
            self._stop_server()
            self._server = ProviderServer(project="scenarios", env=self._env)
            self._server.get_plugin_info()
            self._generations = 0
        return self._server

    def _configured(self, url: str, organization: str = ORGANIZATION) -> ProviderServer:
        self._generations += 1
        assert self._server is not None
        self._server.configure(
            edgee_config(url, token=TOKEN, organization=organization),
            secret_keys=SECRET_CONFIG_KEYS,
        )
        return self._server

    @contextlib.contextmanager
    def _endpoint(self) -> Iterator[str]:
        """A listening port of this worker's emulator that this server has never seen."""
        held: list[EmulatorServer] = []
        try:
            while True:
                server = EmulatorServer(self._app)
                held.append(server)
                if server.url not in self._urls:
                    break
            self._urls.add(server.url)
            server.start()
            yield server.url
        finally:
            for each in held:
                each.stop()

    @contextlib.contextmanager
    def process(
        self, leaks: LeakDetector | None = None, organization: str = ORGANIZATION
    ) -> Iterator[ProviderProcess]:
        """A provider process for one command (see the module docstring), configured for
        `organization`; safe to use from two threads at once."""
        leaks = self.leaks if leaks is None else leaks
        if not self.fresh_processes and organization == ORGANIZATION:
            with self._lock:
                if self._server is None:
                    self._current_server()
                    self._configured(self.emulator.url)
                server = self._server
            assert server is not None
            yield ProviderProcess(server, PROVIDER, leaks)
            return
        with contextlib.ExitStack() as held:
            with self._lock:
                server = self._current_server()
                url = held.enter_context(self._endpoint())
                self._configured(url, organization)
                instance = ApiKeyProvider()
                instance.process = (os.getpid(), id(self), url)  # type: ignore[attr-defined]
                provider = provider_payload(instance)
                # The server configures a provider on its first call, with the last Configure.
                server.check(urn("warm-up"), {}, {"name": "warm-up", "__provider": provider})
                self._active += 1
            try:
                yield ProviderProcess(server, provider, leaks)
            finally:
                with self._lock:
                    self._active -= 1

    def up(self, stack: ModelStack, program: Mapping[str, dict[str, Any]]) -> None:
        """`pulumi up` of `program` on `stack`; raises StepFailed as the CLI would fail."""
        with self.process() as process:
            process.up(stack, program)

    def refresh(self, stack: ModelStack) -> None:
        """`pulumi refresh` of `stack`; raises StepFailed if any read failed."""
        with self.process() as process:
            process.refresh(stack)

    def destroy(self, stack: ModelStack) -> None:
        """`pulumi destroy` of `stack`; raises StepFailed at the first failed delete."""
        with self.process() as process:
            process.destroy(stack)

    def live_keys(self) -> dict[str, dict[str, Any]]:
        """The organization's live keys by id, secrets included (registered as secrets)."""
        keys = [key_json(k, secret=True, email=True) for k in self.emulator.backend.all_keys()]
        live = {str(k["id"]): k for k in keys if k["organization_id"] == ORGANIZATION}
        self.leaks.add_secrets(*(str(k["key"]) for k in live.values()))
        return live

    def take_requests(self) -> list[dict[str, Any]]:
        """The Console API requests logged since the last call (then the log is emptied)."""
        # The backend directly, not the admin API: this runs after every command.
        backend = self.emulator.backend
        requests = [request_json(record) for record in backend.requests()]
        backend.clear_requests()
        self.leaks.record("request log", requests)
        return requests


# --------------------------------------------------------------------------- checks


def _reason(text: str) -> str:
    """An error's last line with ids, names and numbers blanked, to group failures."""
    line = text.strip().splitlines()[-1] if text.strip() else "(no details)"
    line = re.sub(r"key_[A-Za-z0-9]+", "key_…", line)
    line = re.sub(r"'[^']*'", "'…'", line)
    line = re.sub(r"\d{4}-\d\d-\d\dT[\d:]+Z", "<time>", line)
    line = re.sub(r"\b\d+(\.\d+)?s\b", "<n>s", line)
    return line[:200]


def _days(created: str | None, expires: str | None) -> int | None:
    if created is None or expires is None:
        return None
    start = datetime.fromisoformat(created.replace("Z", "+00:00"))
    end = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    return round((end - start).total_seconds() / 86400)


def _live_differences(
    name: str, declared: Mapping[str, Any], live: Mapping[str, Any], *, check_email: bool
) -> str:
    spec = ApiKeySpec.model_validate(declared)
    wanted = {
        "name": spec.name,
        "type": spec.type,
        "coding_assistant": spec.coding_assistant,
        "models": sorted(spec.models),
        "max_usage": spec.max_usage,
        "email": spec.email,
        "active": spec.active,
        "expires_in_days": spec.expires_in_days,
    }
    actual = {
        **{k: live.get(k) for k in wanted},
        "models": sorted(live.get("models") or ()),
        "expires_in_days": _days(live.get("created_at"), live.get("expires_at")),
    }
    if not check_email:
        del wanted["email"]
    diffs = [
        f"{k}: live {actual[k]!r}, declared {v!r}" for k, v in wanted.items() if actual[k] != v
    ]
    return f"{name} ({live['id']}): " + "; ".join(diffs) if diffs else ""


def _output_differences(name: str, resource: ResourceState, live: Mapping[str, Any]) -> str:
    pairs = {
        "name": "name",
        "type": "type",
        "codingAssistant": "coding_assistant",
        "maxUsage": "max_usage",
        "active": "active",
    }
    diffs = [
        f"{out}: state {resource.outputs.get(out)!r}, live {live.get(key)!r}"
        for out, key in pairs.items()
        if resource.outputs.get(out) != live.get(key)
    ]
    if sorted(resource.outputs.get("models") or ()) != sorted(live.get("models") or ()):
        diffs.append("models differ")
    return f"{name} ({resource.id}) outputs: " + "; ".join(diffs) if diffs else ""


@dataclass(frozen=True)
class Inconsistency:
    """One way the stack's state and the emulator's keys disagree."""

    category: str
    detail: str
    key_id: str | None = None


def inconsistencies(
    stack: ModelStack,
    live: Mapping[str, Mapping[str, Any]],
    program: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    others: Sequence[ModelStack] = (),
    unseen_email: Collection[str] = (),
) -> list[Inconsistency]:
    """Compare a stack's state with the organization's live keys (`Harness.live_keys()`).

    Always: every live key in exactly one resource (`others` are further stacks of the
    same organization), every resource's key alive, and its stored secret the live one.
    With `program` (after an `up` or a `destroy`): state holds exactly the program's
    resources, no replaced key is left, and inputs, outputs and live keys match it (but
    the `email` of the keys in `unseen_email`, whose update was acknowledged without
    being applied: the Console API never returns `email`, so that cannot be noticed).
    """
    found: list[Inconsistency] = []
    entries = stack.all()
    ids = Counter(resource.id for _, resource in entries)
    elsewhere = {resource.id for other in others for _, resource in other.all()}
    for key_id, n in ids.items():
        if n > 1:
            names = [name for name, r in entries if r.id == key_id]
            found.append(Inconsistency("duplicates", f"{names} all hold key {key_id}", key_id))
        if key_id in elsewhere:
            detail = f"{key_id} is also in another stack's state"
            found.append(Inconsistency("owned_by_two_stacks", detail, key_id))
    for key_id, key in live.items():
        if key_id not in ids and key_id not in elsewhere:
            detail = f"live key {key_id} ({key['name']!r}) is in no resource"
            found.append(Inconsistency("orphans", detail, key_id))
    for name, resource in entries:
        held = live.get(resource.id)
        if held is None:
            detail = f"{name} holds {resource.id}, which is gone"
            found.append(Inconsistency("ghosts", detail, resource.id))
        elif resource.outputs.get("key") != held["key"]:
            detail = f"{name} ({resource.id}) stores another secret than the live key's"
            found.append(Inconsistency("lost_secrets", detail, resource.id))
    if program is None:
        return found
    if set(stack.resources) != set(program) or stack.pending_deletes:
        detail = (
            f"state has {sorted(stack.resources)} (+{len(stack.pending_deletes)} replaced "
            f"keys not deleted), the program {sorted(program)}"
        )
        return [*found, Inconsistency("mismatches", detail)]
    for name, resource in stack.resources.items():
        wanted = ApiKeySpec.model_validate(program[name]).to_wire()
        stored = {k: v for k, v in resource.inputs.items() if k != "__provider"}
        if stored != wanted:
            detail = f"{name} inputs {stored} != {wanted}"
            found.append(Inconsistency("mismatches", detail, resource.id))
        current = live.get(resource.id)
        if current is None:
            continue
        for difference in (
            _live_differences(
                name, program[name], current, check_email=resource.id not in unseen_email
            ),
            _output_differences(name, resource, current),
        ):
            if difference:
                found.append(Inconsistency("mismatches", difference, resource.id))
    return found


def taken_from_another_stack(
    stacks: Mapping[str, ModelStack], first_held: dict[str, str]
) -> list[Inconsistency]:
    """Keys a stack holds that another stack held first (in `first_held`, key id to stack,
    which this extends with the ids seen for the first time). Ids are never reused, so
    the first stack to hold a key made it: a later holder took another stack's key, even
    once the first has let it go (deleted it from under the taker, or was destroyed)."""
    found: list[Inconsistency] = []
    for label, stack in stacks.items():
        for key_id in sorted({resource.id for _, resource in stack.all()}):
            first = first_held.setdefault(key_id, label)
            if first != label:
                detail = f"stack {label!r} holds {key_id}, which stack {first!r} held first"
                found.append(Inconsistency("owned_by_two_stacks", detail, key_id))
    return found


def misdirection_problems(
    error: str | None,
    state: tuple[object, object],
    state_after: tuple[object, object],
    keys: Mapping[str, str],
    keys_after: Mapping[str, str],
) -> list[str]:
    """What a command configured for `OTHER_ORGANIZATION` on a stack of `ORGANIZATION`
    did wrong: it must fail naming both organizations, leave the state as it was and
    delete no key of either organization (`keys`: key id to organization)."""
    found: list[str] = []
    if error is None:
        found.append("the command succeeded")
    elif ORGANIZATION not in error or OTHER_ORGANIZATION not in error:
        found.append(f"the error does not name both organizations: {_reason(error)}")
    if state_after != state:
        found.append("the stack's state changed")
    gone = sorted(f"{k} ({org})" for k, org in keys.items() if k not in keys_after)
    if gone:
        found.append(f"keys deleted: {', '.join(gone)}")
    return found


# --------------------------------------------------------------------------- running


@dataclass
class _Attempt:
    error: str | None
    calls: list[str]
    requests: list[dict[str, Any]]


def creates_at_once(requests: Sequence[Mapping[str, Any]]) -> bool:
    """Whether two of these logged requests were creates in flight at the same time (one
    stack's creates run one after another: two stacks were creating at once)."""
    spans = sorted(
        (start, start + timedelta(milliseconds=float(r["duration_ms"])))
        for r in requests
        if r["method"] == "POST" and re.fullmatch(_KEYS, str(r["path"]))
        for start in [datetime.fromisoformat(str(r["started_at"]).replace("Z", "+00:00"))]
    )
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


def _in_thread(work: Callable[[], None]) -> Callable[[], None]:
    """Start `work` in a thread; the call returned waits for it and raises what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # re-raised by the waiting thread
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if raised:
            raise raised[0]

    return wait


class _ScenarioRun:
    """Runs one scenario on a harness and records what it finds in a report."""

    def __init__(
        self, harness: Harness, scenario: Scenario, report: Report, log: list[str] | None
    ) -> None:
        self.harness = harness
        self.emulator = harness.emulator
        self.scenario = scenario
        self.report = report
        self.log = log
        self.stack = new_stack()
        # The organization's second stack (`ScenarioStep.second_stack`) once it ran, the
        # program it last applied and the error of its last command.
        self.twin: ModelStack | None = None
        self.twin_program: dict[str, dict[str, Any]] = {}
        self.twin_error: str | None = None
        # Which stack held each key id first (`taken_from_another_stack`).
        self.first_held: dict[str, str] = {}
        # Keys an update of which was acknowledged but not applied: their `email` cannot
        # be checked (the Console API never returns it, so no client can notice).
        self.unseen_email: set[str] = set()
        # The mixed-in kinds this scenario ran (`Report.mixed_in`).
        self.mixed: set[str] = set()
        # Keys another tool made (`odd_key`): not the stack's, left out of the checks.
        self.foreign: set[str] = set()
        # A detector per scenario: searching is quadratic, scenarios are independent.
        harness.leaks = self.leaks = LeakDetector()
        self.leaks.add_secrets(TOKEN)

    def say(self, text: str) -> None:
        if self.log is not None:
            self.log.append(text)

    def problem(self, step: int, category: str, detail: str) -> None:
        self.report.add_problem(
            Problem(self.scenario.seed, self.scenario.index, step, category, detail)
        )
        self.say(f"    PROBLEM [{category}] {detail}")

    def stacks(self) -> dict[str, ModelStack]:
        """The organization's stacks by name."""
        return {"faults": self.stack} | ({"twin": self.twin} if self.twin is not None else {})

    def run(self) -> None:
        self.emulator.reset()
        self.report.scenarios += 1
        try:
            for number, step in enumerate(self.scenario.steps):
                if not self.run_step(number, step):
                    break
            else:
                self.retire_twin(len(self.scenario.steps))
        finally:
            self.emulator.reset()
        self.report.mixed_in.update(self.mixed)
        for label, secret in self.leaks.leaks():
            self.problem(-1, "leaks", f"{secret} found in {label}")

    def attempt(
        self,
        label: str,
        command: Callable[[ProviderProcess], None],
        *,
        organization: str = ORGANIZATION,
        alongside: Callable[[], None] | None = None,
    ) -> _Attempt:
        """Run a command in a provider process of its own (and `alongside`, if given, in
        a thread at the same time)."""
        started = time.monotonic()
        try:
            return self._attempt(command, organization, alongside)
        finally:
            took = time.monotonic() - started
            if took > HANG_SECONDS:
                self.problem(-1, "hangs", f"{label} took {took:.0f} s")

    def _attempt(
        self,
        command: Callable[[ProviderProcess], None],
        organization: str,
        alongside: Callable[[], None] | None,
    ) -> _Attempt:
        with self.harness.process(organization=organization) as process:
            calls_before = len(process.server.calls)
            error: str | None = None
            wait = _in_thread(alongside) if alongside is not None else None
            try:
                command(process)
            except StepFailed as failure:
                error = failure.details
            finally:
                if wait is not None:
                    wait()
            # The calls (and requests) of a command run alongside are counted here too.
            calls = [c for c in process.server.calls[calls_before:] if c != "Configure"]
        requests = self.harness.take_requests()
        self.report.commands += 1
        self.report.provider_calls += len(calls)
        self.report.console_requests += len(requests)
        for request in requests:
            if request.get("fault"):
                self.report.faults_fired[str(request["fault"])] += 1
            if request.get("fault") == "answer_unapplied" and request["method"] == "POST":
                self.unseen_email.add(str(request["path"]).rsplit("/", 1)[-1])
        return _Attempt(error, calls, requests)

    def command(self, step: ScenarioStep) -> Callable[[ProviderProcess], None]:
        """The step's command on the scenario's (first) stack."""
        if step.command == "up":
            return lambda process: process.up(self.stack, step.program)
        if step.command == "refresh":
            return lambda process: process.refresh(self.stack)
        return lambda process: process.destroy(self.stack)

    def twin_command(self, command: Callable[[ProviderProcess, ModelStack], None]) -> None:
        """A command of the second stack in a provider process of its own; its error is
        kept in `twin_error` (this runs in a thread, alongside the first stack's)."""
        assert self.twin is not None
        self.report.commands += 1
        self.twin_error = None
        with self.harness.process() as process:
            try:
                command(process, self.twin)
            except StepFailed as failure:
                self.twin_error = failure.details

    def run_step(self, number: int, step: ScenarioStep) -> bool:
        """Run a step, re-run it, check the stack; False when the scenario cannot go on."""
        self.report.steps[step.kind] += 1
        self.say(f"  step {number}: {step}")
        if step.deleted_out_of_band and step.deleted_out_of_band in self.stack.resources:
            key_id = self.stack.resources[step.deleted_out_of_band].id
            with contextlib.suppress(Exception):
                self.emulator.backend.delete_key(ORGANIZATION, key_id)
        self.emulator.clear_faults()
        if step.other_organization_first:
            self.misdirected(number, step)
        for fault in step.faults:
            self.arm(fault)
            self.report.faults_armed[fault.kind] += 1
        alongside: Callable[[], None] | None = None
        if step.second_stack:
            self.mixed.add("second stack")
            self.twin = self.twin or new_stack("twin")
            self.twin_program = step.program

            def twin_up() -> None:
                self.twin_command(lambda process, twin: process.up(twin, step.program))

            alongside = twin_up
        first = self.attempt(f"{step}: a {step.command}", self.command(step), alongside=alongside)
        if step.second_stack and creates_at_once(first.requests):
            self.mixed.add("second stack, creates at once")
        self.emulator.clear_faults()
        fired = Counter(str(r["fault"]) for r in first.requests if r.get("fault"))
        self.say(
            f"    first run: {'FAILED' if first.error else 'ok'}; calls {first.calls}; "
            f"faults fired {dict(fired)}"
        )
        errors = [first.error] if first.error else []
        if first.error:
            self.report.failed_steps[step.kind] += 1
            self.report.failure_reasons[_reason(first.error)] += 1
            self.say(f"    error: {_reason(first.error)}")
        rerun = self.attempt(f"{step}: a {step.command}", self.command(step))
        self.say(f"    re-run: {'FAILED' if rerun.error else 'ok'}; calls {rerun.calls}")
        if rerun.error:
            self.problem(
                number, "unrepaired", f"{step}: the re-run failed too: {_reason(rerun.error)}"
            )
            return False
        if first.error is None:
            self.check_noop(number, step, rerun)
        if step.second_stack and not self.repair_twin(number, step, errors):
            return False
        program = None if step.command == "refresh" else step.program
        healthy = self.check_stack(number, str(step), program, errors)
        if first.error and healthy:
            self.report.repaired_steps[step.kind] += 1
        return healthy

    def repair_twin(self, number: int, step: ScenarioStep, errors: list[str]) -> bool:
        """Re-run the second stack's `up` if it failed, as its owner would; False when
        that failed too."""
        if self.twin_error is None:
            self.say("    second stack's up: ok")
            return True
        errors.append(self.twin_error)
        self.report.failure_reasons[_reason(self.twin_error)] += 1
        self.say(f"    second stack's up FAILED: {_reason(self.twin_error)}")
        self.twin_command(lambda process, twin: process.up(twin, step.program))
        if self.twin_error is None:
            return True
        reason = _reason(self.twin_error)
        self.problem(number, "unrepaired", f"{step}: the second stack's re-run failed: {reason}")
        return False

    def retire_twin(self, number: int) -> None:
        """Destroy the second stack once the scenario is done, then check that both stacks
        left nothing behind."""
        if self.twin is None:
            return
        self.say(f"  step {number}: destroy of the second stack")
        self.twin_program = {}
        errors: list[str] = []
        for _ in range(2):  # the owner re-runs a failed destroy
            self.twin_command(lambda process, twin: process.destroy(twin))
            self.report.console_requests += len(self.harness.take_requests())
            self.say(f"    {'FAILED' if self.twin_error else 'ok'}")
            if self.twin_error is None:
                break
            errors.append(self.twin_error)
        else:
            assert self.twin_error is not None
            reason = _reason(self.twin_error)
            self.problem(number, "unrepaired", f"the second stack's destroy failed: {reason}")
            return
        self.check_stack(number, "destroy of the second stack", None, errors)

    def misdirected(self, number: int, step: ScenarioStep) -> None:
        """Run the step's command configured for the other organization: it must fail and
        change nothing (`misdirection_problems`). A key of that organization named like
        one of the stack's is there to be left alone too."""
        if not self.stack.resources:
            return
        self.mixed.add("other organization")
        backend = self.emulator.backend
        name = next(iter(self.stack.resources.values())).outputs.get("name")
        backend.create_key(OTHER_ORGANIZATION, {"name": str(name)})
        state = copy.deepcopy((self.stack.resources, self.stack.pending_deletes))
        keys = {key.id: key.organization_id for key in backend.all_keys()}
        attempt = self.attempt(
            f"{step}: a {step.command} for {OTHER_ORGANIZATION}",
            self.command(step),
            organization=OTHER_ORGANIZATION,
        )
        found = misdirection_problems(
            attempt.error,
            state,
            (self.stack.resources, self.stack.pending_deletes),
            keys,
            {key.id: key.organization_id for key in backend.all_keys()},
        )
        self.say(
            f"    configured for {OTHER_ORGANIZATION}: "
            + (f"refused: {_reason(attempt.error)}" if attempt.error else "ok")
        )
        for detail in found:
            self.problem(number, "wrong_organization_accepted", f"{step}: {detail}")
        # Go on from the state as it was, so one wrong answer is not counted again.
        self.stack.resources, self.stack.pending_deletes = state

    def own_keys(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.harness.live_keys().items() if k not in self.foreign}

    def arm(self, fault: Fault) -> None:
        options = dict(fault.options)
        if fault.kind == "clock_skew":
            self.emulator.set_clock_offset(options["offset_seconds"])
        elif fault.kind == "odd_key":
            self.foreign.add(str(self.emulator.insert_key(**options)["id"]))
        elif fault.kind == "held_rename":
            method, path = TARGETS["update"]
            self.emulator.add_fault(
                "late_apply", method=method, path=path, count=fault.count, **options
            )
            method, path = TARGETS["delete"]
            self.emulator.add_fault("server_error", method=method, path=path, count=None)
        else:
            self.emulator.add_fault(fault.kind, **fault.rule())

    def remove_leftovers(self, number: int, live: Mapping[str, Mapping[str, Any]]) -> bool:
        """Keys still named by a create marker are leftovers of an interrupted create:
        in no state, and removed by the next listing after their marker expired. Wait for
        that, then list through the provider: a refresh of the stack, or when the stack
        is empty, of a key it would know that no longer exists. False when there was none."""
        held = {r.id for stack in self.stacks().values() for _, r in stack.all()}
        found = {
            key_id: marker
            for key_id, key in live.items()
            if (marker := markers.parse(str(key["name"]))) is not None
        }
        for key_id in found.keys() & held:
            self.problem(number, "duplicates", f"leftover {key_id} is in a stack's state")
        leftovers = {k: m for k, m in found.items() if k not in held}
        if not leftovers:
            return False
        while time.time() <= max(m.expires for m in leftovers.values()) + 0.2:
            time.sleep(0.1)
        with self.harness.process() as process:
            try:
                if self.stack.resources:
                    process.refresh(self.stack)
                else:
                    # A refresh of a key the stack knows (a read by id alone only looks).
                    probe = Props({"name": "probe", "createdAt": "2026-01-01T00:00:00Z"})
                    process.engine.refresh(new_stack().state("probe", "key_probe", probe, probe))
            except StepFailed as failure:
                self.problem(number, "unrepaired", f"listing failed: {_reason(failure.details)}")
        self.harness.take_requests()
        gone = leftovers.keys() - self.harness.live_keys().keys()
        self.report.leftovers_removed += len(gone)
        self.say(f"    leftovers of interrupted creates removed by a listing: {sorted(gone)}")
        return True

    def check_noop(self, number: int, step: ScenarioStep, rerun: _Attempt) -> None:
        # Faults are cleared before a re-run: a request answered under one began earlier
        # (a write held by `late_apply`, logged when it finally ends).
        writes = [
            f"{r['method']} {r['path']}"
            for r in rerun.requests
            if r["method"] in ("POST", "DELETE") and not r.get("fault")
        ]
        changes = [c for c in rerun.calls if c in ("Create", "Update", "Delete")]
        if writes or changes:
            self.problem(
                number,
                "not_idempotent",
                f"{step}: re-running a successful {step.command} made calls {changes} "
                f"and requests {writes}",
            )

    def check_stack(
        self,
        number: int,
        label: str,
        program: Mapping[str, Mapping[str, Any]] | None,
        errors: Sequence[str],
    ) -> bool:
        """Check every stack of the organization against the live keys (the first against
        `program`, the second against the program it last applied) and against each other."""
        # A create applied late may land while this runs: look again after each removal.
        for _ in range(3):
            live = self.own_keys()
            if not self.remove_leftovers(number, live):
                break
        found = inconsistencies(
            self.stack,
            live,
            program,
            others=list(self.stacks().values())[1:],
            unseen_email=self.unseen_email,
        )
        if self.twin is not None:
            found += inconsistencies(
                self.twin,
                live,
                self.twin_program,
                others=[self.stack],
                unseen_email=self.unseen_email,
            )
        found += taken_from_another_stack(self.stacks(), self.first_held)
        healthy = True
        seen: set[tuple[str, str]] = set()
        for each in found:
            if each.key_id is not None:
                if (each.category, each.key_id) in seen:
                    continue  # both stacks' checks see an orphan or a shared key
                seen.add((each.category, each.key_id))
            if each.category == "orphans" and each.key_id is not None:
                name = live[each.key_id]["name"]
                told = [
                    e for e in errors if each.key_id in e or f"look for a key named {name!r}" in e
                ]
                if told:
                    # An error named this key for manual clean-up: do as it says, go on.
                    self.report.manual_cleanups[_reason(told[0])] += 1
                    self.say(f"    manual clean-up of {each.key_id}, as an error asked")
                    self.emulator.backend.delete_key(ORGANIZATION, each.key_id)
                    continue
            self.problem(number, each.category, f"{label}: {each.detail}")
            healthy = False
        return healthy


def run_scenario(
    harness: Harness, scenario: Scenario, report: Report, log: list[str] | None = None
) -> None:
    """Run one scenario on a harness, each step then its re-run, recording what it finds."""
    _ScenarioRun(harness, scenario, report, log).run()


ScenarioMaker = Callable[[int, int], Scenario]


def _work(
    worker: Harness,
    make: ScenarioMaker,
    seed: int,
    indices: queue.Queue[int],
    report: Report,
    log: list[str] | None,
    progress: Callable[[], None],
) -> None:
    while True:
        try:
            index = indices.get_nowait()
        except queue.Empty:
            return
        progress()
        scenario = make(seed, index)
        if log is not None:
            log.append(scenario.describe())
        try:
            run_scenario(worker, scenario, report, log)
        except Exception as error:  # a harness failure must not stop the other scenarios
            where = reversed(traceback.extract_tb(error.__traceback__)[-3:])
            frames = " <- ".join(
                f"{f.name} ({os.path.basename(f.filename)}:{f.lineno})" for f in where
            )
            detail = f"{type(error).__name__}: {error} at {frames}"
            report.add_problem(Problem(seed, index, -1, "harness_errors", detail))
            with contextlib.suppress(Exception):
                worker.emulator.reset()


def run_scenarios(
    make: ScenarioMaker,
    count: int,
    seed: int,
    *,
    workers: int = 8,
    only: Sequence[int] | None = None,
    fresh_processes: bool = True,
    restart_every: int = 400,
    log: list[str] | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> Report:
    """Run scenarios `make(seed, index)` for `0..count-1` (or just the `only` ones) and
    report.

    `workers` scenarios run at once, each worker with its own emulator and provider
    server (most of a scenario's time is spent in the client's retry back-off). `log`, if
    given, receives a step-by-step account (use with one worker for a readable order).
    `on_progress(started, total, problems)` is called as each scenario starts.
    """
    started = time.perf_counter()
    indices: queue.Queue[int] = queue.Queue()
    for index in only if only is not None else range(count):
        indices.put(index)
    total = indices.qsize()
    workers = max(1, min(workers, total))
    report = Report(seed=seed)
    begun = 0
    begun_lock = threading.Lock()

    def progress() -> None:
        nonlocal begun
        with begun_lock:
            begun += 1
            if on_progress is not None:
                on_progress(begun, total, sum(sum(r.broken.values()) for r in reports))

    with tempfile.TemporaryDirectory(prefix="edgee-no-ca-") as cert_dir:
        pool = [
            Harness(fresh_processes=fresh_processes, restart_every=restart_every, cert_dir=cert_dir)
            for _ in range(workers)
        ]
        reports = [Report(seed=seed) for _ in pool]
        logs: list[list[str] | None] = [[] if log is not None else None for _ in pool]
        try:
            threads = [
                threading.Thread(
                    target=_work, args=(w, make, seed, indices, r, lg, progress), daemon=True
                )
                for w, r, lg in zip(pool, reports, logs, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            for worker in pool:
                worker.close()
        for worker, part, lines in zip(pool, reports, logs, strict=True):
            found = [f"{secret} found in {label}" for label, secret in worker.leaks.leaks()]
            for detail in found + worker.log_leaks:
                part.add_problem(Problem(seed, -1, -1, "leaks", detail))
            report.merge(part)
            if log is not None and lines:
                log.extend(lines)
    report.problems.sort(key=lambda p: (p.scenario, p.step))
    report.elapsed = time.perf_counter() - started
    return report
