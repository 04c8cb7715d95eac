"""dbt build on the small raw fixture: the correction history, the complaint SLA and fix detection, and the
province summary (the marts of the correction loop and the province's KPIs)."""

from __future__ import annotations

import dbt_raw_fixture as fixture  # noqa: E402  (put on sys.path by conftest.py)
import duckdb


def test_every_police_return_row_is_kept_with_who_when_and_which_file(marts: duckdb.DuckDBPyConnection) -> None:
    rows = {r[0]: r[1:] for r in marts.execute(
        "select source_record_id, outcome, police_result, police_verifier, police_verified_on, file_path, is_current "
        "from marts.worklist_verification_history").fetchall()}
    assert rows[fixture.DOSE_TWIN_RETURNED[1]][:2] == ("applied", "corrected")
    assert rows[fixture.DOSE_NOT_FOUND[1]][:2] == ("returned", "not_found")
    assert rows[fixture.DOSE_NOT_RESIDENT[1]][:2] == ("applied", "not_resident")
    assert all(r[2] and r[3] and r[4].startswith("police_returns/") and r[5] for r in rows.values())
    worklist = dict(marts.execute(
        "select source_record_id, police_return_file from marts.commune_worklist where status <> 'open'").fetchall())
    assert worklist[fixture.DOSE_TWIN_RETURNED[1]] == rows[fixture.DOSE_TWIN_RETURNED[1]][4].rsplit("/", 1)[1]


def test_complaint_sla_comes_from_the_category_seed(marts: duckdb.DuckDBPyConnection) -> None:
    wrong = marts.execute(
        "select count(*) from marts.complaint_tracking c join reference.ref_complaint_sla s using (category) "
        "where c.sla_days <> s.sla_days or c.sla_due_at <> c.received_at + to_days(s.sla_days)").fetchone()[0]
    assert wrong == 0
    fixed_early = marts.execute(
        "select count(*) from marts.complaint_tracking where data_fix_detected_at < received_at").fetchone()[0]
    assert fixed_early == 0


def test_province_row_is_the_sum_of_its_districts_plus_the_unplaced(marts: duckdb.DuckDBPyConnection) -> None:
    province, districts = marts.execute("""
        select
            (select doses_received from marts.kpi_province_summary where level = 'province'),
            (select sum(doses_received) from marts.kpi_province_summary where level = 'district')
    """).fetchone()
    total, placed = marts.execute(
        "select count(*), count(district_code) from marts.dose_reconciliation").fetchone()
    assert province == total and districts == placed
    backlog = marts.execute(
        "select worklist_backlog from marts.kpi_province_summary where level = 'province'").fetchone()[0]
    assert backlog == marts.execute(
        "select count(*) from marts.commune_worklist where status in ('open', 'returned', 'rejected')").fetchone()[0]
