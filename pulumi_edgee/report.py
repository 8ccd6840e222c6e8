"""`python -m pulumi_edgee.report`: what needs attention among the organization's keys.

One walk of the key list (the walk every lookup uses), and optionally stack exports
(`pulumi stack export`) to know which keys stacks manage. Each key gets findings from a
fixed vocabulary, each with its fix; `--json` is for pipelines, `--fail-on` gates a CI job.
Settings come from flags or the environment, the token only from the environment
(`command_line`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from . import markers, times
from .adopt import declaration
from .command_line import add_console_flags, in_this_tools_words, open_client, settings_from
from .console import ApiKeyObject, ConsoleError
from .errors import EdgeeError
from .registry import BY_STATE_TYPE
from .session import Deadlines
from .settings import API_TOKEN, SettingsError

# The vocabulary, in the order a key's findings are listed.
FINDINGS = (
    "unmanaged",
    "never-used",
    "unused",
    "expiring",
    "expired",
    "no-usage-limit",
    "unrestricted-models",
    "leftover",
)
DEFAULT_UNUSED_DAYS = 30
DEFAULT_EXPIRING_DAYS = 14


@dataclass(frozen=True)
class Holder:
    """A stack holding a key: which stack, and the key's URN there."""

    stack: str  # project/stack
    urn: str


@dataclass(frozen=True)
class Thresholds:
    unused_days: int = DEFAULT_UNUSED_DAYS
    expiring_days: int = DEFAULT_EXPIRING_DAYS
    grace: float = Deadlines().grace  # as the sweep: leftovers are markers past it


@dataclass(frozen=True)
class KeyReport:
    id: str
    name: str
    findings: tuple[str, ...]
    fixes: Mapping[str, str]
    stacks: tuple[Holder, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "findings": list(self.findings),
            "fixes": dict(self.fixes),
            "stacks": [{"stack": h.stack, "urn": h.urn} for h in self.stacks],
        }


class ExportError(EdgeeError):
    """A file given as a stack export is not one; the message names the file."""


def holders(export: Mapping[str, Any], source: str) -> dict[str, list[Holder]]:
    """The keys a stack export (`pulumi stack export`) holds, by key id."""
    deployment = export.get("deployment") if isinstance(export, Mapping) else None
    if not isinstance(deployment, Mapping):
        raise ExportError(
            f"{source} is not a stack export (no `deployment`): give the output "
            "of `pulumi stack export`"
        )
    found: dict[str, list[Holder]] = {}
    for resource in deployment.get("resources") or []:
        row = BY_STATE_TYPE.get(str(resource.get("type")))
        if row is None or not resource.get("id"):
            continue
        urn = str(resource.get("urn", ""))
        # urn:pulumi:STACK::PROJECT::TYPE::NAME
        parts = urn.split("::")
        stack = f"{parts[1]}/{parts[0].rsplit(':', 1)[-1]}" if len(parts) >= 4 else source
        outputs = resource.get("outputs")
        held = row.held_key_ids(
            str(resource["id"]), outputs if isinstance(outputs, Mapping) else {}
        )
        for key_id in held:
            found.setdefault(key_id, []).append(Holder(stack, urn))
    return found


def read_exports(paths: Iterable[Path]) -> dict[str, list[Holder]]:
    managed: dict[str, list[Holder]] = {}
    for path in paths:
        try:
            export = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ExportError(f"cannot read stack export {path}: {error}") from error
        for key_id, found in holders(export, str(path)).items():
            managed.setdefault(key_id, []).extend(found)
    return managed


def findings_of(
    key: ApiKeyObject,
    walk_started: datetime,
    managed: Mapping[str, Sequence[Holder]] | None,
    thresholds: Thresholds,
) -> tuple[str, ...]:
    """A key's findings. A key named by a create marker has one (`leftover`) once its
    creator has given up on it, and none while a create is still finishing it."""
    if markers.parse(key.name) is not None:
        expired = markers.expired(key.name, walk_started.timestamp(), thresholds.grace)
        return ("leftover",) if expired else ()
    found: set[str] = set()
    if managed is not None and key.id not in managed:
        found.add("unmanaged")
    unused_since = walk_started - timedelta(days=thresholds.unused_days)
    if key.last_used_at is None:
        if key.created_at < unused_since:
            found.add("never-used")
    elif key.last_used_at < unused_since:
        found.add("unused")
    if key.expires_at is not None:
        if key.expires_at <= walk_started:
            if key.active:
                found.add("expired")
        elif key.expires_at <= walk_started + timedelta(days=thresholds.expiring_days):
            found.add("expiring")
    if key.max_usage is None:
        found.add("no-usage-limit")
    if not key.models:
        found.add("unrestricted-models")
    return tuple(f for f in FINDINGS if f in found)


def _in_its_stack(stacks: Sequence[Holder]) -> str:
    return f" in stack {', '.join(h.stack for h in stacks)}" if stacks else ""


