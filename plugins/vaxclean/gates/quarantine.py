"""The raw gate's check across the load audit and the quarantine: per load, the quarantined rows match
what the audit says (hard), and the quarantined share stays under VAXCLEAN_QUARANTINE_MAX_SHARE (soft: a
load above it fails the gate and blocks publishing until someone looks)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from vaxclean.config import settings
from vaxclean.gates.report import EXAMPLES_PER_CHECK, CheckResult, GateReport, Status, safe_error
from vaxclean.raw.layout import table_dir, table_glob


def quarantine_checks(report: GateReport, con: duckdb.DuckDBPyConnection, raw_dir: Path,
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
                                         detail=safe_error(exc)))
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
    """The first loads as report examples (counts and share: no personal data)."""
    return [{**r, "share": None if r["share"] is None else round(r["share"], 4)}
            for r in loads.head(EXAMPLES_PER_CHECK).iter_rows(named=True)]
