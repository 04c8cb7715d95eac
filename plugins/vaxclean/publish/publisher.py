"""Publish the marts atomically for BI tools, reviewers and communes.

`publish()` writes the next publication into a private version directory (vaxclean.publish.versions):
the restricted `marts.duckdb` (every mart, schema `marts`, and `ops.run_log`), its Parquet, and the BI
layer derived from it (`bi.duckdb` and `bi/parquet/`, vaxclean.publish.bi); it validates the restricted
file, and only then switches the pointer `published/current` to the new version in one rename. The fixed
paths readers open (`published/marts.duckdb`, `parquet/`, `bi.duckdb`, `bi/`) are links into the current
version: a reader sees the whole previous publication or the whole new one. Any failure leaves the
published set as it was (the unfinished version is removed).

Validating the copy: when every copied table has the fingerprint (rows, sum of row hashes, column
types) recorded by this run's passed marts gate under the same checks, the copy holds exactly what
that gate validated and is not validated a second time. Otherwise the copy must equal the warehouse
tables it was copied from (else publishing fails: the copy is corrupt) and is validated with the mart
gate, as a whole.

After an incremental build (the marts build stamp, vaxclean.state) the next file starts as a copy of the
published one: the marts the dose chain builds by scope (as the stamp declares them) get only the build's
scope replaced, the others are
copied whole, and the result must have the gate's fingerprints in every table, else (the published
file was not the previous build's marts) everything is copied as above. The BI file is then patched
the same way from the previous version's.

`ops.run_log` has one row per published run, carried over from the previously published file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from vaxclean.config import pseudonym_secret, settings
from vaxclean.gates import (
    COPY_CHECK,
    CheckResult,
    GateReport,
    checks_version,
    kept_rederived_rows,
    run_gate,
    scoped_mart_keys,
    scoped_mart_rows,
    table_fingerprint,
    write_report,
)
from vaxclean.permissions import private_umask, restricted_group
from vaxclean.publish import bi, versions
from vaxclean.publish.duckdb_files import export_parquet
from vaxclean.publish.duckdb_files import quote as _quote
from vaxclean.publish.duckdb_files import sql_path as _sql_path
from vaxclean.raw.layout import safe_name
from vaxclean.state import gate_reports_dir, read_build_stamp
from vaxclean.transform.storage import COMPACT_DELETED_SHARE, deleted_share

logger = logging.getLogger(__name__)

PUBLISHED_DB = "marts.duckdb"
PARQUET_DIR = "parquet"
PUBLISHED_REPORT = "published_marts"  # the copy's validation, beside the run's gate reports
RUN_LOG_DDL = """
create table ops.run_log (
    run_id varchar not null,
    interval_start timestamp,
    interval_end timestamp,
    counts varchar,          -- JSON: rows per layer/table
    gate_results varchar,    -- JSON: gate verdicts
    durations varchar,       -- JSON: seconds per step
    mart_rows varchar,       -- JSON: rows per published mart
    published_at timestamp not null
)
"""


def publish(*, warehouse_dir: Path, run_id: str, run_info: Mapping[str, Any], secret: str | None = None
            ) -> dict[str, Any]:
    """Write the next publication (restricted file + Parquet, BI layer + Parquet), validate it, and switch
    the published set to it.

    `run_info` may hold `interval_start`, `interval_end` (datetime or ISO text), `counts`,
    `gate_results` and `durations` (JSON-serialisable); they go to `ops.run_log`. `secret`: the pseudonym
    key (default: vaxclean.config.pseudonym_secret()); missing or short, nothing is published.
    Returns the published paths, the rows per mart and timings (small: fit for XCom).
    Raises GateFailed (or the underlying error) and leaves the published files untouched on failure.
    """
    secret = bi.check_secret(secret if secret is not None else pseudonym_secret())
    group = restricted_group()
    warehouse_dir = Path(warehouse_dir)
    published_dir = warehouse_dir / "published"
    with versions.publishing(published_dir):
        return _publish(warehouse_dir, published_dir, run_id, run_info, secret, group)


def _publish(warehouse_dir: Path, published_dir: Path, run_id: str, run_info: Mapping[str, Any], secret: str,
             group: int | None) -> dict[str, Any]:
    warehouse_db = warehouse_dir / "warehouse.duckdb"
    target = published_dir / PUBLISHED_DB
    previous_bi = published_dir / bi.BI_DB
    timings: dict[str, float] = {}
    version = versions.new_version(published_dir, run_id)
    tmp = version / PUBLISHED_DB
    target_existed = target.exists()
    try:
        with private_umask():  # nothing in the version is readable by others before it is protected
            t0 = time.perf_counter()
            gated = _gated_fingerprints(warehouse_dir, run_id)
            stamp = read_build_stamp(warehouse_dir, "marts")
            previous = _readable_previous(target)
            mart_rows, verified, patched = _build(tmp, warehouse_db, previous, run_id, run_info, gated, stamp)
            timings["build_s"] = _since(t0)
            t0 = time.perf_counter()
            if verified and gated:  # the copy is what the marts gate validated: record that, do not validate again
                gate = _record_verified_copy(warehouse_dir, run_id, tmp, verified, gated[0])
            else:
                gate = run_gate("marts", warehouse_dir=warehouse_dir, run_id=run_id, database=tmp,
                                check_conservation=False, report_name=PUBLISHED_REPORT)
            timings["gate_s"] = _since(t0)
            t0 = time.perf_counter()
            export_parquet(tmp, version / PARQUET_DIR, list(mart_rows))
            timings["parquet_s"] = _since(t0)
            cfg = settings()
            layer = bi.build_bi(version / bi.BI_DB, restricted_db=tmp, warehouse_db=warehouse_db, secret=secret,
                                previous_bi=previous_bi if patched and previous_bi.exists() else None,
                                scopes=scoped_mart_keys(stamp, "wh") if patched else None,
                                threads=cfg.duckdb_threads, memory_limit=cfg.duckdb_memory_limit)
            timings["bi_s"] = layer["timings"]["bi_s"]
            t0 = time.perf_counter()
            export_parquet(version / bi.BI_DB, version / bi.BI_DIR / PARQUET_DIR)
            timings["bi_parquet_s"] = _since(t0)
        previous_version = versions.switch(published_dir, version, group=group)
    except BaseException:
        if versions.current_version(published_dir) != version:  # never remove what readers now open
            shutil.rmtree(version, ignore_errors=True)
        raise
    versions.remove_old_versions(published_dir, keep=(version, previous_version))
    logger.info("published run %s: %s", run_id, json.dumps(mart_rows))
    return {
        "run_id": run_id,
        "published_db": str(target),
        "parquet_dir": str(published_dir / PARQUET_DIR),
        "bi_db": str(published_dir / bi.BI_DB),
        "version": version.name,
        "mart_rows": mart_rows,
        "bi_rows": layer["mart_rows"],
        "gate_passed": gate.passed,
        "gate_report": gate.report_path,
        "validated_by": "fingerprints of the passed marts gate" if verified else "mart gate on the copy",
        "patched": patched,
        "bi_patched": layer["patched"],
        # the file readers had was unreadable: published as if there were none (the DAG alerts it)
        "previous_unreadable": previous is None and target_existed,
        "timings": timings,
    }


def _readable_previous(target: Path) -> Path | None:
    """The published restricted file, when there is one DuckDB can open: an unreadable one (truncated,
    overwritten by hand) is reported and treated as absent, so that it never blocks the next publication."""
    if not target.exists():
        return None
    try:
        with duckdb.connect(str(target), read_only=True) as con:
            con.execute("select count(*) from duckdb_tables()").fetchall()
    except duckdb.Error as error:
        logger.warning("publish: the published file %s is unreadable (%s): publishing as if there were none "
                       "(its run log is lost)", target, type(error).__name__)
        return None
    return target


def _since(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            p.unlink()


def _gated_fingerprints(warehouse_dir: Path, run_id: str) -> tuple[Path, dict[str, str]] | None:
    """The table fingerprints of this run's marts gate report if it passed under the current checks."""
    path = gate_reports_dir(warehouse_dir) / safe_name(run_id) / "marts.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if (report.get("layer") != "marts" or report.get("passed") is not True or not report.get("fingerprints")
            or report.get("checks_version") != checks_version("marts")):
        return None
    return path, dict(report["fingerprints"])


