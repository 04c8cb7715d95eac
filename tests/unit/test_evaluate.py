"""The scorer itself: a hand-made truth and mart with known right and wrong answers."""

from __future__ import annotations

import json

import duckdb
import pytest

from vaxclean.evaluate import evaluate, main

TRUTH = """source,source_record_id,true_citizen_id,recorded_citizen_id,duplicate_of_source,duplicate_of_record_id,tags
platform,p1,C1,C1,,,clean
platform,p2,C2,C2,,,id_leading_zero_lost
platform,p3,C3,C3,,,id_missing;nfd
site_batch,S/a.csv#1,C1,C1,platform,p1,late_batch;rekeyed_duplicate
platform,p5,C5,C6,,,borrowed_identity
platform,p6,,,,,migrant
platform,p7,C7,C7,,,tombstoned
"""

MART = [
    # source, id, citizen, status, issues, dup_src, dup_id
    ("platform", "p1", "C1", "verified", [], None, None),
    ("platform", "p2", "C2", "corrected", ["id_leading_zero_lost"], None, None),
    ("platform", "p3", "C9", "probable", ["missing_id"], None, None),  # wrong credit
    ("site_batch", "S/a.csv#1", "C1", "duplicate", [], "platform", "p1"),
    ("platform", "p5", None, "needs_review", ["suspected_borrowed_identity"], None, None),
    ("platform", "p6", None, "unmatched", ["missing_id"], None, None),
]


@pytest.fixture
def scored(tmp_path):
    scenario, warehouse = tmp_path / "s", tmp_path / "w"
    (scenario / "truth").mkdir(parents=True)
    (scenario / "truth" / "doses.csv").write_text(TRUTH)
    (warehouse / "published").mkdir(parents=True)
    with duckdb.connect(str(warehouse / "published" / "marts.duckdb")) as con:
        # the file is named marts.duckdb: its catalog and the schema are both "marts"
        con.execute("create schema marts")
        con.execute("""create table marts.marts.dose_reconciliation (source varchar, source_record_id varchar,
            citizen_id varchar, match_status varchar, issues varchar[], duplicate_of_source varchar,
            duplicate_of_record_id varchar)""")
        con.executemany("insert into marts.marts.dose_reconciliation values (?, ?, ?, ?, ?, ?, ?)", MART)
        con.execute("create table marts.marts.complaint_tracking (source varchar, ticket_id varchar)")
    return scenario, warehouse


def test_precision_recall_and_catches(scored):
    result = evaluate(*scored)
    doses = result["doses"]
    assert doses["credits"] == 3 and doses["right_credits"] == 2
    assert doses["precision"] == pytest.approx(2 / 3, abs=1e-4)
    # recall base: p1, p2, p3 (not the duplicate, not the borrowed, not the migrant, not the tombstone)
    assert doses["recall_base"] == 3 and doses["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert doses["recall_by_tag"]["nfd"]["recall"] == 0.0
    assert doses["recall_by_tag"]["id_leading_zero_lost"]["recall"] == 1.0
    assert doses["truth_records_missing_from_mart"] == 0
    assert result["duplicates"]["caught"] == 1 and result["duplicates"]["false_duplicates"] == 0
    assert result["borrowed_identities"]["caught_rate"] == 1.0


def test_cli_prints_one_json_object(scored, capsys):
    scenario, warehouse = scored
    assert main(["--scenario", str(scenario), "--warehouse", str(warehouse)]) == 0
    assert json.loads(capsys.readouterr().out)["doses"]["credits"] == 3


def test_missing_marts_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "doses.csv").write_text(TRUTH)
    assert main(["--scenario", str(tmp_path), "--warehouse", str(tmp_path / "none")]) == 2
    assert "make run" in capsys.readouterr().err
