"""Quality gates between layers: validate a layer's tables with its pandera schemas, plus the
checks that span tables (quarantine share of a load, conservation of dose records into the marts).

`run_gate(layer, ...)` reads every table of the layer with DuckDB (read-only) into polars via Arrow,
validates with `lazy=True` so that every failure is reported, writes a JSON report and a readable
text summary to `<warehouse>/gate_reports/<run_id>/<layer>.json|.txt`, and raises `GateFailed` (whose
message is the summary) when a hard check fails or a soft check exceeds its threshold.

Hard checks are the contract: a single failing row fails the gate. Soft checks (`raise_warning=True`
checks in the schemas, and the quarantine share) fail the gate only above their threshold; below it
they are reported as warnings. Personal values in examples are masked (first character + length).

What a gate reads, to stay cheap at province scale without dropping a check:
- staging/marts: only the columns the schema declares (other columns are not checked: `strict=False`);
- raw: a table whose checks hold value by value (no uniqueness, no table-wide or soft check) is read
  only from the Parquet files that no earlier *passed* raw gate validated with the same checks. Those
  are listed in `<warehouse>/gate_reports/raw_files_validated.json`, keyed by path, size, mtime, ctime
  and inode: a replaced file (same name, new content) is read again. Other tables are read whole;
- staging/marts after an incremental build that started from the tables the layer's last passed gate
  validated (the build stamps' build ids, `<warehouse>/gate_reports/<layer>_validated.json`): only the
  rows the build re-derived (`gate_scope`): the platform records extracted since that gate, the staging
  models the build did not skip, the dose chain's scope in the scoped marts; the soft (share) checks
  still see whole columns, the small marts are read whole;
- marts: the report records each table's fingerprint (rows + a sum of row hashes + column types), so
  that publishing can verify that its copy holds exactly what this gate validated.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandera
import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors, SchemaWarning

from vaxclean.config import settings
from vaxclean.personal_data import PERSONAL_COLUMNS
from vaxclean.raw.layout import file_signature, safe_name, table_dir, table_glob
from vaxclean.schemas import _common
from vaxclean.schemas import marts as mart_schemas
from vaxclean.schemas import raw as raw_schemas
from vaxclean.schemas import staging as staging_schemas
from vaxclean.schemas._common import CHECK_COLUMNS, mask, soft_max_share
from vaxclean.schemas.marts import MART_MODELS, mart_key
from vaxclean.schemas.raw import RAW_KEYS, RAW_MODELS
from vaxclean.schemas.staging import STAGING_KEYS, STAGING_MODELS
from vaxclean.state import (
    forget_validated_build,
    gate_reports_dir,
    raw_read_cache_dir,
    raw_validated_files_path,
    read_build_stamp,
    read_validated_build,
    write_atomic,
    write_validated_build,
)

logger = logging.getLogger(__name__)

LAYERS = ("raw", "staging", "marts")
EXAMPLES_PER_CHECK = 3
COPY_CHECK = "same_as_gated_marts"  # publish: the copy has the fingerprints of the passed marts gate
CROSS_TABLE_CHECKS = ("dose_records_conserved", "quarantine_rows_match_audit", "quarantine_share_per_load", COPY_CHECK)
PLATFORM_STAGING = "stg_platform__immunizations"  # re-derived rows: last_extracted_at after the gate's watermark
# Built-in pandera checks that hold value by value: rows that passed them keep passing whatever rows join them.
VALUE_CHECKS = frozenset({
    "equal_to", "not_equal_to", "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to",
    "in_range", "isin", "notin", "str_matches", "str_contains", "str_startswith", "str_endswith", "str_length",
})

# Conservation: every live received dose record appears exactly once in the reconciliation mart.
# The live records (newest version, tombstones excluded) come from the intermediate model that
# unions them; LIVE_DOSE_KEYS_FROM_STAGING_SQL derives them from staging instead. run_gate takes
# `live_dose_keys_sql` to override.
DOSE_RECONCILIATION_RELATION = "marts.dose_reconciliation"
LIVE_DOSES_RELATION = "intermediate.int_dose_records_unioned"
LIVE_DOSE_KEYS_SQL = f"select source, source_record_id from {LIVE_DOSES_RELATION}"
PLATFORM_DOSES_RELATION = "staging.stg_platform__immunizations"
SITE_BATCH_DOSES_RELATION = "staging.stg_site_batches__batch_rows"
LIVE_DOSE_KEYS_FROM_STAGING_SQL = f"""
select 'platform' as source, source_record_id
from {PLATFORM_DOSES_RELATION}
qualify row_number() over (partition by source_record_id order by updated_at desc nulls last) = 1
    and not coalesce(is_deleted, false)