def fix_for(finding: str, key: ApiKeyObject, stacks: Sequence[Holder]) -> str:
    """What to do about one finding; managed keys are fixed in their stack."""
    where = _in_its_stack(stacks)
    replace = f"`pulumi up --replace '{stacks[0].urn}'`" if stacks else None
    if finding == "unmanaged":
        code = declaration(key, "adopted-key", "adopted_key")
        return f"adopt it into a stack (or delete it in the Console if nothing needs it):\n{code}"
    if finding in ("never-used", "unused"):
        last = "never" if key.last_used_at is None else times.iso(key.last_used_at)
        how = f"remove its ApiKey{where}" if stacks else "delete it in the Console"
        return f"last used: {last}; if nothing needs it, {how}"
    if finding == "expiring":
        assert key.expires_at is not None
        how = (
            f"set rotate_before_expiry_days on its ApiKey{where}, or rotate now with {replace}"
            if replace
            else "adopt it and set rotate_before_expiry_days, or make a new key"
        )
        return f"expires at {times.iso(key.expires_at)}; {how}"
    if finding == "expired":
        assert key.expires_at is not None
        how = f"give its consumers a new key with {replace}" if replace else "delete it"
        return f"expired at {times.iso(key.expires_at)} but still listed as active; {how}"
    if finding == "no-usage-limit":
        return f"set max_usage (maxUsage) on its ApiKey{where}"
    if finding == "unrestricted-models":
        return f"set models on its ApiKey{where} to the models it calls"
    if finding == "leftover":
        return (
            "an interrupted create left it: the next `pulumi up` or `refresh` of a stack "
            "with keys in this organization deletes it, or delete it in the Console"
        )
    raise ValueError(f"unknown finding {finding!r}")


def report(
    keys: Iterable[ApiKeyObject],
    walk_started: datetime,
    managed: Mapping[str, Sequence[Holder]] | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[KeyReport]:
    """Every key with its findings and their fixes, by name then id."""
    reports = []
    for key in sorted(keys, key=lambda k: (k.name, k.id)):
        stacks = tuple((managed or {}).get(key.id, ()))
        found = findings_of(key, walk_started, managed, thresholds)
        fixes = {f: fix_for(f, key, stacks) for f in found}
        reports.append(KeyReport(key.id, key.name, found, fixes, stacks))
    return reports


def table(reports: Sequence[KeyReport]) -> str:
    """The keys with findings as a text table, then a count per finding."""
    flagged = [r for r in reports if r.findings]
    rows = [("ID", "NAME", "FINDINGS")] + [(r.id, r.name, ", ".join(r.findings)) for r in flagged]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows]
    counts = {f: sum(f in r.findings for r in reports) for f in FINDINGS}
    summary = ", ".join(f"{f} {n}" for f, n in counts.items() if n)
    lines.append("")
    lines.append(
        f"{len(reports)} keys, {len(flagged)} with findings" + (f": {summary}" if summary else "")
    )
    lines.append("Fixes per key: --json.")
    return "\n".join(lines) + "\n"


class Progress:
    """One line on a terminal while a large organization is walked (nothing otherwise).
    A count of keys and pages is all there is to show, so no progress-bar library."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream if stream.isatty() else None
        self._shown = 0.0

    def page(self, pages: int, keys: int) -> None:
        now = time.monotonic()
        if self._stream is not None and now - self._shown >= 0.2:
            self._shown = now
            self._stream.write(f"\rreading keys: {keys} ({pages} pages)")
            self._stream.flush()

    def done(self) -> None:
        if self._stream is not None and self._shown:
            self._stream.write("\r\033[K")
            self._stream.flush()


def _findings_list(value: str) -> tuple[str, ...]:
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in chosen if v not in FINDINGS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown finding {', '.join(unknown)}; choose from {', '.join(FINDINGS)}"
        )
    return chosen


def _days(value: str) -> int:
    days = int(value)
    if days < 0:
        raise argparse.ArgumentTypeError("a number of days is 0 or more")
    return days


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_edgee.report",
        description="Report what needs attention among the organization's API keys. "
        f"The token is read from ${API_TOKEN.env_var}.",
    )
    add_console_flags(parser, "whose keys to report")
    parser.add_argument(
        "--stack-export",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="output of `pulumi stack export` (repeat for each stack); with none, "
        "`unmanaged` is not reported",
    )
    parser.add_argument(
        "--unused-days",
        type=_days,
        default=DEFAULT_UNUSED_DAYS,
        help=f"a key unused this long is `unused`, or `never-used` (default {DEFAULT_UNUSED_DAYS})",
    )
    parser.add_argument(
        "--expiring-days",
        type=_days,
        default=DEFAULT_EXPIRING_DAYS,
        help="a key expiring within this many days is `expiring` "
        f"(default {DEFAULT_EXPIRING_DAYS})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON, for pipelines")
    parser.add_argument(
        "--fail-on",
        type=_findings_list,
        default=(),
        metavar="FINDING[,...]",
        help="exit 1 when any key has one of these findings",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    progress = Progress(sys.stderr)
    try:
        managed = read_exports(args.stack_export) if args.stack_export else None
        settings = settings_from(args)
        grace = Deadlines.from_environment().grace
        started = times.in_utc(datetime.now(times.UTC))
        with open_client(settings) as client:
            keys = client.list_api_keys(on_page=progress.page)
    except (SettingsError, ConsoleError, ExportError) as error:
        progress.done()
        print(f"error: {in_this_tools_words(str(error))}", file=sys.stderr)
        return 2
    progress.done()
    thresholds = Thresholds(args.unused_days, args.expiring_days, grace)
    reports = report(keys, started, managed, thresholds)
    if args.json:
        document = {
            "organization_id": settings.organization_id,
            "walk_started_at": times.iso(started),
            "keys": [r.as_json() for r in reports],
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(table(reports))
    failing = {f for r in reports for f in r.findings} & set(args.fail_on)
    if failing:
        print(f"failing: {', '.join(f for f in FINDINGS if f in failing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
