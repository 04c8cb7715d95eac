"""The raw gate's checks across the load audit and the quarantine, over the loads of the run's window (those
finished since the last publish):

- `quarantine_rows_match_audit` (hard): per load, the quarantined rows are what the audit says;
- `quarantine_share_per_source` (soft): proportionate. A quarantined file is an incident of its source, not
  of the province: it makes the check `warn` (the data team is alerted; the build publishes what passed, the
  file's rows stay in quarantine with their reasons). The check fails, and publishing stops, only for a
  systemic failure: a core source (VAXCLEAN_CORE_SOURCES: the platform and the population register) with a
  load wholly quarantined or over VAXCLEAN_QUARANTINE_MAX_SHARE, or any source whose quarantined share of
  the window's rows passes that limit over at least VAXCLEAN_QUARANTINE_MIN_ROWS rows.

Loads the data team accepted (vaxclean.gates.acceptance: an Airflow approval, recorded with who and when)
no longer count, nor loads a later load of the same file superseded (a refused population snapshot loaded
once the setting that refused it was raised: its audit detail names the load it `supersedes`). The report's `quarantine` section lists every source's window, the blocking sources and
the loads with quarantined rows: counts, load ids and the kind of reason, never a row's content.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from vaxclean.config import settings
from vaxclean.gates.report import EXAMPLES_PER_CHECK, CheckResult, GateReport, Status, safe_error
from vaxclean.raw.layout import table_dir, table_glob

LOADS_LISTED = 50  # loads with quarantined rows listed in the report (the largest first)
# The kind of a load's most frequent quarantine reason (q.top_reason), without what it may quote of the file
# (a header taken from a data row names people): the text before any parenthesis, colon or bracket, quoted
# parts removed, at most 80 characters.
REASON_KIND_SQL = r"""case when q.top_reason is not null then coalesce(nullif(left(trim(regexp_replace(
        regexp_extract(q.top_reason, '^[^(:\[{]*'), '''[^'']*''|"[^"]*"', '…', 'g')), 80), ''), 'unreadable')
    end"""


def quarantine_checks(report: GateReport, con: duckdb.DuckDBPyConnection, raw_dir: Path,
                      start: dt.datetime | None, end: dt.datetime | None,
                      accepted: frozenset[tuple[str, str]] = frozenset()) -> None:
    """Per load: quarantined rows match the audit (hard); per source: the proportionate share check (soft).
    `accepted`: (source, load_id) of loads the data team accepted."""
    if not (table_dir(raw_dir, "load_audit").is_dir() and table_dir(raw_dir, "quarantine").is_dir()):
        return  # already reported as missing tables
    cfg = settings()
    try:
        loads = _window_loads(con, raw_dir, start, end)
    except duckdb.Error as exc:
        report.checks.append(CheckResult("load_audit", "quarantine_share_per_source", "soft", "fail", 0, 0,
                                         max_share=cfg.quarantine_max_share, detail=safe_error(exc)))
        return
    mismatch = loads.filter(pl.col("quarantined") != pl.col("quarantine_rows"))
    report.checks.append(CheckResult(
        "load_audit", "quarantine_rows_match_audit", "hard", "fail" if mismatch.height else "pass",
        mismatch.height, loads.height,
        examples=[_load_summary(r) for r in mismatch.head(EXAMPLES_PER_CHECK).iter_rows(named=True)],
    ))
    is_accepted = pl.Series([(s, i) in accepted for s, i in zip(loads["source"], loads["load_id"], strict=True)],
                            dtype=pl.Boolean)
    counted = loads.filter(~is_accepted & ~pl.col("is_superseded"))
    sources = source_verdicts(counted, core=cfg.core_sources, max_share=cfg.quarantine_max_share,
                              min_rows=cfg.quarantine_min_rows)
    blocking = [s for s in sources if s["blocking"]]
    incidents = counted.filter(pl.col("quarantined") > 0).sort("quarantined", descending=True)
    status: Status = "fail" if blocking else ("warn" if incidents.height else "pass")
    report.quarantine = {
        "window_start": start.isoformat() if start else None,
        "max_share": cfg.quarantine_max_share, "min_rows": cfg.quarantine_min_rows,
        "core_sources": sorted(cfg.core_sources),
        "sources": sources,
        "blocking": [s["source"] for s in blocking],
        # every load an accept must cover to unblock (not capped: an accept of part would block again)
        "blocked_loads": [_load_summary(r) for r in incidents.filter(
            pl.col("source").is_in([s["source"] for s in blocking])).iter_rows(named=True)],
        "loads": [_load_summary(r) for r in incidents.head(LOADS_LISTED).iter_rows(named=True)],
        "loads_with_quarantine": incidents.height,
        "accepted": [_load_summary(r) for r in loads.filter(is_accepted).iter_rows(named=True)],
        "superseded": [_load_summary(r) for r in loads.filter(pl.col("is_superseded")).iter_rows(named=True)],
    }
    detail = (f"blocking: {', '.join(b['source'] + ' (' + b['why'] + ')' for b in blocking)}" if blocking else
              f"{incidents.height} load(s) with quarantined rows; no source over its limit" if incidents.height else
              "nothing quarantined")
    report.checks.append(CheckResult(
        "load_audit", "quarantine_share_per_source", "soft", status, len(blocking), len(sources),
        max_share=cfg.quarantine_max_share, detail=detail,
        examples=[{k: s[k] for k in ("source", "received", "quarantined", "share", "why")}
                  for s in (blocking or [s for s in sources if s["quarantined"]])[:EXAMPLES_PER_CHECK]],
    ))


def source_verdicts(loads: pl.DataFrame, *, core: frozenset[str], max_share: float,
                    min_rows: int) -> list[dict[str, Any]]:
    """Per source over the window's loads: rows received and quarantined, and whether it blocks publishing
    (with why). A core source blocks on a wholly quarantined load or a share over the limit; any other
    source only on a share over the limit over at least `min_rows` rows."""
    verdicts = []
    per_source = (loads.group_by("source")
                  .agg(pl.len().alias("loads"), pl.col("received").sum(), pl.col("quarantined").sum(),
                       ((pl.col("quarantined") == pl.col("received")) & (pl.col("received") > 0)).sum()
                       .alias("wholly_quarantined_loads"))
                  .sort("source"))
    for row in per_source.iter_rows(named=True):
        share = row["quarantined"] / row["received"] if row["received"] else 0.0
        is_core = row["source"] in core
        why = ""
        if is_core and row["wholly_quarantined_loads"]:
            why = f"core source: {row['wholly_quarantined_loads']} load(s) wholly quarantined"
        elif share > max_share and (is_core or row["received"] >= min_rows):
            why = f"{share:.2%} of {row['received']:,} rows quarantined (max {max_share:.2%})"
        verdicts.append({**row, "share": round(share, 4), "core": is_core, "blocking": bool(why), "why": why})
    return verdicts


def _window_loads(con: duckdb.DuckDBPyConnection, raw_dir: Path, start: dt.datetime | None,
                  end: dt.datetime | None) -> pl.DataFrame:
    """The loads finished in [start, end): audit counts, quarantine rows found, and the kind of the most
    frequent reason (REASON_KIND_SQL)."""
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
    return con.sql(f"""
        with q as (
            select source, load_id, count(*) as n, mode(reason) as top_reason
            from read_parquet('{table_glob(raw_dir, "quarantine")}', union_by_name = true) group by all
        )
        , superseded as (  -- a detail is JSON for file loads, free text for API loads
            select distinct source, load_id from (
                select source, case when json_valid(detail) then json_extract_string(detail, '$.supersedes') end
                    as load_id
                from {audit}
            ) where load_id is not null
        )
        select a.source, a.load_id, a.received, a.quarantined, coalesce(q.n, 0) as quarantine_rows,
               {REASON_KIND_SQL} as top_reason, a.finished_at, s.load_id is not null as is_superseded
        from {audit} as a
        left join q using (source, load_id)
        left join superseded as s on a.source = s.source and a.load_id = s.load_id
        {"where " + " and ".join(where) if where else ""}
        order by a.source, a.load_id
    """, params=params).pl()


def _load_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A load for a report, an alert or an approval: counts, ids and the kind of reason (no personal data)."""
    received = row["received"]
    return {"source": row["source"], "load_id": row["load_id"], "received": received,
            "quarantined": row["quarantined"],
            "share": round(row["quarantined"] / received, 4) if received else None,
            "reason": row.get("top_reason"),
            "finished_at": row["finished_at"].isoformat() if row.get("finished_at") else None}