union all
select distinct 'site_batch' as source, source_record_id
from {SITE_BATCH_DOSES_RELATION}
"""

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
        return self.failed_rows / self.total_rows if self.total_rows else 0.0


@dataclass
class TableResult:
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["failure_count"] = len(self.failures)
        data["warning_count"] = len(self.warnings)
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


def _describe(c: CheckResult) -> str:
    where = f"{c.table}.{c.column}" if c.column and c.column != c.table else c.table
    head = f"  [{c.severity.upper()}] {where}: {c.check}: {c.failed_rows:,} of {c.total_rows:,} rows"
    if c.max_share is not None:
        head += f" ({c.share:.2%}, max {c.max_share:.2%})"
    if c.detail:
        head += f" ({c.detail})"
    return "\n".join([head, *(f"      e.g. {json.dumps(e, ensure_ascii=False, default=str)}" for e in c.examples)])


# --------------------------------------------------------------------------------------------- run


def run_gate(
    layer: str,
    *,
    warehouse_dir: Path,
    run_id: str,
    report_dir: Path | None = None,
    database: Path | None = None,
    check_conservation: bool = True,
    live_dose_keys_sql: str | None = None,
    interval_start: dt.datetime | None = None,
    interval_end: dt.datetime | None = None,
    report_name: str | None = None,
    raise_on_failure: bool = True,
) -> GateReport:
    """Validate one layer ('raw', 'staging' or 'marts') and write its report.

    `database` overrides the DuckDB file read for staging/marts (default `<warehouse>/warehouse.duckdb`;
    publish passes its new file with `check_conservation=False`). `interval_start`/`interval_end` limit
    the raw quarantine check to loads finished in that interval (default: every load).
    Raises GateFailed when the gate fails and `raise_on_failure` is true.
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
    warehouse_dir = Path(warehouse_dir)
    db_path = Path(database) if database else warehouse_dir / "warehouse.duckdb"
    started = time.perf_counter()
    report = GateReport(
        layer=layer, run_id=run_id, started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        database=str(warehouse_dir / "raw") if layer == "raw" else str(db_path), checks_version=checks_version(layer),
    )
    registry = raw_validated_files_path(warehouse_dir)
    validated_files: dict[str, str] = {}
    validated: dict[str, Any] | None = None
    if layer == "raw":
        validated_files = _raw_gate(report, warehouse_dir / "raw", interval_start, interval_end,
                                    _load_validated_files(registry, report.checks_version),
                                    raw_read_cache_dir(warehouse_dir))
    else:
        models, keys = (STAGING_MODELS, STAGING_KEYS) if layer == "staging" else (MART_MODELS, _mart_keys())
        # the warehouse itself (not a copy being published) after an incremental build: its re-derived rows
        of_warehouse = database is None
        stamp = read_build_stamp(warehouse_dir, layer) if of_warehouse else {}
        with _connect(db_path) as con:
            scope = gate_scope(layer, warehouse_dir, stamp, report.checks_version) if of_warehouse else None
            if scope and layer == "marts":
                catalog = con.execute("select current_database()").fetchall()[0][0]
                scope = replace(scope, kept=kept_rederived_rows(con, catalog))
            report.scope = scope.describe() if scope else ""
            _schema_gate(report, con, layer, models, keys, fingerprint=layer == "marts", scope=scope)
            if layer == "marts" and check_conservation:
                _conservation_check(report, con, live_dose_keys_sql or LIVE_DOSE_KEYS_SQL,
                                    scope.rows.get("dose_reconciliation") if scope else None,
                                    scope.kept.get("dose_reconciliation") if scope else None)
            validated = _validated_state(layer, con, stamp, report.checks_version) if of_warehouse else None
    report.timings["total_s"] = round(time.perf_counter() - started, 3)
    target_dir = Path(report_dir) if report_dir else gate_reports_dir(warehouse_dir) / safe_name(run_id)
    write_report(report, target_dir, report_name or layer)
    if layer == "raw" and report.passed:
        _save_validated_files(registry, report.checks_version, validated_files)
    if validated is not None:  # the next incremental build's gate reads only what it re-derives
        if report.passed:
            write_validated_build(warehouse_dir, layer, validated | {"run_id": run_id})
        else:
            forget_validated_build(warehouse_dir, layer)
    logger.info("%s", report.summary())
    if raise_on_failure and not report.passed:
        raise GateFailed(report)
    return report


def _mart_keys() -> dict[str, tuple[str, ...]]:
    return {name: mart_key(name) for name in MART_MODELS}


