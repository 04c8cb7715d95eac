"""End to end: the README's `make run` path on a small generated scenario, through Airflow, the
simulator's APIs, the landing loaders, dbt, the gates and the publisher; asserts on the published
marts and on the scenario's ground truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

MARTS = ["dose_reconciliation", "person_vaccination", "commune_worklist", "complaint_tracking", "kpi_commune_daily"]


@pytest.fixture(scope="module")
def run(pipeline_run):
    """The README's `make run` path on a small generated scenario (tests/e2e/conftest.py: pipeline_run)."""
    return pipeline_run


def _pub(warehouse: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{warehouse / 'published' / 'marts.duckdb'}' as pub (read_only)")
    return con


def test_every_mart_is_published_as_duckdb_and_parquet(run):
    _, warehouse, stdout = run
    con = _pub(warehouse)
    for mart in MARTS:
        n = con.execute(f"select count(*) from pub.marts.{mart}").fetchone()[0]
        assert n > 0, mart
        parquet = warehouse / "published" / "parquet" / f"{mart}.parquet"
        assert con.execute(f"select count(*) from '{parquet}'").fetchone()[0] == n
    assert "Dose records per match status" in stdout and "marts.duckdb" in stdout and "bi.duckdb" in stdout


def test_every_live_dose_record_appears_exactly_once(run):
    scenario, warehouse, _ = run
    con = _pub(warehouse)
    missing, extra, twice = con.execute(f"""
        with truth as (
            select source, source_record_id from read_csv('{scenario}/truth/doses.csv', all_varchar=true)
            where not list_contains(string_split(coalesce(tags, ''), ';'), 'tombstoned')
        ), mart as (select source, source_record_id from pub.marts.dose_reconciliation)
        select (select count(*) from (from truth except all from mart)),
               (select count(*) from (from mart except all from truth)),
               (select count(*) from (select source, source_record_id from mart group by all having count(*) > 1))
    """).fetchone()
    assert (missing, extra, twice) == (0, 0, 0)


def test_credits_are_precise_against_ground_truth(run):
    scenario, warehouse, _ = run
    out = subprocess.run([sys.executable, "-m", "vaxclean.evaluate", "--scenario", str(scenario),
                          "--warehouse", str(warehouse)], capture_output=True, text=True, check=True).stdout
    scores = json.loads(out)
    assert scores["doses"]["precision"] >= 0.99
    assert scores["doses"]["recall"] >= 0.8
    assert scores["doses"]["truth_records_missing_from_mart"] == 0


def test_the_run_is_logged_in_the_published_file(run):
    _, warehouse, _ = run
    con = _pub(warehouse)
    assert con.execute("select count(*) from pub.ops.run_log").fetchone()[0] >= 1


def test_raw_intake_is_audited(run):
    _, warehouse, _ = run
    con = duckdb.connect()
    rows = con.execute(f"""
        select source, sum(received), sum(loaded), sum(quarantined)
        from read_parquet('{warehouse}/raw/load_audit/**/*.parquet', union_by_name=true) group by all
    """).fetchall()
    sources = {r[0] for r in rows}
    assert {"platform", "feedback", "site_batch", "hotline", "population"} <= sources
    for _source, received, loaded, quarantined in rows:
        assert received == loaded + quarantined
