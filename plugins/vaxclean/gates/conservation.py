"""The marts gate's check across layers: every live received dose record appears exactly once in the
reconciliation mart, none is lost, none invented.

The live records (newest version, tombstones excluded) come from the intermediate model that unions
them; LIVE_DOSE_KEYS_FROM_STAGING_SQL derives them from staging instead. run_gate takes
`live_dose_keys_sql` to override.
"""

from __future__ import annotations

import time

import duckdb

from vaxclean.gates.report import EXAMPLES_PER_CHECK, CheckResult, GateReport, safe_error

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


def conservation_check(report: GateReport, con: duckdb.DuckDBPyConnection, live_sql: str,
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
                                         detail=f"could not compute: {safe_error(exc)}"))
        return
    failed = sum(counts.values())
    report.checks.append(CheckResult(
        "dose_reconciliation", "dose_records_conserved", "hard", "fail" if failed else "pass", failed, live_n,
        detail=", ".join(f"{n:,} {name}" for name, n in counts.items()), examples=examples,
    ))
    report.timings["conservation_s"] = round(time.perf_counter() - t0, 3)