def checks_version(layer: str) -> str:
    """A digest of what decides a layer's verdict: this module, the layer's schemas, pandera and polars.

    A file or table validated under another version is validated again.
    """
    modules = {"raw": raw_schemas, "staging": staging_schemas, "marts": mart_schemas}
    digest = hashlib.sha256(f"pandera {pandera.__version__} polars {pl.__version__}".encode())
    for module in (sys.modules[__name__], _common, modules[layer]):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class GateScope:
    """What a gate reads after an incremental build that started from the tables the layer's last passed
    gate validated: of the tables in `rows` only the rows the build re-derived (an SQL condition), none of
    the tables in `skipped` (the build did not touch them), the other tables whole."""

    since_build: str
    rows: dict[str, str]
    skipped: frozenset[str] = frozenset()
    # tables of `rows` whose re-derived rows the build also kept in a table of their own (relation)
    kept: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"rows re-derived in {', '.join(sorted(self.rows))}"] if self.rows else []
        if self.kept:
            parts[-1] += f" (read where the build kept them: {', '.join(sorted(self.kept))})"
        if self.skipped:
            parts.append(f"{len(self.skipped)} tables not rebuilt ({', '.join(sorted(self.skipped))})")
        return f"{'; '.join(parts) or 'whole tables'}; the rest passed the gate of build {self.since_build}"


def kept_rederived_rows(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    """{mart: relation} of the scoped marts whose re-derived rows the last incremental dbt build kept in
    intermediate.<mart>__rederived (dbt_project/macros/dose_chain.sql: get_incremental_dose_scope_sql,
    keep_view_rederived_rows; the rows scoped_mart_rows selects), in the warehouse attached as `catalog`."""
    present = {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = 'intermediate' "
        "and suffix(table_name, '__rederived')", [catalog]).fetchall()}
    return {mart: f"{_q(catalog)}.intermediate.{_q(mart + '__rederived')}" for mart in scoped_mart_rows()
            if f"{mart}__rederived" in present}


def scoped_mart_keys(catalog: str | None = None) -> dict[str, tuple[str, str]]:
    """The marts the dose chain builds by scope (dbt_project/macros/dose_chain.sql), each with its key
    expression and the select of the keys its last build re-derived; `catalog`: the warehouse's name where
    it is attached."""
    db = f"{_q(catalog)}." if catalog else ""
    records = ("source || '/' || source_record_id",
               f"select dose_record_key from {db}intermediate.int_dose_scopes_sequenced")
    return {
        "dose_reconciliation": records,
        "commune_worklist": records,
        "person_vaccination": ("citizen_id", f"select citizen_id from {db}intermediate.int_dose_scopes_credited"),
    }


def scoped_mart_rows(catalog: str | None = None) -> dict[str, str]:
    """scoped_mart_keys as the condition selecting the rows each scoped mart's last build re-derived."""
    return {mart: f"{key} in ({keys})" for mart, (key, keys) in scoped_mart_keys(catalog).items()}


def gate_scope(layer: str, warehouse_dir: Path, stamp: dict[str, Any], version: str) -> GateScope | None:
    """The rows to validate when the layer's last build (its `stamp`) was incremental and started from the very
    tables the layer's last passed gate validated under the same checks (build ids); else None (validate
    everything). The rows outside the scope are then unchanged: an incremental build deletes and inserts
    only its scope's rows (the dose chain's scopes, the changed platform records)."""
    validated = read_validated_build(warehouse_dir, layer)
    previous = stamp.get("previous_build_id")
    if (stamp.get("full_refresh", True) or not previous or validated.get("build_id") != previous
            or validated.get("checks_version") != version):
        return None
    if layer == "marts":
        return GateScope(previous, scoped_mart_rows())
    watermark = validated.get("watermarks", {}).get(PLATFORM_STAGING)
    if watermark is None:
        return None
    return GateScope(previous, {PLATFORM_STAGING: f"last_extracted_at > '{watermark}'::timestamp"},
                     frozenset(m for m in stamp.get("excluded", ()) if m in STAGING_MODELS))


def _validated_state(layer: str, con: duckdb.DuckDBPyConnection, stamp: dict[str, Any], version: str) -> dict[str, Any]:
    """What a passing gate records for the next one (`gate_scope`): the build it validated (`stamp`), and for
    staging the newest platform extraction it saw."""
    state: dict[str, Any] = {"build_id": stamp.get("build_id"), "checks_version": version}
    if layer == "staging":
        try:
            (newest,) = con.execute(f"select max(last_extracted_at)::varchar from staging.{PLATFORM_STAGING}").fetchall()[0]
        except duckdb.Error:
            newest = None
        state["watermarks"] = {PLATFORM_STAGING: newest} if newest is not None else {}
    return state


