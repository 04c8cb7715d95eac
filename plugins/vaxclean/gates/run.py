"""`run_gate`: one gate, from reading a layer to its report and the records the next gates start from."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from vaxclean.gates.acceptance import accepted_loads
from vaxclean.gates.connection import connect
from vaxclean.gates.conservation import LIVE_DOSE_KEYS_SQL, conservation_check
from vaxclean.gates.raw import load_validated_files, raw_gate, save_validated_files
from vaxclean.gates.report import GateFailed, GateReport, write_report
from vaxclean.gates.schema_gate import schema_gate
from vaxclean.gates.scope import gate_scope, kept_rederived_rows, validated_state
from vaxclean.gates.version import checks_version
from vaxclean.raw.layout import safe_name
from vaxclean.schemas.marts import MART_MODELS, mart_key
from vaxclean.schemas.staging import STAGING_KEYS, STAGING_MODELS
from vaxclean.state import (
    forget_validated_build,
    gate_reports_dir,
    raw_read_cache_dir,
    raw_validated_files_path,
    read_build_stamp,
    write_validated_build,
)

logger = logging.getLogger(__name__)

LAYERS = ("raw", "staging", "marts")


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
    validated_files: dict[str, str] = {}
    validated: dict[str, Any] | None = None
    if layer == "raw":
        validated_files = raw_gate(report, warehouse_dir / "raw", interval_start, interval_end,
                                   load_validated_files(raw_validated_files_path(warehouse_dir), report.checks_version),
                                   raw_read_cache_dir(warehouse_dir), accepted_loads(warehouse_dir))
    else:
        # the warehouse itself (not a copy being published) after an incremental build: its re-derived rows
        validated = _tables_gate(report, warehouse_dir, db_path, of_warehouse=database is None,
                                 check_conservation=check_conservation, live_dose_keys_sql=live_dose_keys_sql)
    report.timings["total_s"] = round(time.perf_counter() - started, 3)
    target_dir = Path(report_dir) if report_dir else gate_reports_dir(warehouse_dir) / safe_name(run_id)
    write_report(report, target_dir, report_name or layer)
    _record_validated(report, warehouse_dir, validated_files, validated)
    logger.info("%s", report.summary())
    if raise_on_failure and not report.passed:
        raise GateFailed(report)
    return report


def _tables_gate(report: GateReport, warehouse_dir: Path, db_path: Path, *, of_warehouse: bool,
                 check_conservation: bool, live_dose_keys_sql: str | None) -> dict[str, Any] | None:
    """The staging or marts gate (`report.layer`) on the DuckDB file `db_path`, plus the conservation of
    dose records for the marts. When the file is the warehouse itself (`of_warehouse`), reads only what its
    last build re-derived if that build started from the tables the last passed gate validated
    (gate_scope), and returns what this gate records for the next one if it passes (validated_state);
    else (a copy being published) reads everything and returns None."""
    layer = report.layer
    models, keys = (STAGING_MODELS, STAGING_KEYS) if layer == "staging" else (MART_MODELS, _mart_keys())
    stamp = read_build_stamp(warehouse_dir, layer) if of_warehouse else {}
    with connect(db_path) as con:
        scope = gate_scope(layer, warehouse_dir, stamp, report.checks_version) if of_warehouse else None
        if scope and layer == "marts":
            catalog = con.execute("select current_database()").fetchall()[0][0]
            scope = replace(scope, kept=kept_rederived_rows(con, catalog, stamp))
        report.scope = scope.describe() if scope else ""
        schema_gate(report, con, layer, models, keys, fingerprint=layer == "marts", scope=scope)
        if layer == "marts" and check_conservation:
            conservation_check(report, con, live_dose_keys_sql or LIVE_DOSE_KEYS_SQL,
                               scope.rows.get("dose_reconciliation") if scope else None,
                               scope.kept.get("dose_reconciliation") if scope else None)
        return validated_state(layer, con, stamp, report.checks_version) if of_warehouse else None


def _record_validated(report: GateReport, warehouse_dir: Path, validated_files: dict[str, str],
                      validated: dict[str, Any] | None) -> None:
    """What the next gates need not read again (vaxclean.state): after a passed raw gate, the raw files it
    validated; after a staging or marts gate of the warehouse (`validated` not None), the build it validated
    if it passed, nothing if it failed (the next gate then reads everything)."""
    if report.layer == "raw" and report.passed:
        save_validated_files(raw_validated_files_path(warehouse_dir), report.checks_version, validated_files)
    if validated is not None:  # the next incremental build's gate reads only what it re-derives
        if report.passed:
            write_validated_build(warehouse_dir, report.layer, validated | {"run_id": report.run_id})
        else:
            forget_validated_build(warehouse_dir, report.layer)


def _mart_keys() -> dict[str, tuple[str, ...]]:
    """Each mart's primary key (the report's examples show it; the schemas declare it)."""
    return {name: mart_key(name) for name in MART_MODELS}
