"""End to end, the correction loop of one commune: build a small generated scenario with the pipeline's own
functions (simulator APIs, landing loaders, dbt, publish) → export the commune worklists → the police fill
one in (openpyxl: `điều chỉnh` with the true identity from the scenario's truth) and drop it in
`<landing>/police_returns/<commune>/` → the next build credits those doses as `corrected` to the verified
citizens, moves the worklist items to `applied`, and records who verified them, when and from which file."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest

from vaxclean.transform.dbt import run_dbt
from vaxclean.worklists import export_worklists, export_write_back
from vaxclean.worklists.labels import HEADERS, POLICE_RESULTS

PEOPLE, SEED = 1500, 23
FILLED = 4  # at most; the scenario decides how many open cases truth can name (at least 2)
VERIFIER, VERIFIED_ON = "Công an xã (kiểm thử)", "20/09/2022"


def _build(warehouse: Path, scenario: Path, run_id: str, extract_and_load, *, incremental: bool = False) -> dict:
    from vaxclean.publish import publish

    extract_and_load(scenario, warehouse / "raw", dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                     dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    # the build record vaxclean.build passes (dbt_project/macros/dose_chain.sql): continue the previous build
    run_dbt(["build"], warehouse_dir=warehouse, vars={"build": {"incremental": incremental}})
    return publish(warehouse_dir=warehouse, run_id=run_id, run_info={})


def _marts(warehouse: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{warehouse / 'published' / 'marts.duckdb'}' as pub (read_only)")
    return con


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory, monkeypatch_module, extract_and_load):
    from vaxclean.scenario import generate

    base = tmp_path_factory.mktemp("police")
    scenario, warehouse = base / "scenario", base / "warehouse"
    generate(scenario, people=PEOPLE, seed=SEED)
    monkeypatch_module.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    monkeypatch_module.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    _build(warehouse, scenario, "first", extract_and_load)
    published = warehouse / "published"
    exported = export_worklists(warehouse_dir=warehouse, marts_db=published / "marts.duckdb", out_dir=published)

    truth = {(r["source"], r["source_record_id"]): r
             for r in csv.DictReader(open(scenario / "truth" / "doses.csv", encoding="utf-8"))}
    # the police of each commune verify the open cases that truth can name (a resident's dose, not a
    # duplicate), up to FILLED in all, each commune returning its own file
    filled: dict[tuple[str, str], str] = {}
    returned: dict[tuple[str, str], Path] = {}
    for path in sorted((published / "worklists").glob("*/*.xlsx")):
        commune = path.stem
        book = openpyxl.load_workbook(path)
        sheet = book.worksheets[0]
        header = [c.value for c in sheet[1]]
        col = {name: header.index(name) + 1 for name in header}
        target = scenario / "police_returns" / commune / f"tra_ve_{commune}_20220920.xlsx"
        for row in range(2, sheet.max_row + 1):
            key = (sheet.cell(row, col["Nguồn"]).value, sheet.cell(row, col["Mã bản ghi"]).value)
            t = truth.get(key)
            if len(filled) == FILLED or not t or not t["true_citizen_id"] or t["duplicate_of_record_id"]:
                continue
            sheet.cell(row, col["Kết quả xác minh"]).value = "điều chỉnh"
            sheet.cell(row, col["Số định danh xác minh"]).value = t["true_citizen_id"]
            sheet.cell(row, col["Cán bộ xác minh"]).value = VERIFIER
            sheet.cell(row, col["Ngày xác minh"]).value = VERIFIED_ON
            filled[key], returned[key] = t["true_citizen_id"], target
        if any(p == target for p in returned.values()):
            target.parent.mkdir(parents=True, exist_ok=True)
            book.save(target)
        if len(filled) == FILLED:
            break
    assert len(filled) >= 2, "the scenario should leave open cases for the police to verify"
    hostile = _hostile_return(warehouse, scenario, next(iter(returned.values())))
    intruded = _newer_return_from_another_commune(scenario, next(iter(returned.values())), next(iter(returned)))

    con = _marts(warehouse)
    before = {key: con.execute("select match_status from pub.marts.dose_reconciliation where source = ? "
                               "and source_record_id = ?", list(key)).fetchone()[0] for key in filled}
    hostile_before = {key: con.execute("select match_status, citizen_id from pub.marts.dose_reconciliation "
                                       "where source = ? and source_record_id = ?", list(key)).fetchone()
                      for key in hostile}
    con.close()
    # incremental: the chain re-derives the returned records' scope
    _build(warehouse, scenario, "second", extract_and_load, incremental=True)
    write_back = export_write_back(warehouse_dir=warehouse, out_dir=published, include_keys=True)
    # the same raw layer built from scratch, to compare with the incremental second build
    full = base / "full"
    shutil.copytree(warehouse / "raw", full / "raw")
    run_dbt(["build", "--full-refresh"], warehouse_dir=full)
    return {"warehouse": warehouse, "filled": filled, "before": before, "exported": exported, "returned": returned,
            "write_back": write_back, "scenario": scenario, "full": full, "hostile": hostile,
            "hostile_before": hostile_before, "intruded": intruded}


def _hostile_return(warehouse: Path, scenario: Path, template: Path) -> dict[tuple[str, str], str]:
    """The integrity issue's attack: a return dropped in one commune's folder naming two verified doses
    reported in another commune (không thường trú; điều chỉnh to an unrelated citizen), and a verified dose of
    its own commune corrected to an unrelated citizen. Returns {key: the reason it must be refused for}."""
    commune = template.parent.name
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        verified = ("select u.source, u.source_record_id from intermediate.int_dose_records_unioned as u "
                    "inner join marts.dose_reconciliation as d using (source, source_record_id) "
                    "where d.match_status = 'verified' and u.source = 'platform' and {} order by all limit {}")
        others = con.execute(verified.format("u.commune_code <> ?", 2), [commune]).fetchall()
        own = con.execute(verified.format("u.commune_code = ?", 1), [commune]).fetchall()
        stranger = con.execute("select citizen_id from marts.person_vaccination where commune_code <> ? "
                               "order by citizen_id desc limit 1", [commune]).fetchone()[0]
    assert len(others) == 2 and len(own) == 1
    book = openpyxl.load_workbook(template)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    sheet.delete_rows(2, sheet.max_row)
    rows = [(others[0], "không thường trú", None), (others[1], "điều chỉnh", stranger), (own[0], "điều chỉnh", stranger)]
    for (source, record_id), result, verified_id in rows:
        values = {"Nguồn": source, "Mã bản ghi": record_id, "Kết quả xác minh": result,
                  "Số định danh xác minh": verified_id, "Cán bộ xác minh": VERIFIER, "Ngày xác minh": "21/09/2022"}
        sheet.append([values.get(name) for name in header])
    target = scenario / "police_returns" / commune / f"tra_ve_{commune}_bo_sung.xlsx"
    book.save(target)
    return {tuple(others[0]): "returned_by_another_commune", tuple(others[1]): "returned_by_another_commune",
            tuple(own[0]): "identity_does_not_match"}


def _newer_return_from_another_commune(scenario: Path, template: Path, key: tuple[str, str]) -> tuple[str, str]:
    """A later return of a record already verified by its own commune, dropped in another commune's folder
    by another officer: refused, and the record's worklist row must keep showing the applied return."""
    commune = template.parent.name
    other = next(p.name for p in sorted((scenario / "police_returns").iterdir()) if p.is_dir() and p.name != commune)
    book = openpyxl.load_workbook(template)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    sheet.delete_rows(2, sheet.max_row)
    values = {"Nguồn": key[0], "Mã bản ghi": key[1], "Kết quả xác minh": "không thường trú",
              "Cán bộ xác minh": "Công an xã khác", "Ngày xác minh": "22/09/2022"}
    sheet.append([values.get(name) for name in header])
    book.save(scenario / "police_returns" / other / f"tra_ve_{other}_nham.xlsx")
    return key