def table_fingerprint(con: duckdb.DuckDBPyConnection, catalog: str, db_schema: str, table: str) -> str:
    """Rows, a sum of row hashes (order-free) and the column names and types of a table: equal
    fingerprints mean equal contents (up to a 64-bit hash collision)."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? order by column_index", [catalog, db_schema, table]).fetchall()
    rows, hashes = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {_q(catalog)}.{_q(db_schema)}.{_q(table)} as t"
    ).fetchall()[0]
    typed = hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]
    return f"rows={rows} hash={hashes} columns={typed}"


@contextmanager
def _connect(db_path: Path | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a DuckDB file (or in-memory for the Parquet lake), UTC clock."""
    if db_path is not None and not db_path.exists():
        raise FileNotFoundError(f"no DuckDB file at {db_path}")
    cfg = settings()
    con = duckdb.connect(str(db_path) if db_path else ":memory:", read_only=db_path is not None)
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set threads = {int(cfg.duckdb_threads)}")
        con.execute(f"set memory_limit = '{cfg.duckdb_memory_limit}'")
        yield con
    finally:
        con.close()


def write_report(report: GateReport, target_dir: Path, name: str) -> None:
    """Write the report as `<name>.json` and its summary as `<name>.txt` (atomically)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    json_path = target_dir / f"{safe_name(name)}.json"
    report.report_path = str(json_path)
    write_atomic(json_path, json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
    write_atomic(json_path.with_suffix(".txt"), report.summary() + "\n")


def _safe_error(exc: BaseException) -> str:
    """An error message with quoted values removed (they may hold personal data)."""
    text = re.sub(r"'[^']*'", "'…'", str(exc).splitlines()[0] if str(exc) else "")
    return f"{type(exc).__name__}: {text[:200]}"


# ------------------------------------------------------------------------------------- schema gate


def _schema_gate(
    report: GateReport,
    con: duckdb.DuckDBPyConnection,
    db_schema: str,
    models: dict[str, type[pa.DataFrameModel]],
    keys: dict[str, tuple[str, ...]],
    *,
    fingerprint: bool = False,
    scope: GateScope | None = None,
) -> None:
    """Validate each model's table, reading only the columns the model declares (and the report's).

    With `scope`, read only the rows it names (the soft checks, shares of a whole table, still see their
    columns whole) and skip the tables it skips. With `fingerprint`, record the fingerprint of every
    table of the schema (validated or not).
    """
    catalog = con.execute("select current_database()").fetchall()[0][0]
    present: dict[str, list[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from duckdb_columns() where database_name = ? and schema_name = ? "
        "order by table_name, column_index", [catalog, db_schema],
    ).fetchall():
        present.setdefault(table, []).append(column)
    # the fingerprints (a hash of every row: 0.3 s for the 3.2 M-row dose_reconciliation) are computed on a
    # second cursor while this thread reads and validates with pandera (mostly one core of Python)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-fingerprints") as pool:
        fingerprints = (pool.submit(_fingerprints, con.cursor(), catalog, db_schema, sorted(present))
                        if fingerprint else None)
        _validate_tables(report, con, catalog, db_schema, models, keys, present, scope)
        if fingerprints is not None:
            report.fingerprints, report.timings["fingerprint_s"] = fingerprints.result()


def _fingerprints(cursor: duckdb.DuckDBPyConnection, catalog: str, db_schema: str,
                  tables: list[str]) -> tuple[dict[str, str], float]:
    """table_fingerprint of each table (on its own cursor, closed after), and the seconds it took."""
    t0 = time.perf_counter()
    try:
        return {t: table_fingerprint(cursor, catalog, db_schema, t) for t in tables}, round(time.perf_counter() - t0, 3)
    finally:
        cursor.close()


def _validate_tables(report: GateReport, con: duckdb.DuckDBPyConnection, catalog: str, db_schema: str,
                     models: dict[str, type[pa.DataFrameModel]], keys: dict[str, tuple[str, ...]],
                     present: dict[str, list[str]], scope: GateScope | None) -> None:
    """_schema_gate's reading and validation, table by table (see there)."""
    for table, model in models.items():
        if table not in present:
            report.checks.append(CheckResult(table, "table_exists", "hard", "fail", 0, 0,
                                             detail=f"{db_schema}.{table} is missing"))
            continue
        if scope and table in scope.skipped:
            continue
        key = keys.get(table, ())
        wanted = {*model.to_schema().columns, *key, *(c for cols in CHECK_COLUMNS.values() for c in cols)}
        columns = [c for c in present[table] if c in wanted] or ["*"]  # none declared: the structure fails
        relation = f"{_q(catalog)}.{_q(db_schema)}.{_q(table)}"
        t0 = time.perf_counter()
        condition = scope.rows.get(table) if scope else None
        kept = scope.kept.get(table) if scope else None  # the rows `condition` selects, kept by the build
        select = f"select {', '.join(c if c == '*' else _q(c) for c in columns)} from {kept or relation}"
        frame = con.sql(f"{select} where {condition}" if condition and not kept else select).pl()
        soft_frame, table_rows = None, None
        if condition:
            _, soft = split_soft_checks(model.to_schema())
            soft_columns = [c for c in dict.fromkeys([*key, *(c for c, _ in soft if c)]) if c in present[table]]
            if any(c is None for c, _ in soft):  # a table-wide soft check: every declared column
                soft_columns = [c for c in columns if c != "*"]
            if soft:
                soft_frame = con.sql(f"select {', '.join(_q(c) for c in soft_columns)} from {relation}").pl()
            table_rows = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
        read_s = time.perf_counter() - t0
        validate_frame(report, table, model, frame, key, read_s=read_s, soft_frame=soft_frame)
        report.tables[-1].table_rows = table_rows


