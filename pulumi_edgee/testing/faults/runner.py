"""Runs scenarios: each step with its faults, the re-run a user would make, and the checks, on
a pool of workers.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pulumi_edgee import markers
from pulumi_edgee.registry import API_KEY, ROTATING_API_KEY

from ..engine import (
    ModelStack,
    Props,
)
from ..secrets import LeakDetector
from .harness import Harness, ProviderProcess, StepFailed, new_stack
from .invariants import (
    held_keys,
    inconsistencies,
    misdirection_problems,
    short_reason,
    taken_from_another_stack,
)
from .report import Problem, Report
from .scenarios import (
    HANG_SECONDS,
    KEYS,
    ORGANIZATION,
    OTHER_ORGANIZATION,
    TARGETS,
    TOKEN,
    Fault,
    Scenario,
    ScenarioStep,
)


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
        if r["method"] == "POST" and re.fullmatch(KEYS, str(r["path"]))
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
        self.row = scenario.row
        self.stack = new_stack(door=harness.door, row=self.row)
        # The mixed-in kinds this scenario ran (`Report.mixed_in`).
        self.mixed: set[str] = {"rotating keys"} if self.row is ROTATING_API_KEY else set()
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
        with self.harness.process(organization=organization, row=self.row) as process:
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
        with self.harness.process(row=self.row) as process:
            try:
                command(process, self.twin)
            except StepFailed as failure:
                self.twin_error = failure.details

    def run_step(self, number: int, step: ScenarioStep) -> bool:
        """Run a step, re-run it, check the stack; False when the scenario cannot go on."""
        self.report.steps[step.kind] += 1
        self.say(f"  step {number}: {step}")
        if step.deleted_out_of_band and step.deleted_out_of_band in self.stack.resources:
            # A rotating key's current key (the first it holds).
            key_id = next(iter(held_keys(self.stack.resources[step.deleted_out_of_band])))
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
            self.twin = self.twin or new_stack("twin", self.harness.door, self.row)
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
            self.report.failure_reasons[short_reason(first.error)] += 1
            self.say(f"    error: {short_reason(first.error)}")
        rerun = self.attempt(f"{step}: a {step.command}", self.command(step))
        self.say(f"    re-run: {'FAILED' if rerun.error else 'ok'}; calls {rerun.calls}")
        if rerun.error:
            self.problem(
                number, "unrepaired", f"{step}: the re-run failed too: {short_reason(rerun.error)}"
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
        self.report.failure_reasons[short_reason(self.twin_error)] += 1
        self.say(f"    second stack's up FAILED: {short_reason(self.twin_error)}")
        self.twin_command(lambda process, twin: process.up(twin, step.program))
        if self.twin_error is None:
            return True
        reason = short_reason(self.twin_error)
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
            reason = short_reason(self.twin_error)
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
            + (f"refused: {short_reason(attempt.error)}" if attempt.error else "ok")
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
        held = {k for stack in self.stacks().values() for _, r in stack.all() for k in held_keys(r)}
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
        row = self.row if self.stack.resources else API_KEY
        with self.harness.process(row=row) as process:
            try:
                if self.stack.resources:
                    process.refresh(self.stack)
                else:
                    # A refresh of a key the stack knows (a read by id alone only looks).
                    probe = Props({"name": "probe", "createdAt": "2026-01-01T00:00:00Z"})
                    process.engine.refresh(
                        new_stack(door=self.harness.door).state("probe", "key_probe", probe, probe)
                    )
            except StepFailed as failure:
                self.problem(
                    number, "unrepaired", f"listing failed: {short_reason(failure.details)}"
                )
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
        if any(r.outputs.get("previousKeyId") for _, r in self.stack.all()):
            self.mixed.add("rotating keys, previous key held")
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
                    self.report.manual_cleanups[short_reason(told[0])] += 1
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


def on_pool(
    pool: Sequence[Harness], work: Callable[[Harness, Report], None], seed: int
) -> list[Report]:
    """`work(harness, report)` on a thread per harness, each closed when all are done; each
    report gets the secrets its harness found anywhere (a leak is a problem)."""
    reports = [Report(seed=seed) for _ in pool]
    try:
        threads = [
            threading.Thread(target=work, args=pair, daemon=True)
            for pair in zip(pool, reports, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for worker in pool:
            worker.close()
    for worker, report in zip(pool, reports, strict=True):
        found = [f"{secret} found in {label}" for label, secret in worker.leaks.leaks()]
        for detail in found + worker.log_leaks:
            report.add_problem(Problem(seed, -1, -1, "leaks", detail))
    return reports


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
    parts: list[Report] = []  # each worker's report, as its work begins

    def progress() -> None:
        nonlocal begun
        with begun_lock:
            begun += 1
            if on_progress is not None:
                on_progress(begun, total, sum(sum(r.broken.values()) for r in parts))

    with tempfile.TemporaryDirectory(prefix="edgee-no-ca-") as cert_dir:
        pool = [
            Harness(fresh_processes=fresh_processes, restart_every=restart_every, cert_dir=cert_dir)
            for _ in range(workers)
        ]
        logs: dict[int, list[str] | None] = {
            id(worker): [] if log is not None else None for worker in pool
        }

        def work(worker: Harness, part: Report) -> None:
            with begun_lock:
                parts.append(part)
            _work(worker, make, seed, indices, part, logs[id(worker)], progress)

        for worker, part in zip(pool, on_pool(pool, work, seed), strict=True):
            report.merge(part)
            lines = logs[id(worker)]
            if log is not None and lines:
                log.extend(lines)
    report.problems.sort(key=lambda p: (p.scenario, p.step))
    report.elapsed = time.perf_counter() - started
    return report
