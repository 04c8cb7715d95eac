"""Complaints arriving between two builds: the dose evidence complaint_tracking weighs
(int_complaint_doses_collected) is kept incrementally with the dose chain, so an incremental build must
add every record of a citizen a complaint names for the first time (credited to them or only suggesting
them) and drop the records of a citizen no complaint names any more. The incremental build equals a full
build of the same raw layer."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pytest

from vaxclean.transform.dbt import run_dbt

PEOPLE, SEED = 1500, 29
ARRIVING = dt.datetime(2022, 12, 30, tzinfo=dt.UTC)  # after every version of the generated history
AT = "2022-12-30T08:00:00Z"




def _ticket(template: dict, ticket_id: str, citizen_id: str) -> dict:
    history = [{"status": "received", "at": AT, "unit": "Cổng tiếp nhận phản ánh - Sở Y tế Thái Nguyên"}]
    return {**template, "ticket_id": ticket_id, "id_number": citizen_id, "received_at": AT, "updated_at": AT,
            "category": "missing_dose", "description": "Tôi đã tiêm nhưng chưa được cập nhật.",
            "status": "received", "status_history": history, "assigned_unit": None}


@pytest.fixture(scope="module")
def complaints(tmp_path_factory, monkeypatch_module, extract_and_load):
    from vaxclean.scenario import generate

    base = tmp_path_factory.mktemp("complaints")
    scenario, warehouse = base / "scenario", base / "warehouse"
    generate(scenario, people=PEOPLE, seed=SEED)
    monkeypatch_module.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    monkeypatch_module.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    extract_and_load(scenario, warehouse / "raw", dt.datetime(2020, 1, 1, tzinfo=dt.UTC), ARRIVING)
    run_dbt(["build"], warehouse_dir=warehouse)

    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        unnamed = "citizen_id not in (select citizen_id from marts.complaint_tracking where citizen_id is not null)"
        # a citizen only suggested by a record (needs_review / duplicate: candidate_citizen_id, no citizen_id)
        (suggested,) = con.execute(
            f"select min(candidate_citizen_id) from intermediate.int_dose_records_sequenced "
            f"where citizen_id is null and {unnamed.replace('citizen_id', 'candidate_citizen_id', 1)}").fetchone()
        credited = [r[0] for r in con.execute(
            f"select citizen_id from marts.person_vaccination where {unnamed} and citizen_id <> ? "
            f"order by citizen_id limit 3", [suggested]).fetchall()]
        # a portal ticket whose citizen (with dose records) no other complaint names
        (moved, dropped) = con.execute(
            "select any_value(ticket_id), citizen_id from marts.complaint_tracking "
            "where source = 'portal' and citizen_id is not null and len(linked_record_ids) > 0 "
            "group by citizen_id having count(*) = 1 order by citizen_id limit 1").fetchone()
        before = con.execute("select count(*) from intermediate.int_complaint_doses_collected "
                             "where linked_citizen_id = ?", [dropped]).fetchone()[0]
    assert suggested is not None and before > 0

    tickets = scenario / "feedback" / "tickets.jsonl"
    versions = [json.loads(line) for line in tickets.read_text(encoding="utf-8").splitlines() if line.strip()]
    template = versions[0]
    newest = {v["ticket_id"]: v for v in sorted(versions, key=lambda v: v["updated_at"])}
    arriving = [_ticket(template, f"PAKN-2212-90000{i}", citizen) for i, citizen in enumerate([*credited[:2], suggested])]
    # a new version of an existing ticket naming another citizen (the ID corrected by the caller)
    arriving.append({**newest[moved], "id_number": credited[2], "updated_at": AT})
    with tickets.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in arriving)
    # only the tickets that arrived: no dose record changes (the chain's scopes stay empty)
    extract_and_load(scenario, warehouse / "raw", ARRIVING, ARRIVING + dt.timedelta(days=1), ("tickets",),
                     load_files=False)
    # the build record vaxclean.build passes: this build continues the first one
    run_dbt(["build"], warehouse_dir=warehouse, vars={"build": {"incremental": True}})

    full = base / "full"
    shutil.copytree(warehouse / "raw", full / "raw")
    run_dbt(["build", "--full-refresh"], warehouse_dir=full)
    return {"warehouse": warehouse, "full": full, "named": [*credited, suggested], "dropped": dropped,
            "moved": moved}


def test_the_evidence_of_newly_named_citizens_is_collected_and_of_unnamed_ones_dropped(complaints):
    with duckdb.connect(str(complaints["warehouse"] / "warehouse.duckdb"), read_only=True) as con:
        # the chain continued the first build (its models kept their re-derived rows: none)
        (incremental,) = con.execute("select count(*) = 1 from duckdb_tables() "
                                     "where table_name = 'int_dose_records_sequenced__rederived'").fetchone()
        (rederived,) = con.execute("select count(*) from intermediate.int_dose_scopes_sequenced").fetchone()
        collected = dict(con.execute("select linked_citizen_id, count(*) from intermediate.int_complaint_doses_collected "
                                     "group by all").fetchall())
        linked = dict(con.execute("select ticket_id, len(linked_record_ids) from marts.complaint_tracking "
                                  "where ticket_id like 'PAKN-2212-9%' or ticket_id = ?", [complaints["moved"]]).fetchall())
    assert incremental and rederived == 0  # the records come from the complaint side alone
    assert all(collected.get(citizen, 0) > 0 for citizen in complaints["named"])
    assert complaints["dropped"] not in collected
    assert len(linked) == 4 and all(n > 0 for n in linked.values())


def test_the_incremental_build_after_new_complaints_equals_a_full_build(complaints, compare_builds):
    tables, incremental_tables, differences = compare_builds(complaints["warehouse"] / "warehouse.duckdb",
                                                             complaints["full"] / "warehouse.duckdb")
    assert "intermediate.int_complaint_doses_collected" in tables and tables == incremental_tables
    assert differences == {}
