"""Police returns (CSV with BOM, XLSX, extra columns, required headers) and hotline logs."""

from __future__ import annotations

import codecs
import json
from datetime import datetime

import xlsxwriter
from load_fixtures import csv_text, read_dir, write

from vaxclean.load import load_hotline, load_police_returns
from vaxclean.raw.layout import HOTLINE_HEADERS

POLICE_HEADER = ["Nguồn", "Mã bản ghi", "Họ và tên", "Kết quả xác minh", "Số định danh xác minh",
                 "Cán bộ xác minh", "Ngày xác minh"]


def test_police_returns_csv_with_bom_and_xlsx(dirs):
    landing, raw = dirs
    rows = [POLICE_HEADER, ["site_batch", "F01/a.csv#12", "Lý Thị Mai", "điều chỉnh", "019301000123",
                            "Đại úy Hà", "03/03/2022"]]
    write(landing / "police_returns" / "05434" / "ret.csv", codecs.BOM_UTF8 + csv_text(rows).encode())
    path = landing / "police_returns" / "05437" / "ret.xlsx"
    path.parent.mkdir(parents=True)
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, POLICE_HEADER)
    sheet.write_row(1, 0, ["platform", "R-991", "", "xác nhận"])
    sheet.write_number(1, 4, 19301000123)
    sheet.write_datetime(1, 6, datetime(2022, 3, 4), workbook.add_format({"num_format": "dd/mm/yyyy"}))
    workbook.close()

    counts = load_police_returns(landing, raw)

    assert (counts["files_loaded"], counts["rows_loaded"]) == (2, 2)
    by_commune = {r["_commune_code"]: r for r in read_dir(raw / "police_returns")}
    from_csv, from_xlsx = by_commune["05434"], by_commune["05437"]
    assert (from_csv["source"], from_csv["source_record_id"], from_csv["result"]) == (
        "site_batch", "F01/a.csv#12", "điều chỉnh")
    assert from_csv["verified_on"] == "03/03/2022" and from_csv["verified_full_name"] is None
    assert json.loads(from_csv["other_columns"]) == {"Họ và tên": "Lý Thị Mai"}
    assert from_xlsx["verified_id_number"] == "19301000123" and from_xlsx["verified_on"] == "2022-03-04"
    assert json.loads(from_xlsx["other_columns"]) == {"Họ và tên": None}


def test_police_return_without_a_required_header_is_quarantined(dirs):
    landing, raw = dirs
    header = [h for h in POLICE_HEADER if h != "Mã bản ghi"]
    write(landing / "police_returns" / "05434" / "bad.csv", csv_text([header, ["platform"] * len(header)]).encode())

    counts = load_police_returns(landing, raw)

    assert (counts["files_loaded"], counts["files_quarantined"]) == (0, 1)
    [reject] = read_dir(raw / "quarantine" / "police_return")
    assert "Mã bản ghi" in reject["reason"]


def test_a_police_return_row_without_its_record_key_is_quarantined_not_dropped(dirs):
    """A row whose Mã bản ghi is blank can apply to no record: it is quarantined with the reason, and the
    load's counts say so (received = loaded + quarantined)."""
    landing, raw = dirs
    rows = [POLICE_HEADER, ["platform", "R-1", "", "xác nhận", "", "Đại úy Hà", "03/03/2022"],
            ["platform", "  ", "Lý Thị Mai", "điều chỉnh", "019301000123", "Đại úy Hà", "03/03/2022"]]
    write(landing / "police_returns" / "05434" / "ret.csv", csv_text(rows).encode())

    counts = load_police_returns(landing, raw)

    assert (counts["rows_loaded"], counts["rows_quarantined"]) == (1, 1)
    [reject] = read_dir(raw / "quarantine" / "police_return")
    assert reject["reason"] == "no Mã bản ghi: the row cannot be applied" and reject["line_number"] == 3
    [audit] = read_dir(raw / "load_audit" / "police_return")
    assert (audit["received"], audit["loaded"], audit["quarantined"]) == (2, 1, 1)


def test_hotline_day_file_loads_with_multiline_content(dirs):
    landing, raw = dirs
    header = list(HOTLINE_HEADERS)
    call = ["HL-0001", "2022-01-05 08:30", "Vũ Văn An", "0987654321", "", "12/12/1960", "05434",
            "Tôi tiêm mũi 2 rồi\nnhưng chưa có trên ứng dụng", "", "received"]
    write(landing / "hotline" / "2022-01-05.csv", csv_text([header, call, call[:3]]).encode())

    counts = load_hotline(landing, raw)

    assert (counts["rows_loaded"], counts["rows_quarantined"]) == (1, 1)
    [row] = read_dir(raw / "hotline_calls")
    assert row["call_id"] == "HL-0001" and row["id_number"] is None and "\n" in row["description"]
    assert row["_file_name"] == "2022-01-05.csv" and row["_line_number"] == 2
    [reject] = read_dir(raw / "quarantine" / "hotline")
    assert reject["line_number"] == 4