def _build(tmp: Path, warehouse_db: Path, previous: Path | None, run_id: str, run_info: Mapping[str, Any],
           gated: tuple[Path, dict[str, str]] | None, stamp: Mapping[str, Any]
           ) -> tuple[dict[str, int], dict[str, str], bool]:
    """Write the new file: the warehouse marts, and ops.run_log (previous rows + this run).

    Returns the rows per mart, when the copy has the fingerprints of the passed marts gate (`gated`)
    those fingerprints (else {}: the copy must then be validated), and whether the previous file was
    patched (an incremental build, its `stamp`) rather than every mart copied. Raises CopyMismatch when the copy
    differs from the warehouse tables.
    """
    if not warehouse_db.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse_db}")
    incremental = not stamp.get("full_refresh", True)
    if previous is not None and gated and incremental and not _needs_compaction(previous):
        patched = _patch(tmp, warehouse_db, previous, run_id, run_info, gated[1], stamp)
        if patched is not None:
            return (*patched, True)
        _remove(tmp)  # the previous file was not the previous build's: copy everything
    con, catalog = _open_next(tmp, warehouse_db)
    try:
        db = _quote(catalog)
        mart_rows = _copy_marts(con, db)
        copied = {table: table_fingerprint(con, catalog, "marts", table) for table in mart_rows}
        verified = copied if gated and all(gated[1].get(t) == f for t, f in copied.items()) else {}
        if not verified:
            _check_copy(con, copied)
        con.execute("detach wh")
        con.execute(f"create schema {db}.ops")
        con.execute(RUN_LOG_DDL.replace("ops.run_log", f"{db}.ops.run_log"))
        if previous is not None:
            _carry_run_log(con, db, previous, run_id)
        _log_run(con, db, run_id, run_info, mart_rows)
        con.execute("checkpoint")
    finally:
        con.close()
    return mart_rows, verified, False


