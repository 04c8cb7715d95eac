"""Score published marts against a scenario's ground truth (`make evaluate`), as defined in marts.md.

Prints one JSON object: dose linkage precision/recall/F1 (overall, per source and per corruption tag),
duplicates caught and false duplicates, borrowed identities caught, complaint linkage and category
inference, and conservation (truth records missing from or unknown to the mart).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

CREDITED = "('verified', 'corrected', 'probable')"


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 5) if den else None


def _f1(p: float | None, r: float | None) -> float | None:
    return round(2 * p * r / (p + r), 5) if p and r else None


def _load(con: duckdb.DuckDBPyConnection, scenario: Path, marts_db: Path) -> None:
    con.execute(f"attach '{marts_db}' as pub (read_only)")
    con.execute(f"""
        create temp table truth as
        select source, source_record_id,
               nullif(true_citizen_id, '') as true_citizen_id,
               nullif(recorded_citizen_id, '') as recorded_citizen_id,
               nullif(duplicate_of_source, '') as duplicate_of_source,
               nullif(duplicate_of_record_id, '') as duplicate_of_record_id,
               string_split(coalesce(tags, ''), ';') as tags
        from read_csv('{scenario / "truth" / "doses.csv"}', all_varchar = true, header = true)
        where not list_contains(string_split(coalesce(tags, ''), ';'), 'tombstoned')
    """)
    con.execute("""
        create temp table scored as
        select t.*, d.citizen_id, d.match_status, d.issues, d.duplicate_of_source as d_dup_source,
               d.duplicate_of_record_id as d_dup_record, d.source is not null as in_mart,
               d.match_status in ('verified', 'corrected', 'probable') as is_credited,
               list_contains(t.tags, 'borrowed_identity') as is_borrowed,
               -- a record recall is measured on: of a resident, neither a duplicate nor a borrowed identity
               t.true_citizen_id is not null and t.duplicate_of_record_id is null
                   and not list_contains(t.tags, 'borrowed_identity') as is_recall_base
        from truth t
        left join pub.marts.dose_reconciliation d using (source, source_record_id)
    """)


def dose_scores(con: duckdb.DuckDBPyConnection) -> dict:
    row = con.execute("""
        select
            count(*) filter (where is_credited) as credits,
            count(*) filter (where is_credited and citizen_id = true_citizen_id) as right_credits,
            count(*) filter (where is_recall_base) as recall_base,
            count(*) filter (where is_recall_base and is_credited and citizen_id = true_citizen_id) as recall_hits,
            count(*) filter (where not in_mart) as missing_from_mart
        from scored
    """).fetchone()
    credits, right, base, hits, missing = row
    precision, recall = _ratio(right, credits), _ratio(hits, base)
    unknown = con.execute("""
        select count(*) from pub.marts.dose_reconciliation d
        anti join truth t using (source, source_record_id)
    """).fetchone()[0]
    return {
        "dose_records_scored": con.execute("select count(*) from scored").fetchone()[0],
        "credits": credits, "right_credits": right, "precision": precision,
        "recall_base": base, "recall": recall, "f1": _f1(precision, recall),
        "truth_records_missing_from_mart": missing, "mart_records_not_in_truth": unknown,
    }


def per_group(con: duckdb.DuckDBPyConnection, group_sql: str) -> dict:
    rows = con.execute(f"""
        with base as (
            select {group_sql} as grp, *
            from scored
            where is_recall_base
        )
        select grp, count(*) as n,
               count(*) filter (where is_credited and citizen_id = true_citizen_id) as hits
        from base group by grp order by grp
    """).fetchall()
    return {grp: {"n": n, "recall": _ratio(hits, n)} for grp, n, hits in rows}


def duplicate_scores(con: duckdb.DuckDBPyConnection) -> dict:
    caught, total = con.execute("""
        select
            count(*) filter (where
                (match_status = 'duplicate' and d_dup_source = duplicate_of_source
                 and d_dup_record = duplicate_of_record_id)
                or exists (select 1 from scored o
                           where o.source = s.duplicate_of_source and o.source_record_id = s.duplicate_of_record_id
                             and o.match_status = 'duplicate' and o.d_dup_source = s.source
                             and o.d_dup_record = s.source_record_id)),
            count(*)
        from scored s where duplicate_of_record_id is not null
    """).fetchone()
    false_dups, records = con.execute("""
        select
            count(*) filter (where s.match_status = 'duplicate' and s.duplicate_of_record_id is null
                and not exists (select 1 from scored o where o.duplicate_of_source = s.source
                                and o.duplicate_of_record_id = s.source_record_id)),
            count(*)
        from scored s
    """).fetchone()
    return {"duplicates": total, "caught": caught, "caught_rate": _ratio(caught, total),
            "false_duplicates": false_dups, "false_duplicate_share": _ratio(false_dups, records)}


def borrowed_scores(con: duckdb.DuckDBPyConnection) -> dict:
    """Borrowed identities caught (marts.md) and what the screening costs: correct credits it sent to review
    (a record of its true citizen, neither borrowed nor a duplicate, withheld as a suspected borrowed
    identity), as a count and a share of the recall base. Per signal: the borrowed records and the correct
    credits each borrowed_identity_* issue code was on."""
    caught, total, lost, base = con.execute("""
        select count(*) filter (where is_borrowed
                   and not (is_credited and citizen_id is not distinct from recorded_citizen_id)
                   and list_contains(issues, 'suspected_borrowed_identity')),
               count(*) filter (where is_borrowed),
               count(*) filter (where is_recall_base and not is_credited
                                and list_contains(issues, 'suspected_borrowed_identity')),
               count(*) filter (where is_recall_base)
        from scored
    """).fetchone()
    signals = {signal: {"borrowed": borrowed, "correct_credits": correct} for signal, borrowed, correct in con.execute("""
        select signal,
               count(*) filter (where is_borrowed),
               count(*) filter (where is_recall_base)
        from (select *, unnest(issues) as signal from scored)
        where starts_with(signal, 'borrowed_identity_')
        group by signal order by signal
    """).fetchall()}
    return {"borrowed": total, "caught": caught, "caught_rate": _ratio(caught, total),
            "correct_credits_sent_to_review": lost, "correct_credits_sent_to_review_share": _ratio(lost, base),
            "signals": signals}


def complaint_scores(con: duckdb.DuckDBPyConnection, scenario: Path) -> dict:
    path = scenario / "truth" / "tickets.csv"
    if not path.exists():
        return {}
    con.execute(f"""
        create temp table ticket_truth as
        select source, ticket_id, nullif(true_citizen_id, '') as true_citizen_id, true_category
        from read_csv('{path}', all_varchar = true, header = true)
    """)
    row = con.execute("""
        select
            count(*) filter (where c.citizen_id is not null) as linked,
            count(*) filter (where c.citizen_id is not null and c.citizen_id = t.true_citizen_id) as right_links,
            count(*) filter (where t.true_citizen_id is not null) as linkable,
            count(*) filter (where t.true_citizen_id is not null and c.citizen_id = t.true_citizen_id) as hits,
            count(*) filter (where c.is_category_inferred) as inferred,
            count(*) filter (where c.is_category_inferred and c.category = t.true_category) as inferred_right,
            count(*) filter (where c.ticket_id is null) as missing
        from ticket_truth t
        left join pub.marts.complaint_tracking c using (source, ticket_id)
    """).fetchone()
    linked, right, linkable, hits, inferred, inferred_right, missing = row
    return {
        "complaints": con.execute("select count(*) from ticket_truth").fetchone()[0],
        "missing_from_mart": missing,
        "linkage_precision": _ratio(right, linked), "linkage_recall": _ratio(hits, linkable),
        "category_inferred": inferred, "category_accuracy": _ratio(inferred_right, inferred),
    }


def evaluate(scenario: Path, warehouse: Path) -> dict:
    marts_db = warehouse / "published" / "marts.duckdb"
    if not (scenario / "truth" / "doses.csv").exists():
        raise FileNotFoundError(f"{scenario}/truth/doses.csv not found: evaluation needs the scenario's truth")
    if not marts_db.exists():
        raise FileNotFoundError(f"{marts_db} not found: run `make run` first")
    with duckdb.connect() as con:
        _load(con, scenario, marts_db)
        result = {"scenario": str(scenario), "marts": str(marts_db), "doses": dose_scores(con)}
        result["doses"]["recall_by_source"] = per_group(con, "source")
        result["doses"]["recall_by_tag"] = per_group(con, "unnest(tags)")
        result["match_status_counts"] = dict(con.execute(
            "select match_status, count(*) from pub.marts.dose_reconciliation group by all order by 1").fetchall())
        result["duplicates"] = duplicate_scores(con)
        result["borrowed_identities"] = borrowed_scores(con)
        result["complaints"] = complaint_scores(con, scenario)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vaxclean.evaluate", description=__doc__)
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--warehouse", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.scenario.resolve(), args.warehouse.resolve())
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