def test_a_refused_newer_return_does_not_show_beside_the_applied_one(round_trip):
    """commune_worklist's police columns, file and status come from one return: the applied one, not a newer
    refused one from another commune's folder."""
    key = round_trip["intruded"]
    con = _marts(round_trip["warehouse"])
    row = con.execute("select status, police_result, police_verifier, police_verified_on, police_return_file, "
                      "police_return_count from pub.marts.commune_worklist where source = ? and source_record_id = ?",
                      list(key)).fetchone()
    assert row == ("applied", "điều chỉnh", VERIFIER, dt.date(2022, 9, 20), round_trip["returned"][key].name, 2)
    history = con.execute("select outcome, rejection_reason, is_current, police_verifier from "
                          "pub.marts.worklist_verification_history where source = ? and source_record_id = ? "
                          "order by return_sequence", list(key)).fetchall()
    assert history == [("applied", None, True, VERIFIER),
                       ("rejected", "returned_by_another_commune", False, "Công an xã khác")]


def test_a_hostile_return_changes_nothing_and_says_why_it_was_refused(round_trip):
    con = _marts(round_trip["warehouse"])
    for key, reason in round_trip["hostile"].items():
        now = con.execute("select match_status, citizen_id from pub.marts.dose_reconciliation "
                          "where source = ? and source_record_id = ?", list(key)).fetchone()
        assert now == round_trip["hostile_before"][key], key
        history = con.execute("select outcome, rejection_reason, is_current from pub.marts.worklist_verification_history "
                              "where source = ? and source_record_id = ?", list(key)).fetchall()
        assert history == [("rejected", reason, True)], key