def _needs_compaction(published: Path) -> bool:
    """Whether the published file holds COMPACT_DELETED_SHARE deleted rows: every mart is copied then, not
    patched (vaxclean.transform.storage)."""
    with duckdb.connect(str(published), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchall()[0][0]
        if deleted_share(con, catalog, ["marts"]) < COMPACT_DELETED_SHARE:
            return False
    logger.info("publish: the published marts hold many deleted rows; copying every mart (compaction)")
    return True


def _patch(tmp: Path, warehouse_db: Path, previous: Path, run_id: str, run_info: Mapping[str, Any],
           gated: Mapping[str, str], stamp: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, str]] | None:
    """After an incremental build: the previously published file with the build's scope replaced in the
    scoped marts and the other marts copied whole. Returns what `_build` returns when every table then has
    the fingerprint the marts gate recorded, else None (the previous file was not the previous build's
    marts, e.g. a build whose gate failed in between): the caller copies everything instead."""
    shutil.copyfile(previous, tmp)
    con, catalog = _open_next(tmp, warehouse_db)
    try:
        db = _quote(catalog)
        tables = _warehouse_marts(con)
        published = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = 'marts'", [catalog]
        ).fetchall()}
        for stale in published - set(tables):
            con.execute(f'drop table {db}.marts."{stale}"')
        kept = kept_rederived_rows(con, "wh", dict(stamp))
        scoped = scoped_mart_rows(dict(stamp), "wh")
        mart_rows = {table: _copy_mart(con, db, table, scoped.get(table) if table in published else None,
                                       kept.get(table)) for table in tables}
        copied = {table: table_fingerprint(con, catalog, "marts", table) for table in mart_rows}
        if any(gated.get(t) != f for t, f in copied.items()):
            logger.warning("publish %s: the previously published marts are not the previous build's; copying all",
                           run_id)
            return None
        con.execute("detach wh")
        con.execute(f"delete from {db}.ops.run_log where run_id = ?", [run_id])
        _log_run(con, db, run_id, run_info, mart_rows)
        con.execute("checkpoint")
    except duckdb.Error as exc:  # e.g. a published file without ops.run_log: copy everything instead
        logger.warning("publish %s: patching the published marts failed (%s); copying all", run_id, exc)
        return None
    finally:
        con.close()
    return mart_rows, copied


def _log_run(con: duckdb.DuckDBPyConnection, db: str, run_id: str, run_info: Mapping[str, Any],
             mart_rows: Mapping[str, int]) -> None:
    con.execute(
        f"insert into {db}.ops.run_log values (?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, _ts(run_info.get("interval_start")), _ts(run_info.get("interval_end")),
         _json(run_info.get("counts")), _json(run_info.get("gate_results")), _json(run_info.get("durations")),
         json.dumps(dict(mart_rows)), dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )


