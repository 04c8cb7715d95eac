"""Baselines next to the project's linkage, on the same run's data, scored like `vaxclean.evaluate`.

    python -m vaxclean.linkage.baselines --scenario DIR --warehouse DIR

(a) `plain_splink`: Splink on the platform records' raw fields (the newest served version as typed: no
    NFC, no name key, no date parsing beyond the text, no ID/phone repair), default-ish comparisons
    (Jaro-Winkler name, exact birth date text, gender, commune, phone), trained the same way as the
    project's model (u by random sampling, m by EM) and credited at match probability >= 0.95.
(b) `exact_match`: every record whose reported ID (digits only) names a citizen (ID or old ID) with the
    same full name, birth date and gender.
(c) `project`: the published (or built) dose_reconciliation.
Precision = right credits / credits; recall = right credits / records with a true citizen that are
neither duplicates nor borrowed identities (for (a), and `project_platform`, platform records only).
Prints one JSON object. Reads the scenario's truth (an evaluation tool, never part of a run).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import duckdb

CREDIT_THRESHOLD = 0.95


def _scores(con: duckdb.DuckDBPyConnection, credits: str, source_filter: str = "true") -> dict:
    """`credits`: a table (source, source_record_id, citizen_id) of credited records."""
    credits_n, right, base, hits = con.execute(f"""
        with scored as (
            select t.*, c.citizen_id, c.citizen_id is not null as is_credited
            from truth as t
            left join {credits} as c using (source, source_record_id)
            where {source_filter}
        )
        select
            count(*) filter (where is_credited),
            count(*) filter (where is_credited and citizen_id = true_citizen_id),
            count(*) filter (where true_citizen_id is not null and duplicate_of_record_id is null and not is_borrowed),
            count(*) filter (where true_citizen_id is not null and duplicate_of_record_id is null and not is_borrowed
                             and citizen_id = true_citizen_id)
        from scored
    """).fetchall()[0]
    precision = round(right / credits_n, 5) if credits_n else None
    recall = round(hits / base, 5) if base else None
    f1 = round(2 * precision * recall / (precision + recall), 5) if precision and recall else None
    return {"credits": credits_n, "right_credits": right, "precision": precision, "recall_base": base,
            "recall": recall, "f1": f1}


def _load_truth(con: duckdb.DuckDBPyConnection, scenario: Path) -> None:
    con.execute(f"""
        create table truth as
        select source, source_record_id, nullif(true_citizen_id, '') as true_citizen_id,
               nullif(duplicate_of_record_id, '') as duplicate_of_record_id,
               list_contains(string_split(coalesce(tags, ''), ';'), 'borrowed_identity') as is_borrowed
        from read_csv('{scenario / "truth" / "doses.csv"}', all_varchar = true, header = true)
        where not list_contains(string_split(coalesce(tags, ''), ';'), 'tombstoned')
    """)


def plain_splink(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> tuple[str, float]:
    """Baseline (a); returns the credits table name and the seconds it took."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.monotonic()
    con.execute(f"""
        create table plain_left as
        select record_id as unique_id,
               json_extract_string(payload, '$.full_name') as full_name,
               json_extract_string(payload, '$.date_of_birth') as date_of_birth,
               json_extract_string(payload, '$.gender') as gender,
               json_extract_string(payload, '$.commune_code') as commune_code,
               json_extract_string(payload, '$.phone') as phone
        from read_parquet('{raw_dir}/platform_immunizations/**/*.parquet', union_by_name = true)
        qualify row_number() over (partition by record_id order by updated_at desc) = 1
            and not coalesce(deleted, false)
    """)
    con.execute("""
        create table plain_right as
        select citizen_id as unique_id, full_name, strftime(date_of_birth, '%d/%m/%Y') as date_of_birth,
               case gender when 'male' then 'Nam' when 'female' then 'Nữ' end as gender, commune_code, phone
        from wh.staging.stg_population__citizens
    """)
    n_right = con.execute("select count(*) from plain_right").fetchall()[0][0]
    settings = SettingsCreator(
        link_type="link_only",
        probability_two_random_records_match=1.0 / n_right,
        comparisons=[
            cl.JaroWinklerAtThresholds("full_name", [0.95, 0.88]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("date_of_birth"),
            cl.ExactMatch("gender"),
            cl.ExactMatch("commune_code"),
            cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("date_of_birth"), block_on("full_name"), block_on("phone"),
        ],
    )
    db_api = DuckDBAPI(connection=con)
    linker = Linker([db_api.register("plain_left", dataset_display_name="records"),
                     db_api.register("plain_right", dataset_display_name="citizens")], settings,
                    log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=42)
    for rule in (block_on("date_of_birth"), block_on("full_name"), block_on("phone")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=CREDIT_THRESHOLD, warning_mode="never")
    con.execute(f"""
        create table plain_credits as
        select 'platform' as source,
               case when source_dataset_l = 'records' then unique_id_l else unique_id_r end as source_record_id,
               arg_max(case when source_dataset_l = 'records' then unique_id_r else unique_id_l end, match_weight)
                   as citizen_id
        from {predictions.physical_name}
        group by all
    """)
    return "plain_credits", time.monotonic() - started


def exact_match(con: duckdb.DuckDBPyConnection) -> str:
    con.execute("""
        create table exact_credits as
        select r.source, r.source_record_id, any_value(c.citizen_id) as citizen_id
        from wh.intermediate.int_dose_records_unioned as r
        inner join wh.staging.stg_population__citizens as c
            on (c.citizen_id = r.id_digits or c.old_id_number = r.id_digits)
            and c.full_name = r.full_name and c.date_of_birth = r.date_of_birth and c.gender = r.gender
        where not r.is_dob_year_only
        group by all
    """)
    return "exact_credits"


def project(con: duckdb.DuckDBPyConnection) -> str:
    con.execute("""
        create table project_credits as
        select source, source_record_id, citizen_id
        from wh.marts.dose_reconciliation
        where match_status in ('verified', 'corrected', 'probable')
    """)
    return "project_credits"


def run(scenario: Path, warehouse: Path) -> dict:
    con = duckdb.connect()
    con.execute(f"attach '{warehouse / 'warehouse.duckdb'}' as wh (read_only)")
    _load_truth(con, scenario)
    plain, plain_seconds = plain_splink(con, warehouse / "raw")
    result = {
        "scenario": str(scenario),
        "project": _scores(con, project(con)),
        "project_platform": _scores(con, "project_credits", "t.source = 'platform'"),
        "plain_splink_platform": _scores(con, plain, "t.source = 'platform'") | {"seconds": round(plain_seconds, 1)},
        "exact_match": _scores(con, exact_match(con)),
    }
    con.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vaxclean.linkage.baselines", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--warehouse", required=True, type=Path, help="warehouse dir of a run on that scenario")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.scenario.resolve(), args.warehouse.resolve()), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