def _worklist_path(round_trip, key) -> Path:
    commune = round_trip["returned"][key].parent.name
    return next((round_trip["warehouse"] / "published" / "worklists").glob(f"*/{commune}.xlsx"), Path("/missing"))


def test_worklist_files_carry_the_return_keys_and_verification_columns(round_trip):
    returned = next(iter(round_trip["returned"].values()))
    sheet = openpyxl.load_workbook(returned).worksheets[0]
    assert [c.value for c in sheet[1]] == list(HEADERS)
    assert sheet.freeze_panes == "D2"
    rules = [dv for dv in sheet.data_validations.dataValidation if dv.type == "list"]
    assert any(all(r in (dv.formula1 or "") for r in POLICE_RESULTS) for dv in rules)
    assert round_trip["exported"]["files"] >= 1


def test_returned_doses_are_credited_as_corrected_to_the_verified_citizen(round_trip):
    assert all(status in ("needs_review", "unmatched") for status in round_trip["before"].values())
    con = _marts(round_trip["warehouse"])
    for (source, record_id), citizen_id in round_trip["filled"].items():
        status, credited = con.execute(
            "select match_status, citizen_id from pub.marts.dose_reconciliation where source = ? and source_record_id = ?",
            [source, record_id]).fetchone()
        assert (status, credited) == ("corrected", citizen_id)


def test_worklist_items_are_applied_and_the_history_says_who_when_and_from_which_file(round_trip):
    con = _marts(round_trip["warehouse"])
    for source, record_id in round_trip["filled"]:
        if (source, record_id) == round_trip["intruded"]:  # two returns: test_a_refused_newer_return_...
            continue
        status, result, verifier, file_name = con.execute(
            "select status, police_result, police_verifier, police_return_file from pub.marts.commune_worklist "
            "where source = ? and source_record_id = ?", [source, record_id]).fetchone()
        returned = round_trip["returned"][(source, record_id)]
        assert (status, result, verifier, file_name) == ("applied", "điều chỉnh", VERIFIER, returned.name)
        history = con.execute(
            "select outcome, police_verifier, police_verified_on, file_path, is_current "
            "from pub.marts.worklist_verification_history where source = ? and source_record_id = ?",
            [source, record_id]).fetchall()
        relative = returned.relative_to(round_trip["scenario"]).as_posix()
        assert history == [("applied", VERIFIER, dt.date(2022, 9, 20), relative, True)]


def test_the_next_worklist_no_longer_lists_the_applied_cases(round_trip):
    warehouse = round_trip["warehouse"]
    published = warehouse / "published"
    export_worklists(warehouse_dir=warehouse, marts_db=published / "marts.duckdb", out_dir=published)
    for key in round_trip["filled"]:
        path = _worklist_path(round_trip, key)
        listed = set()
        if path.exists():
            sheet = openpyxl.load_workbook(path).worksheets[0]
            listed = {(r[1], r[2]) for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert key not in listed


def test_write_back_lists_the_corrected_identity(round_trip):
    published = round_trip["warehouse"] / "published" / "write_back"
    rows = {}
    for path in published.glob("*/*.csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                rows[(r["Nguồn"], r["Mã bản ghi"])] = r["Số CMND/CCCD"]
    for key, citizen_id in round_trip["filled"].items():
        assert rows[key] == citizen_id


def test_the_incremental_build_after_the_returns_equals_a_full_build(round_trip, compare_builds):
    incremental_db = round_trip["warehouse"] / "warehouse.duckdb"
    with duckdb.connect(str(incremental_db), read_only=True) as con:  # the second build continued the first
        rederived = {k for (k,) in con.execute("select dose_record_key from intermediate.int_dose_scopes_changed").fetchall()}
    assert {f"{source}/{record}" for source, record in round_trip["filled"]} <= rederived
    _, _, differences = compare_builds(incremental_db, round_trip["full"] / "warehouse.duckdb")
    assert differences == {}