def split_soft_checks(schema: pa.DataFrameSchema) -> tuple[pa.DataFrameSchema, list[tuple[str | None, Any]]]:
    """The schema without its soft checks (`raise_warning=True`), and those checks with their column."""
    hard = copy.deepcopy(schema)
    soft: list[tuple[str | None, Any]] = []
    for name, column in hard.columns.items():
        soft.extend((name, c) for c in column.checks if c.raise_warning)
        column.checks = [c for c in column.checks if not c.raise_warning]
    soft.extend((None, c) for c in hard.checks if c.raise_warning)
    hard.checks = [c for c in hard.checks if not c.raise_warning]
    return hard, soft


def validate_frame(
    report: GateReport,
    table: str,
    model: type[pa.DataFrameModel],
    frame: pl.DataFrame,
    key: Sequence[str],
    *,
    read_s: float = 0.0,
    data_frame: pl.DataFrame | None = None,
    soft_frame: pl.DataFrame | None = None,
) -> None:
    """Validate a frame with a model's hard checks (lazy) and soft checks; add results to the report.

    `data_frame`, when given, is validated for data while `frame` (possibly empty) is validated for
    structure only: the raw gate uses it to avoid reading large payload columns. `soft_frame`, when
    given, is what the soft checks see (the whole table's columns when `frame` holds only some rows).
    """
    t0 = time.perf_counter()
    hard, soft = split_soft_checks(model.to_schema())
    results: list[CheckResult] = []
    results += _hard_results(table, hard, frame, key)
    if data_frame is not None:
        data_schema = hard.select_columns([c for c in data_frame.columns if c in hard.columns])
        seen = {(r.column, r.check) for r in results}
        results += [r for r in _hard_results(table, data_schema, data_frame, key) if (r.column, r.check) not in seen]
    checked = soft_frame if soft_frame is not None else data_frame if data_frame is not None else frame
    results += [_soft_result(table, column, check, checked, key) for column, check in soft
                if column is None or column in checked.columns]
    report.checks.extend(results)
    report.tables.append(TableResult(
        table=table, schema=model.__name__, rows=(data_frame if data_frame is not None else frame).height, hard_checks=_hard_check_count(hard),
        soft_checks=len(soft),
        read_s=round(read_s, 3), validate_s=round(time.perf_counter() - t0, 3),
    ))


def _hard_check_count(hard: pa.DataFrameSchema) -> int:
    return sum(len(c.checks) + 1 for c in hard.columns.values()) + len(hard.checks) + (1 if hard.unique else 0)


def _hard_results(table: str, schema: pa.DataFrameSchema, frame: pl.DataFrame, key: Sequence[str]) -> list[CheckResult]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SchemaWarning)
            schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        return _from_failure_cases(table, errors.failure_cases, frame, key)
    return []


def _from_failure_cases(table: str, cases: pl.DataFrame, frame: pl.DataFrame, key: Sequence[str]) -> list[CheckResult]:
    """Group pandera's failure cases by (column, check) into results with masked examples."""
    results = []
    grouped = cases.group_by(["column", "check"], maintain_order=True).agg(
        pl.len().alias("n"), pl.col("index").drop_nulls().head(EXAMPLES_PER_CHECK).alias("rows"),
        pl.col("failure_case").first().alias("first_case"),
    )
    for row in grouped.iter_rows(named=True):
        column = row["column"] if row["column"] in frame.columns else None
        structural = not row["rows"]
        detail = f"found {row['first_case']}" if structural and row["first_case"] is not None else ""
        if structural and row["check"] == "column_in_dataframe":
            detail = f"column {row['first_case']} missing"
        involved = [*key, *([column] if column else []), *CHECK_COLUMNS.get(row["check"], ())]
        results.append(CheckResult(
            table=table, check=str(row["check"]), severity="hard", status="fail",
            failed_rows=0 if structural else int(row["n"]), total_rows=frame.height,
            column=column, detail=detail, examples=_examples(frame, row["rows"], involved),
        ))
    return results


