"""The raw gate: validate the Parquet tables of the raw lake with their pandera models, then the
quarantine of every load (vaxclean.gates.quarantine).

A table whose checks hold value by value (no uniqueness, no table-wide or soft check:
`checks_hold_per_file`) is read only from the files that no earlier *passed* raw gate validated with the
same checks. Those are listed in `<warehouse>/gate_reports/raw_files_validated.json` (vaxclean.state),
keyed by path, size, mtime, ctime and inode (vaxclean.raw.layout.file_signature): a replaced file (same
name, new content) is read again. Other tables are read whole, the rows of their unchanged files from a
cache (`<warehouse>/gate_reports/raw_read_cache/`). Only the columns that carry data checks are read,
never the payloads.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pandera.polars as pa

from vaxclean.gates.connection import connect, quote
from vaxclean.gates.quarantine import quarantine_checks
from vaxclean.gates.report import CheckResult, GateReport, TableResult, safe_error
from vaxclean.gates.validate import hard_check_count, split_soft_checks, validate_frame
from vaxclean.raw.layout import file_signature, table_dir, table_glob
from vaxclean.schemas.raw import RAW_KEYS, RAW_MODELS
from vaxclean.state import write_atomic

logger = logging.getLogger(__name__)

# Built-in pandera checks that hold value by value: rows that passed them keep passing whatever rows join them.
VALUE_CHECKS = frozenset({
    "equal_to", "not_equal_to", "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to",
    "in_range", "isin", "notin", "str_matches", "str_contains", "str_startswith", "str_endswith", "str_length",
})


def raw_gate(report: GateReport, raw_dir: Path, start: dt.datetime | None, end: dt.datetime | None,
             validated: dict[str, str], read_cache: Path | None = None,
             accepted: frozenset[tuple[str, str]] = frozenset()) -> dict[str, str]:
    """Validate the raw tables and the quarantine (`accepted`: loads the data team accepted); returns the
    files to record as validated if the gate passes."""
    checked: dict[str, str] = {}
    with connect(None) as con:
        for table, model in RAW_MODELS.items():
            checked |= _raw_table(report, con, raw_dir, table, model, validated, read_cache)
        quarantine_checks(report, con, raw_dir, start, end, accepted)
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
        report.tables.append(TableResult(table, model.__name__, 0, hard_check_count(hard), len(soft),
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
            source, params = quote(table), None
        structure = con.sql(f"select * from {source} limit 0", params=params).pl()
        present = [c for c in data_cols if c in structure.columns]
        data = (con.sql(f"select {', '.join(quote(c) for c in present)} from {source}", params=params).pl()
                if present else None)
    except duckdb.Error as exc:
        report.checks.append(CheckResult(table, "readable", "hard", "fail", 0, 0, detail=safe_error(exc)))
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
            logger.warning("raw gate: read cache %s unreadable (%s); reading every file", cache, safe_error(exc))
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
    con.execute(f"create or replace temp table {quote(table)} as "
                "select * exclude (_file, _signature) from vaxclean_raw_rows")
    if cache is not None and to_read:
        cache.parent.mkdir(parents=True, exist_ok=True)
        staged = cache.with_name(f".{cache.name}.tmp")
        con.execute(f"copy vaxclean_raw_rows to '{_sql_str(staged)}' (format parquet)")
        os.replace(staged, cache)
    con.execute("drop table vaxclean_raw_rows")
    con.execute("drop table vaxclean_raw_signatures")


def _sql_str(path: Path) -> str:
    """A path for a single-quoted SQL string."""
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


def load_validated_files(registry: Path, version: str) -> dict[str, str]:
    """Raw files validated by passed gates with the same checks ({} when the checks changed since)."""
    try:
        saved = json.loads(registry.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        logger.warning("unreadable %s: every raw file is validated again", registry)
        return {}
    return dict(saved.get("files", {})) if saved.get("checks_version") == version else {}


def save_validated_files(registry: Path, version: str, files: dict[str, str]) -> None:
    """Record the raw files a passed gate validated ({file: signature}) with the checks they passed."""
    registry.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(registry, json.dumps({"checks_version": version, "files": dict(sorted(files.items()))}, indent=0))
