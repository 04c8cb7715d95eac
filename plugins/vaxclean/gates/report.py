"""What a gate found, and how it is reported: one `CheckResult` per check and table, one `TableResult` per
table read, gathered in a `GateReport`; `write_report` writes it as JSON plus a readable text summary, and
`GateFailed` carries it when the gate fails (its message is the summary).

A check fails the gate when its status is `fail`: a hard check with any failing row, a soft check above
its threshold. Examples in a report are masked where personal (vaxclean.gates.validate), and error
messages lose their quoted values (`safe_error`): reports and task logs hold no personal data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from vaxclean.personal_data import mask_text
from vaxclean.raw.layout import safe_name
from vaxclean.state import write_atomic

EXAMPLES_PER_CHECK = 3
COPY_CHECK = "same_as_gated_marts"  # publish: the copy has the fingerprints of the passed marts gate
QUARANTINE_CHECK = "quarantine_share_per_source"  # raw: the proportionate check (vaxclean.gates.quarantine)
CROSS_TABLE_CHECKS = ("dose_records_conserved", "quarantine_rows_match_audit", QUARANTINE_CHECK, COPY_CHECK)

Severity = Literal["hard", "soft"]
Status = Literal["pass", "warn", "fail"]


@dataclass
class CheckResult:
    """One check on one table: how many rows failed, and a few masked examples."""

    table: str
    check: str
    severity: Severity
    status: Status
    failed_rows: int
    total_rows: int
    column: str | None = None
    max_share: float | None = None
    detail: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def share(self) -> float:
        """The share of the rows checked that failed (0 when none was checked)."""
        return self.failed_rows / self.total_rows if self.total_rows else 0.0


@dataclass
class TableResult:
    """One table a gate read: its rows read, the checks run on them, and the seconds spent reading and
    validating."""

    table: str
    schema: str
    rows: int
    hard_checks: int
    soft_checks: int
    read_s: float
    validate_s: float
    files_unchanged: int = 0  # raw: files validated by an earlier passed gate, not read again
    table_rows: int | None = None  # incremental gate: rows of the table when only `rows` were read (its scope)


@dataclass
class GateReport:
    """What a gate checked and found; `passed` is false when any check has status `fail`."""

    layer: str
    run_id: str
    database: str
    started_at: str
    tables: list[TableResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)  # marts: table -> table_fingerprint()
    checks_version: str = ""
    scope: str = ""  # incremental gate: whose validated tables the rows not read are (gate_scope)
    quarantine: dict[str, Any] = field(default_factory=dict)  # raw: per source, blocking, loads (gates.quarantine)
    report_path: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "warn"]

    @property
    def needs_acceptance(self) -> bool:
        """Failed only because quarantined loads block publishing (the raw gate's proportionate check): the
        data team may read the reasons and accept those loads (vaxclean.gates.acceptance)."""
        return (bool(self.failures) and bool(self.quarantine.get("blocking"))
                and all(c.check == QUARANTINE_CHECK for c in self.failures))

    def to_dict(self) -> dict[str, Any]:
        """The report as written to `<layer>.json`, with its verdict and counts."""
        data = asdict(self)
        data["passed"] = self.passed
        data["failure_count"] = len(self.failures)
        data["warning_count"] = len(self.warnings)
        data["needs_acceptance"] = self.needs_acceptance
        return data

    def summary(self) -> str:
        """A readable summary for task logs: tables, failures and warnings with masked examples."""
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures)} failing checks)"
        lines = [f"Gate '{self.layer}' run {self.run_id}: {verdict} in {self.timings.get('total_s', 0.0):.2f} s"]
        if self.scope:
            lines.append(f"  incremental: {self.scope}")
        for t in self.tables:
            bad = sum(c.status == "fail" for c in self.checks if c.table == t.table)
            unchanged = f"  ({t.files_unchanged:,} files unchanged since a passed gate)" if t.files_unchanged else ""
            if t.table_rows is not None:
                unchanged = f"  (the rows re-derived, of {t.table_rows:,})"
            lines.append(
                f"  {t.table:<36} {t.rows:>10,} rows  {t.hard_checks} hard + {t.soft_checks} soft checks  "
                f"read {t.read_s:.2f} s  validate {t.validate_s:.2f} s  {'FAIL' if bad else 'ok'}{unchanged}"
            )
        other = sorted({c.table for c in self.checks} - {t.table for t in self.tables})
        for name in other:
            bad = sum(c.status == "fail" for c in self.checks if c.table == name)
            lines.append(f"  {name:<36} {'FAIL' if bad else 'ok'}")
        for c in self.checks:
            if c.check in CROSS_TABLE_CHECKS:
                lines.append(f"  {c.check:<36} {c.status.upper():<5} {c.detail}")
        lines.extend(_quarantine_lines(self.quarantine))
        for title, items in (("Failures", self.failures), ("Warnings (soft, within threshold)", self.warnings)):
            if items:
                lines.append(f"{title}:")
                lines.extend(_describe(c) for c in items)
        if self.report_path:
            lines.append(f"Report: {self.report_path}")
        return "\n".join(lines)


class GateFailed(Exception):
    """A gate found a hard failure or a soft check above its threshold; the message is the summary."""

    def __init__(self, report: GateReport) -> None:
        super().__init__(report.summary())
        self.report = report


def _quarantine_lines(quarantine: dict[str, Any], loads_shown: int = 10) -> list[str]:
    """The raw gate's window per source and its loads with quarantined rows, for the summary."""
    if not (quarantine.get("sources") or quarantine.get("accepted")):
        return []
    since = quarantine.get("window_start") or "the first load"
    lines = [f"Quarantine since {since} (core sources: {', '.join(quarantine['core_sources'])}):"]
    for s in quarantine["sources"]:
        verdict = f"BLOCKS: {s['why']}" if s["blocking"] else "ok"
        lines.append(f"  {s['source']:<16} {s['quarantined']:>8,} of {s['received']:>10,} rows in {s['loads']:,} "
                     f"load(s)  {verdict}")
    for load in quarantine.get("loads", [])[:loads_shown]:
        lines.append(f"  load {load['source']}/{load['load_id']}: {load['quarantined']:,} of {load['received']:,} "
                     f"quarantined ({load['reason'] or 'reason not found'})")
    more = quarantine.get("loads_with_quarantine", 0) - loads_shown
    if more > 0:
        lines.append(f"  ... and {more:,} more load(s) with quarantined rows (in the JSON report)")
    for load in quarantine.get("accepted", []):
        lines.append(f"  accepted: {load['source']}/{load['load_id']} ({load['quarantined']:,} quarantined)")
    return lines


def _describe(c: CheckResult) -> str:
    """A failed or warning check for the summary: where, which check, how many rows, its examples."""
    where = f"{c.table}.{c.column}" if c.column and c.column != c.table else c.table
    head = f"  [{c.severity.upper()}] {where}: {c.check}: {c.failed_rows:,} of {c.total_rows:,} rows"
    if c.max_share is not None:
        head += f" ({c.share:.2%}, max {c.max_share:.2%})"
    if c.detail:
        head += f" ({c.detail})"
    return "\n".join([head, *(f"      e.g. {json.dumps(e, ensure_ascii=False, default=str)}" for e in c.examples)])


def write_report(report: GateReport, target_dir: Path, name: str) -> None:
    """Write the report as `<name>.json` and its summary as `<name>.txt` (atomically)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    json_path = target_dir / f"{safe_name(name)}.json"
    report.report_path = str(json_path)
    write_atomic(json_path, json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
    write_atomic(json_path.with_suffix(".txt"), report.summary() + "\n")


def safe_error(exc: BaseException) -> str:
    """An error's first line, masked (vaxclean.personal_data.mask_text: it may quote personal data)."""
    return f"{type(exc).__name__}: {mask_text(str(exc).splitlines()[0] if str(exc) else '')[:200]}"