class CopyMismatch(RuntimeError):
    """A table of the new file differs from the warehouse table it was copied from."""


def _check_copy(con: duckdb.DuckDBPyConnection, copied: Mapping[str, str]) -> None:
    differs = [t for t, fingerprint in copied.items() if table_fingerprint(con, "wh", "marts", t) != fingerprint]
    if differs:
        raise CopyMismatch(f"the copy of marts {', '.join(differs)} differs from the warehouse tables: not published")


def _record_verified_copy(warehouse_dir: Path, run_id: str, db: Path, verified: Mapping[str, str],
                          gate_report: Path) -> GateReport:
    """Write the copy's validation report: each table has the fingerprint the passed marts gate recorded."""
    report = GateReport(layer="marts", run_id=run_id, database=str(db), checks_version=checks_version("marts"),
                        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), fingerprints=dict(verified))
    rows = sum(int(f.split()[0].removeprefix("rows=")) for f in verified.values())
    report.checks.append(CheckResult(
        "marts", COPY_CHECK, "hard", "pass", 0, rows,
        detail=f"{len(verified)} tables with the fingerprints recorded by {gate_report}"))
    write_report(report, gate_reports_dir(warehouse_dir) / safe_name(run_id), PUBLISHED_REPORT)
    return report


def _open_next(tmp: Path, warehouse_db: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection to the next published file (UTC, the configured threads and memory) with the warehouse
    attached read-only as `wh`; returns it and the file's catalog name."""
    cfg = settings()
    con = duckdb.connect(str(tmp))
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set threads = {int(cfg.duckdb_threads)}")
    con.execute(f"set memory_limit = '{cfg.duckdb_memory_limit}'")
    # a patch's deleted rows stay in their row groups until a full copy (vaxclean.transform.storage)
    con.execute("set max_vacuum_tasks = 0")
    con.execute(f"attach '{_sql_path(warehouse_db)}' as wh (read_only)")
    return con, con.execute("select current_database()").fetchall()[0][0]


def _warehouse_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts of the warehouse: its tables and views (dose_reconciliation) of schema marts."""
    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'wh' and table_schema = 'marts' "
        "order by 1"
    ).fetchall()]


def _copy_marts(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, int]:
    tables = _warehouse_marts(con)
    if not tables:
        raise RuntimeError("the warehouse has no tables in schema marts: nothing to publish")
    con.execute(f"create schema {db}.marts")
    return {table: _copy_mart(con, db, table) for table in tables}


def _copy_mart(con: duckdb.DuckDBPyConnection, db: str, table: str, scope: str | None = None,
               kept: str | None = None) -> int:
    """Copy a warehouse mart into the new file: whole, or (`scope`, a condition) only the rows the build
    re-derived, over the previous file's rows; those rows read from `kept` when the build kept them there
    (the fingerprint check of the copy still compares it with the whole mart). Returns the mart's rows in
    the new file."""
    target = f'{db}.marts."{table}"'
    if scope:
        con.execute(f"delete from {target} where {scope}")
        con.execute(f'insert into {target} select * from {kept or f"wh.marts.{_quote(table)} where {scope}"}')
    else:
        con.execute(f'create or replace table {target} as select * from wh.marts."{table}"')
    return int(con.execute(f"select count(*) from {target}").fetchall()[0][0])


def _carry_run_log(con: duckdb.DuckDBPyConnection, db: str, previous: Path, run_id: str) -> None:
    """Keep the run log of the published file (a re-run of the same run_id replaces its row)."""
    con.execute(f"attach '{_sql_path(previous)}' as prev (read_only)")
    try:
        has_log = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'prev' and schema_name = 'ops' "
            "and table_name = 'run_log'"
        ).fetchall()[0][0]
        if has_log:
            con.execute(f"insert into {db}.ops.run_log by name select * from prev.ops.run_log where run_id <> ?", [run_id])
    finally:
        con.execute("detach prev")


def _ts(value: Any) -> dt.datetime | None:
    """A naive UTC timestamp from a datetime or ISO text (TIMESTAMP columns are UTC by convention)."""
    if value is None or value == "":
        return None
    stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
