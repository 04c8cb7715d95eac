"""The staging and marts gate: read each table of a DuckDB schema and validate it with its pandera model.

What it reads, to stay cheap at province scale without dropping a check: only the columns the model
declares (other columns are not checked: `strict=False`), plus the key and the columns the report's
examples show; after an incremental build, only the rows the build re-derived (a `GateScope`,
vaxclean.gates.scope), while the soft (share) checks still see their columns whole.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pandera.polars as pa

from vaxclean.gates.connection import quote
from vaxclean.gates.fingerprint import table_fingerprints
from vaxclean.gates.report import CheckResult, GateReport
from vaxclean.gates.scope import GateScope
from vaxclean.gates.validate import split_soft_checks, validate_frame
from vaxclean.schemas._common import CHECK_COLUMNS


def schema_gate(
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
        fingerprints = (pool.submit(table_fingerprints, con.cursor(), catalog, db_schema, sorted(present))
                        if fingerprint else None)
        _validate_tables(report, con, catalog, db_schema, models, keys, present, scope)
        if fingerprints is not None:
            report.fingerprints, report.timings["fingerprint_s"] = fingerprints.result()


def _validate_tables(report: GateReport, con: duckdb.DuckDBPyConnection, catalog: str, db_schema: str,
                     models: dict[str, type[pa.DataFrameModel]], keys: dict[str, tuple[str, ...]],
                     present: dict[str, list[str]], scope: GateScope | None) -> None:
    """schema_gate's reading and validation, table by table (see there)."""
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
        relation = f"{quote(catalog)}.{quote(db_schema)}.{quote(table)}"
        t0 = time.perf_counter()
        condition = scope.rows.get(table) if scope else None
        kept = scope.kept.get(table) if scope else None  # the rows `condition` selects, kept by the build
        select = f"select {', '.join(c if c == '*' else quote(c) for c in columns)} from {kept or relation}"
        frame = con.sql(f"{select} where {condition}" if condition and not kept else select).pl()
        soft_frame, table_rows = None, None
        if condition:
            _, soft = split_soft_checks(model.to_schema())
            soft_columns = [c for c in dict.fromkeys([*key, *(c for c, _ in soft if c)]) if c in present[table]]
            if any(c is None for c, _ in soft):  # a table-wide soft check: every declared column
                soft_columns = [c for c in columns if c != "*"]
            if soft:
                soft_frame = con.sql(f"select {', '.join(quote(c) for c in soft_columns)} from {relation}").pl()
            table_rows = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
        read_s = time.perf_counter() - t0
        validate_frame(report, table, model, frame, key, read_s=read_s, soft_frame=soft_frame)
        report.tables[-1].table_rows = table_rows