def _soft_result(table: str, column: str | None, check: Any, frame: pl.DataFrame, key: Sequence[str]) -> CheckResult:
    result = check(frame.lazy(), column) if column else check(frame.lazy())
    output = result.check_output.collect()
    failed = output.select((~pl.col(output.columns[-1]).fill_null(True)).arg_true()).to_series()
    max_share = soft_max_share(check.name)
    share = failed.len() / frame.height if frame.height else 0.0
    status: Status = "fail" if share > max_share else ("warn" if failed.len() else "pass")
    involved = [*key, *([column] if column else []), *CHECK_COLUMNS.get(check.name or "", ())]
    return CheckResult(
        table=table, check=check.name or str(check), severity="soft", status=status, failed_rows=failed.len(),
        total_rows=frame.height, column=column, max_share=max_share,
        examples=_examples(frame, failed.head(EXAMPLES_PER_CHECK).to_list(), involved) if failed.len() else [],
    )


def _examples(frame: pl.DataFrame, rows: Sequence[int], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The given rows, restricted to `columns`, with personal values masked."""
    cols = [c for c in dict.fromkeys(columns) if c in frame.columns]
    if not cols or not rows:
        return []
    picked = frame.select(cols)[list(rows)]
    return [{k: (mask(v) if k in PERSONAL_COLUMNS else _plain(v)) for k, v in rec.items()}
            for rec in picked.iter_rows(named=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------- raw gate


def _raw_gate(report: GateReport, raw_dir: Path, start: dt.datetime | None, end: dt.datetime | None,
              validated: dict[str, str], read_cache: Path | None = None) -> dict[str, str]:
    """Validate the raw tables and the quarantine; returns the files to record as validated if the gate passes."""
    checked: dict[str, str] = {}
    with _connect(None) as con:
        for table, model in RAW_MODELS.items():
            checked |= _raw_table(report, con, raw_dir, table, model, validated, read_cache)
        _quarantine_checks(report, con, raw_dir, start, end)
    return checked


def checks_hold_per_file(schema: pa.DataFrameSchema) -> bool:
    """Whether every check of a schema holds value by value, so that files validated once stay valid
    whatever files join them: no uniqueness, no dataframe-wide check, no soft (share) check."""
    if schema.unique or schema.checks:
        return False
    return all(not column.unique and all(c.name in VALUE_CHECKS and not c.raise_warning for c in column.checks)
               for column in schema.columns.values())


def _raw_table(report: GateReport, con: duckdb.DuckDBPyConnection, raw_dir: Path, table: str,
               model: type[pa.DataFrameModel], validated: dict[str, str],
               read_cache: Path | None = None) -> dict[str, str]:
    """Validate a raw table's files not validated before (all of them unless its checks hold per file).

    Returns {file (relative to the raw directory): key} of the table's files that are valid if the gate passes.
    """
    if not table_dir(raw_dir, table).is_dir():
        report.checks.append(CheckResult(table, "table_exists", "hard", "fail", 0, 0,
                                         detail=f"raw/{table}/ is missing (init_raw not run?)"))
        return {}
    schema = model.to_schema()
    t0 = time.perf_counter()
    files = _raw_files(con, raw_dir, table)  # stat before reading: a file replaced meanwhile is read next time
    if not files:
        report.checks.append(CheckResult(table, "readable", "hard", "fail", 0, 0,
                                         detail=f"raw/{table}/ holds no Parquet file (init_raw not run?)"))
        return {}
    per_file = checks_hold_per_file(schema)
    to_read = [f for f, key in files.items() if not per_file or validated.get(f) != key]
    unchanged = len(files) - len(to_read)
    if not to_read:
        hard, soft = split_soft_checks(schema)
        report.tables.append(TableResult(table, model.__name__, 0, _hard_check_count(hard), len(soft),
                                         round(time.perf_counter() - t0, 3), 0.0, files_unchanged=unchanged))
        return files
    source = "read_parquet($files, union_by_name = true)"
    params: dict[str, Any] | None = {"files": [str(raw_dir / f) for f in to_read]}
    # Read only columns that have data checks (non-null, unique, value checks): not the payloads.
    data_cols = [name for name, col in schema.columns.items()
                 if not col.nullable or col.checks or name in (schema.unique or ())]
    try:
        if not per_file:  # read whole: small tables (the load audit), kept for the quarantine check
            _read_whole(con, raw_dir, table, files, read_cache / f"{table}.parquet" if read_cache else None)
            source, params = _q(table), None
        structure = con.sql(f"select * from {source} limit 0", params=params).pl()
        present = [c for c in data_cols if c in structure.columns]
        data = (con.sql(f"select {', '.join(_q(c) for c in present)} from {source}", params=params).pl()
                if present else None)
    except duckdb.Error as exc:
        report.checks.append(CheckResult(table, "readable", "hard", "fail", 0, 0, detail=_safe_error(exc)))
        return {}
    validate_frame(report, table, model, structure, RAW_KEYS.get(table, ()),
                   read_s=time.perf_counter() - t0, data_frame=data)
    report.tables[-1].files_unchanged = unchanged
    return files if per_file else {}


def _read_whole(con: duckdb.DuckDBPyConnection, raw_dir: Path, table: str, files: dict[str, str],
                cache: Path | None) -> None:
    """Temp table `table`: every row of `files` ({file: signature}), the rows of the files whose signature
    `cache` holds read from it (one Parquet file), the others from their files; then `cache` rewritten
    with the rows of `files`. The load audit is one small file per load (~1 170 at the province's scale,
    0.4 s to open each time); a cache of contents keyed by signature, so it is right whatever the verdict."""
    cached: list[str] = []
    if cache is not None and cache.exists():
        try:
            seen = dict(con.execute("select distinct _file, _signature from read_parquet(?)", [str(cache)]).fetchall())
            cached = [f for f, signature in files.items() if seen.get(f) == signature]
        except duckdb.Error as exc:  # unreadable: every file is read
            logger.warning("raw gate: read cache %s unreadable (%s); reading every file", cache, _safe_error(exc))
    to_read = sorted(files.keys() - set(cached))
    con.execute("create or replace temp table vaxclean_raw_signatures as "
                "select unnest($files) as _file, unnest($signatures) as _signature",
                {"files": list(files), "signatures": list(files.values())})
    prefix = str(raw_dir) + "/"
    parts = []
    if cached:
        parts.append(f"select * from read_parquet('{_sql_str(cache)}') "
                     "where _file in (select unnest($cached))")
    if to_read:
        parts.append(f"""select files.* exclude (filename), signatures._file, signatures._signature
            from read_parquet($files, union_by_name = true, filename = true) as files
            inner join vaxclean_raw_signatures as signatures
                on substr(files.filename, {len(prefix) + 1}) = signatures._file""")
    params = {k: v for k, v in (("cached", cached), ("files", [prefix + f for f in to_read])) if v}
    con.execute(f"create or replace temp table vaxclean_raw_rows as {' union all by name '.join(parts)}", params)
    con.execute(f"create or replace temp table {_q(table)} as "
                "select * exclude (_file, _signature) from vaxclean_raw_rows")
    if cache is not None and to_read:
        cache.parent.mkdir(parents=True, exist_ok=True)
        staged = cache.with_name(f".{cache.name}.tmp")
        con.execute(f"copy vaxclean_raw_rows to '{_sql_str(staged)}' (format parquet)")
        os.replace(staged, cache)
    con.execute("drop table vaxclean_raw_rows")
    con.execute("drop table vaxclean_raw_signatures")


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


def _raw_files(con: duckdb.DuckDBPyConnection, raw_dir: Path, table: str) -> dict[str, str]:
    """The table's Parquet files as its readers see them (DuckDB's glob), each with its `file_signature`."""
    files: dict[str, str] = {}
    for (name,) in con.execute("select file from glob(?) order by file", [table_glob(raw_dir, table)]).fetchall():
        path = Path(name)
        try:
            files[path.relative_to(raw_dir).as_posix()] = file_signature(path)
        except FileNotFoundError:  # removed since the glob: no longer part of the table
            continue
    return files


def _load_validated_files(registry: Path, version: str) -> dict[str, str]:
    """Raw files validated by passed gates with the same checks ({} when the checks changed since)."""
    try:
        saved = json.loads(registry.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        logger.warning("unreadable %s: every raw file is validated again", registry)
        return {}
    return dict(saved.get("files", {})) if saved.get("checks_version") == version else {}


def _save_validated_files(registry: Path, version: str, files: dict[str, str]) -> None:
    registry.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(registry, json.dumps({"checks_version": version, "files": dict(sorted(files.items()))}, indent=0))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quarantine_checks(report: GateReport, con: duckdb.DuckDBPyConnection, raw_dir: Path,
                       start: dt.datetime | None, end: dt.datetime | None) -> None:
    """Per load: quarantined rows match the audit (hard); quarantined share under the limit (soft)."""
    if not (table_dir(raw_dir, "load_audit").is_dir() and table_dir(raw_dir, "quarantine").is_dir()):
        return  # already reported as missing tables
    max_share = settings().quarantine_max_share
    where, params = [], []
    if start is not None:
        where.append("a.finished_at >= ?")
        params.append(start)
    if end is not None:
        where.append("a.finished_at < ?")
        params.append(end)
    read_by_gate = con.execute("select count(*) from duckdb_tables() where temporary and table_name = 'load_audit'"
                               ).fetchall()[0][0]
    audit = "temp.load_audit" if read_by_gate else f"read_parquet('{table_glob(raw_dir, 'load_audit')}', union_by_name = true)"
    sql = f"""
        with q as (
            select source, load_id, count(*) as n
            from read_parquet('{table_glob(raw_dir, "quarantine")}', union_by_name = true) group by all
        )
        select a.source, a.load_id, a.received, a.quarantined, coalesce(q.n, 0) as quarantine_rows,
               a.quarantined / nullif(a.received, 0) as share
        from {audit} as a
        left join q using (source, load_id)
        {"where " + " and ".join(where) if where else ""}
        order by share desc nulls last, a.source, a.load_id
    """
    try:
        loads = con.sql(sql, params=params).pl()
    except duckdb.Error as exc:
        report.checks.append(CheckResult("load_audit", "quarantine_share", "soft", "fail", 0, 0, max_share=max_share,
                                         detail=_safe_error(exc)))
        return
    mismatch = loads.filter(pl.col("quarantined") != pl.col("quarantine_rows"))
    report.checks.append(CheckResult(
        "load_audit", "quarantine_rows_match_audit", "hard", "fail" if mismatch.height else "pass",
        mismatch.height, loads.height, examples=_load_examples(mismatch),
    ))
    over = loads.filter(pl.col("share") > max_share)
    quarantined = loads.filter(pl.col("quarantined") > 0)
    status: Status = "fail" if over.height else ("warn" if quarantined.height else "pass")
    report.checks.append(CheckResult(
        "load_audit", "quarantine_share_per_load", "soft", status, over.height, loads.height,
        max_share=max_share, detail=f"loads whose quarantined share exceeds {max_share:.2%}",
        examples=_load_examples(over if over.height else quarantined),
    ))


def _load_examples(loads: pl.DataFrame) -> list[dict[str, Any]]:
    return [{**r, "share": None if r["share"] is None else round(r["share"], 4)}
            for r in loads.head(EXAMPLES_PER_CHECK).iter_rows(named=True)]


# ------------------------------------------------------------------------------------ conservation


def _conservation_check(report: GateReport, con: duckdb.DuckDBPyConnection, live_sql: str,
                        scope: str | None = None, kept: str | None = None) -> None:
    """Every live received dose record appears exactly once in marts.dose_reconciliation; with `scope` (a
    condition on source, source_record_id), among the records it selects (an incremental build), whose
    mart rows `kept` holds when the build kept them (kept_rederived_rows)."""
    t0 = time.perf_counter()
    mart_sql = f"select source, source_record_id from {DOSE_RECONCILIATION_RELATION}"
    if scope:
        live_sql = f"select source, source_record_id from ({live_sql}) where {scope}"
        mart_sql = f"select source, source_record_id from {kept}" if kept else f"{mart_sql} where {scope}"
    base = f"""
        with live as (select distinct source, source_record_id from ({live_sql})),
        mart as ({mart_sql})
    """
    parts = {
        "missing from mart": "select * from live anti join mart using (source, source_record_id)",
        "in mart but not received (or deleted)": "select * from mart anti join live using (source, source_record_id)",
        "more than once in mart": "select source, source_record_id, count(*) as times from mart group by all "
                                  "having count(*) > 1",
    }
    try:  # one aggregation over both key sets (cheaper than two group-bys and a full outer join)
        tally = con.execute(f"""
            with keys as (
                select source, source_record_id, true as is_live, 0 as in_mart from ({live_sql})
                union all
                select source, source_record_id, false, 1 from ({mart_sql})
            ),
            per_key as (  -- (a null key matches nothing, as in a join)
                select bool_or(is_live) as is_live, sum(in_mart) as n from keys
                group by source, source_record_id, (source is null or source_record_id is null) and is_live
            )
            select count(*) filter (where is_live), count(*) filter (where is_live and n = 0),
                   count(*) filter (where not is_live), count(*) filter (where n > 1)
            from per_key""").fetchall()[0]
        live_n = tally[0]
        counts = dict(zip(parts, tally[1:], strict=True))
        examples = [{"problem": name, **row} for name, q in parts.items() if counts[name]
                    for row in con.sql(f"{base} {q} order by all limit {EXAMPLES_PER_CHECK}").pl().iter_rows(named=True)]
    except duckdb.Error as exc:
        report.checks.append(CheckResult("dose_reconciliation", "dose_records_conserved", "hard", "fail", 0, 0,
                                         detail=f"could not compute: {_safe_error(exc)}"))
        return
    failed = sum(counts.values())
    report.checks.append(CheckResult(
        "dose_reconciliation", "dose_records_conserved", "hard", "fail" if failed else "pass", failed, live_n,
        detail=", ".join(f"{n:,} {name}" for name, n in counts.items()), examples=examples,
    ))
    report.timings["conservation_s"] = round(time.perf_counter() - t0, 3)

