"""The commune worklist XLSX files and the write-back files, from tiny hand-made marts."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import openpyxl
import pytest

from vaxclean.worklists import export_worklists, export_write_back
from vaxclean.worklists.labels import HEADERS, POLICE_RESULTS, VERIFICATION_HEADERS, reason_text
from vaxclean.worklists.write_back import TEMPLATE_HEADERS
from vaxclean.worklists.xlsx import neutralise

WORKLIST_DDL = """
create table marts.commune_worklist (
    worklist_item_id varchar, province_code varchar, district_code varchar, commune_code varchar, source varchar,
    source_record_id varchar, reasons varchar[], full_name varchar, date_of_birth varchar, gender varchar,
    id_number varchar, phone varchar, candidate_citizen_id varchar, candidate_full_name varchar,
    candidate_date_of_birth date, candidate_gender varchar, candidate_score double, status varchar,
    police_result varchar, match_status varchar, vaccine varchar, vaccinated_on date, site_code varchar)
"""
CASES = [
    # key, district, commune, status, name, id typed
    ("IMM1", "164", "05434", "open", "=HYPERLINK(\"http://x\",\"bấm\")", "+84 912"),
    ("IMM2", "164", "05434", "returned", "Nguyễn Thị Lan", "019190001234"),
    ("IMM3", "164", "05431", "open", "Lò Văn Páo", "-1"),
    ("IMM4", "164", "05434", "applied", "Đã Xong", None),
    ("IMM5", None, None, "open", "@SUM(A1)", None),
]


@pytest.fixture
def marts_db(tmp_path: Path) -> Path:
    path = tmp_path / "published_marts.duckdb"  # (a file named marts.duckdb makes "marts" ambiguous)
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(WORKLIST_DDL)
    for rid, district, commune, status, name, id_number in CASES:
        con.execute(
            "insert into marts.commune_worklist values (md5('platform/' || ?), '19', ?, ?, 'platform', ?, "
            "['dob_mismatch', 'some_new_code'], ?, '1990', 'female', ?, null, '019190001234', 'Nguyễn Thị Lan', "
            "date '1990-03-04', 'female', 0.87, ?, null, 'needs_review', 'Pfizer', date '2021-09-01', 'TYT-05434')",
            [rid, district, commune, rid, name, id_number, status])
    con.close()
    return path


def _rows(path: Path) -> list[dict[str, object]]:
    sheet = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]


def test_one_file_per_commune_with_only_its_open_cases(tmp_path: Path, marts_db: Path) -> None:
    out = tmp_path / "published"
    summary = export_worklists(warehouse_dir=tmp_path, marts_db=marts_db, out_dir=out)
    assert (summary["files"], summary["cases"], summary["unrouted_cases"]) == (3, 4, 1)
    quang_vinh = _rows(out / "worklists" / "164" / "05434.xlsx")
    assert [r["Mã bản ghi"] for r in quang_vinh] == ["IMM1", "IMM2"]  # IMM4 is applied: nothing left to do
    assert [r["Mã bản ghi"] for r in _rows(out / "worklists" / "164" / "05431.xlsx")] == ["IMM3"]
    assert [r["Mã bản ghi"] for r in _rows(out / "worklists" / "_unrouted.xlsx")] == ["IMM5"]
    assert not list(out.rglob("*.tmp"))
    # names, birth dates, ID numbers: readable by the owner and the restricted group only
    assert {oct(p.stat().st_mode & 0o777) for p in (out / "worklists").rglob("*.xlsx")} == {"0o640"}


def test_sheet_layout_for_the_police(tmp_path: Path, marts_db: Path) -> None:
    out = tmp_path / "published"
    export_worklists(warehouse_dir=tmp_path, marts_db=marts_db, out_dir=out)
    sheet = openpyxl.load_workbook(out / "worklists" / "164" / "05434.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == list(HEADERS)
    assert header[-len(VERIFICATION_HEADERS):] == list(VERIFICATION_HEADERS)
    assert {"Nguồn", "Mã bản ghi", "Lý do"} <= set(header)
    assert sheet.freeze_panes == "D2"
    result_col = openpyxl.utils.get_column_letter(header.index("Kết quả xác minh") + 1)
    rules = {str(dv.sqref).split(":")[0]: dv for dv in sheet.data_validations.dataValidation}
    assert rules[f"{result_col}2"].type == "list"
    assert all(r in rules[f"{result_col}2"].formula1 for r in POLICE_RESULTS)
    row = _rows(out / "worklists" / "164" / "05434.xlsx")[1]
    assert row["Lý do"] == "Ngày sinh không khớp CSDL dân cư; some_new_code"
    assert row["Số định danh gợi ý"] == "019190001234"  # text: the leading zero stays
    assert row["Ngày sinh gợi ý"] == "04/03/1990" and row["Giới tính gợi ý"] == "Nữ"
    assert all(row[h] is None for h in VERIFICATION_HEADERS)
    assert sheet.column_dimensions["F"].width >= 10


def test_formula_injection_is_neutralised(tmp_path: Path, marts_db: Path) -> None:
    out = tmp_path / "published"
    export_worklists(warehouse_dir=tmp_path, marts_db=marts_db, out_dir=out)
    for path in (out / "worklists").rglob("*.xlsx"):
        for row in openpyxl.load_workbook(path).worksheets[0].iter_rows(min_row=2):
            assert all(cell.data_type != "f" for cell in row), path
    first = _rows(out / "worklists" / "164" / "05434.xlsx")[0]
    assert first["Họ và tên (khai báo)"] == "'=HYPERLINK(\"http://x\",\"bấm\")"
    assert first["Số CMND/CCCD (khai báo)"] == "'+84 912"
    assert _rows(out / "worklists" / "_unrouted.xlsx")[0]["Họ và tên (khai báo)"] == "'@SUM(A1)"
    assert _rows(out / "worklists" / "164" / "05431.xlsx")[0]["Số CMND/CCCD (khai báo)"] == "'-1"


def test_a_commune_with_nothing_left_loses_its_file(tmp_path: Path, marts_db: Path) -> None:
    out = tmp_path / "published"
    export_worklists(warehouse_dir=tmp_path, marts_db=marts_db, out_dir=out)
    con = duckdb.connect(str(marts_db))
    con.execute("update marts.commune_worklist set status = 'applied' where commune_code = '05431'")
    con.close()
    summary = export_worklists(warehouse_dir=tmp_path, marts_db=marts_db, out_dir=out)
    assert summary["stale_files_removed"] == 1
    assert not (out / "worklists" / "164" / "05431.xlsx").exists()


def test_neutralise_and_reason_text() -> None:
    assert [neutralise(v) for v in ("=1+1", "+1", "-1", "@A", "Lan", None, 5)] == [
        "'=1+1", "'+1", "'-1", "'@A", "Lan", None, "5"]
    assert reason_text(["suspected_borrowed_identity"]) == "Nghi dùng thông tin của người khác (mượn danh tính)"
    assert reason_text(None) == ""


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A warehouse with the rows of the dbt model exports.write_back_records (its contract's columns)."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema exports")
    con.execute("""create table exports.write_back_records as select * from (values
        ('platform', 'IMM1', '019190001234', 'Nguyễn Thị Lan', date '1990-03-04', false, 'female', '0987654321',
         '19', '164', '05434', 'Comirnaty (BNT162b2)', 'FK1234', 2, date '2021-10-01'),
        ('site_batch', 'NM-001/a.csv#3', '019045000111', '=Đặng Văn Đức', date '1945-01-01', true, 'male',
         '0912345678', '19', '164', '05431', 'AZ', 'A-77', 1, date '2021-07-01'))
        t(source, source_record_id, citizen_id, full_name, date_of_birth, is_birth_year_only, gender, phone,
          province_code, district_code, commune_code, vaccine, lot_number, dose_number, vaccinated_on)""")
    con.close()
    return tmp_path


def test_write_back_in_the_import_template(warehouse: Path) -> None:
    out = warehouse / "published"
    summary = export_write_back(warehouse_dir=warehouse, out_dir=out)
    assert (summary["files"], summary["records"]) == (2, 2)
    path = out / "write_back" / "164" / "05434.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(TEMPLATE_HEADERS)
    assert rows[1] == ["1", "Nguyễn Thị Lan", "04/03/1990", "Nữ", "0987654321", "019190001234", "", "19", "164",
                       "05434", "", "Comirnaty (BNT162b2)", "FK1234", "2", "01/10/2021"]
    with open(out / "write_back" / "164" / "05431.csv", encoding="utf-8-sig", newline="") as f:
        duc = list(csv.DictReader(f))[0]
    assert (duc["Họ và tên"], duc["Ngày sinh"], duc["Tên vắc xin"], duc["Mũi tiêm"]) == ("'=Đặng Văn Đức", "1945", "AZ", "1")


def test_write_back_as_xlsx_with_keys(warehouse: Path) -> None:
    out = warehouse / "published"
    export_write_back(warehouse_dir=warehouse, out_dir=out, fmt="xlsx", include_keys=True)
    sheet = openpyxl.load_workbook(out / "write_back" / "164" / "05434.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == [*TEMPLATE_HEADERS, "Nguồn", "Mã bản ghi"]
    row = [c.value for c in sheet[2]]
    assert row[5] == "019190001234" and row[-2:] == ["platform", "IMM1"]
    with pytest.raises(ValueError):
        export_write_back(warehouse_dir=warehouse, out_dir=out, fmt="pdf")


def test_dates_in_the_sheet_are_day_month_year() -> None:
    from vaxclean.worklists.export import _dmy

    assert _dmy(dt.date(2021, 9, 1)) == "01/09/2021" and _dmy(None) is None
