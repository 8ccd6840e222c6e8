"""What the runs found: problems by category, and the counts a report prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any


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


def render(report: Report) -> str:
    """The report as text: what ran, what fired and failed, and every broken invariant."""

    def counts(counter: Counter[str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"

    lines = [
        f"fault scenarios: {report.scenarios} (seed {report.seed}) in {report.elapsed:.1f} s",
        f"steps: {sum(report.steps.values())} ({counts(report.steps)})",
        f"commands run: {report.commands} (re-runs included), provider calls: "
        f"{report.provider_calls}, Console API requests: {report.console_requests}",
        f"fault rules armed: {sum(report.faults_armed.values())} ({counts(report.faults_armed)})",
        f"faults injected (emulator request log): {sum(report.faults_fired.values())} "
        f"({counts(report.faults_fired)})",
        f"failed steps: {sum(report.failed_steps.values())} ({counts(report.failed_steps)})",
        f"failed then repaired by a re-run: {sum(report.repaired_steps.values())} "
        f"({counts(report.repaired_steps)})",
        "",
    ]
    lines += [f"{category.replace('_', ' ')}: {report.broken[category]}" for category in CATEGORIES]
    lines.append(
        "leftovers of interrupted creates (marker-named, in no state) removed by the next "
        f"listing: {report.leftovers_removed}"
    )
    mixed = report.mixed_in
    lines.append(
        f"scenarios with a second stack of identical keys: {mixed['second stack']} (creates "
        f"of both stacks in flight at once: {mixed['second stack, creates at once']}); with "
        f"a command pointed at another organization: {mixed['other organization']}; of "
        f"RotatingApiKey resources: {mixed['rotating keys']} (holding a previous key after a "
        f"rotation at some step: {mixed['rotating keys, previous key held']})"
    )
    if report.manual_cleanups:
        total = sum(report.manual_cleanups.values())
        lines += ["", f"keys left for manual clean-up, named in an error ({total}):"]
        lines += [f"  {n:6d}  {reason}" for reason, n in report.manual_cleanups.most_common()]
    if report.failure_reasons:
        lines += ["", "why first attempts failed (most common):"]
        lines += [f"  {n:6d}  {reason}" for reason, n in report.failure_reasons.most_common(12)]
    if report.problems:
        lines += ["", f"problems (first {len(report.problems)}):"]
        lines += [f"  {problem}" for problem in report.problems]
    lines += ["", "RESULT: " + ("ok" if report.ok else "PROBLEMS FOUND")]
    return "\n".join(lines)
