"""The commune worklist files: one XLSX per commune for the health station and the commune police.

`export_worklists` reads `marts.commune_worklist` from the published marts file and writes
`<out>/worklists/<district_code>/<commune_code>.xlsx` with the commune's own cases only (status open,
returned or rejected: what still needs a verification), and `<out>/worklists/_unrouted.xlsx` with the
cases no commune could be found for (for the province). Each file is written to a temporary name and
renamed, so a reader never sees half a file; files of communes that have nothing left are removed.

Sheet 1 (`Danh sách xác minh`, the one the police return): a frozen header row of Vietnamese headers
(`Nguồn` and `Mã bản ghi` key a returned row, sources.md §6), the reported fields, the suggested
candidate, the reasons in plain Vietnamese, and the blank verification columns, typed as text (an ID
keeps its leading zero, a date stays as typed), with dropdowns for the result and the gender.
Sheet 2 (`Hướng dẫn`): how to fill it in. Every value is written as a string cell, and one a
spreadsheet could take for a formula (starting with = + - @) is prefixed with `'`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from vaxclean.worklists.labels import (
    CASE_COLUMNS,
    GENDER_VI,
    GENDERS_VI,
    HEADERS,
    POLICE_RESULTS,
    RESULT_HEADER,
    STATUS_VI,
    VERIFICATION_HEADERS,
    reason_text,
)
from vaxclean.worklists.xlsx import atomic_path, neutralise

log = logging.getLogger(__name__)

EXPORTED_STATUSES = ("open", "returned", "rejected")
UNROUTED_FILE = "_unrouted.xlsx"
SHEET_NAME = "Danh sách xác minh"
# Key columns are system identifiers: written verbatim (as string cells) so that a returned row keys back.
KEY_HEADERS = ("Nguồn", "Mã bản ghi", "Mã mục")
MAX_WIDTH = 45
INSTRUCTIONS = (
    "Danh sách các mũi tiêm cần xác minh danh tính của xã/phường.",
    "Mỗi dòng là một bản ghi mũi tiêm; không sửa, không xóa các cột Nguồn và Mã bản ghi.",
    "Cột Kết quả xác minh: chọn một trong " + ", ".join(f"'{r}'" for r in POLICE_RESULTS) + ".",
    "'điều chỉnh': ghi đúng Số định danh, Họ tên, Ngày sinh (dd/mm/yyyy), Giới tính của người đã tiêm.",
    "'xác nhận': thông tin khai báo (hoặc người gợi ý) là đúng.",
    "'không thường trú': người tiêm không thường trú tại địa phương. 'không tìm thấy': chưa xác minh được.",
    "Ghi Cán bộ xác minh và Ngày xác minh (dd/mm/yyyy); gửi lại tệp vào thư mục police_returns/<mã xã>/.",
)


def _query_cases(marts_db: Path) -> list[dict[str, Any]]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{str(marts_db).replace(chr(39), chr(39) * 2)}' as pub (read_only)")
        cur = con.execute(
            "select * from pub.marts.commune_worklist where status in ? "
            "order by district_code nulls last, commune_code nulls last, vaccinated_on, source, source_record_id",
            [list(EXPORTED_STATUSES)],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def _dmy(value: dt.date | None) -> str | None:
    return value.strftime("%d/%m/%Y") if value else None


def _cells(case: dict[str, Any], row_number: int) -> list[str | None]:
    derived = {
        "_row_number": str(row_number),
        "_status_vi": STATUS_VI.get(case["status"], case["status"]),
        "_reasons_vi": reason_text(case.get("reasons")),
        "_gender_vi": GENDER_VI.get(case.get("gender") or "", case.get("gender")),
        "_vaccinated_on_vi": _dmy(case.get("vaccinated_on")),
        "_candidate_dob_vi": _dmy(case.get("candidate_date_of_birth")),
        "_candidate_gender_vi": GENDER_VI.get(case.get("candidate_gender") or "", case.get("candidate_gender")),
        "_candidate_score_pct": None if case.get("candidate_score") is None else f"{case['candidate_score']:.0%}",
    }
    values: list[str | None] = []
    for header, column in CASE_COLUMNS:
        value = derived[column] if column.startswith("_") else case.get(column)
        text = None if value is None else str(value)
        values.append(text if header in KEY_HEADERS else neutralise(text))
    return values + [None] * len(VERIFICATION_HEADERS)


def write_worklist_xlsx(path: Path, cases: list[dict[str, Any]], title: str) -> int:
    """Write one worklist file atomically; returns the number of case rows."""
    import xlsxwriter

    rows = [_cells(case, i) for i, case in enumerate(cases, start=1)]
    with atomic_path(path) as tmp:
        workbook = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False,
                                                  "strings_to_urls": False})
        try:
            header_fmt = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7",
                                              "border": 1})
            verify_fmt = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                              "bg_color": "#FFF2CC", "border": 1})
            text_fmt = workbook.add_format({"num_format": "@"})
            entry_fmt = workbook.add_format({"num_format": "@", "bg_color": "#FFFBEA"})
            sheet = workbook.add_worksheet(SHEET_NAME)
            first_verify = len(CASE_COLUMNS)
            for col, header in enumerate(HEADERS):
                sheet.write_string(0, col, header, verify_fmt if col >= first_verify else header_fmt)
                width = max([len(header)] + [len(r[col] or "") for r in rows[:2000]])
                sheet.set_column(col, col, min(MAX_WIDTH, max(10, width + 2)),
                                 entry_fmt if col >= first_verify else text_fmt)
            for r, values in enumerate(rows, start=1):
                for col, value in enumerate(values):
                    if value is not None:
                        sheet.write_string(r, col, value)
            sheet.set_row(0, 32)
            sheet.freeze_panes(1, 3)  # the header row and STT, Nguồn, Mã bản ghi stay in view
            sheet.autofilter(0, 0, max(len(rows), 1), len(HEADERS) - 1)
            last = max(len(rows), 1) + 500  # room for rows the police add by hand
            sheet.data_validation(1, first_verify, last, first_verify, {
                "validate": "list", "source": list(POLICE_RESULTS),
                "error_title": RESULT_HEADER, "error_message": "Chọn: " + ", ".join(POLICE_RESULTS)})
            gender_col = HEADERS.index("Giới tính xác minh")
            sheet.data_validation(1, gender_col, last, gender_col, {"validate": "list", "source": list(GENDERS_VI)})
            guide = workbook.add_worksheet("Hướng dẫn")
            guide.set_column(0, 0, 110)
            guide.write_string(0, 0, title, workbook.add_format({"bold": True}))
            for i, line in enumerate(INSTRUCTIONS, start=2):
                guide.write_string(i, 0, line)
            sheet.activate()
        finally:
            workbook.close()
    return len(rows)


def _commune_names() -> dict[str, tuple[str, str]]:
    import csv

    from vaxclean.config import DBT_PROJECT_DIR

    with open(Path(DBT_PROJECT_DIR) / "seeds" / "ref_admin_units.csv", encoding="utf-8") as f:
        return {r["commune_code"]: (r["commune_name"], r["district_name"]) for r in csv.DictReader(f)}


def export_worklists(*, warehouse_dir: Path, marts_db: Path, out_dir: Path) -> dict[str, Any]:
    """Write one XLSX per commune (and `_unrouted.xlsx`) under `<out_dir>/worklists/` from the published marts.

    `warehouse_dir` is the run's warehouse (kept for symmetry with the other build steps; the cases come from
    `marts_db`, normally `<warehouse>/published/marts.duckdb`; `out_dir` normally `<warehouse>/published`).
    Returns counts only (files, cases, unrouted cases, stale files removed): fit for XCom and logs.
    """
    root = Path(out_dir) / "worklists"
    cases = _query_cases(Path(marts_db))
    names = _commune_names()
    by_commune: dict[tuple[str, str] | None, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        key = (case["district_code"] or "_", case["commune_code"]) if case["commune_code"] else None
        by_commune[key].append(case)
    written: set[Path] = set()
    for key, items in by_commune.items():
        if key is None:
            path, title = root / UNROUTED_FILE, "Các trường hợp chưa xác định được xã/phường (tỉnh xử lý)"
        else:
            district, commune = key
            path = root / district / f"{commune}.xlsx"
            commune_name, district_name = names.get(commune, (commune, district))
            title = f"Danh sách xác minh: {commune_name}, {district_name} ({commune})"
        write_worklist_xlsx(path, items, title)
        written.add(path)
    stale = [p for p in root.rglob("*.xlsx") if p not in written] if root.exists() else []
    for path in stale:
        path.unlink()
    summary = {
        "worklist_dir": str(root),
        "files": len(written),
        "cases": len(cases),
        "unrouted_cases": len(by_commune.get(None, [])),
        "stale_files_removed": len(stale),
        "warehouse_dir": str(warehouse_dir),
    }
    log.info("worklists exported: %s files, %s cases (%s unrouted)", summary["files"], summary["cases"],
             summary["unrouted_cases"])
    return summary
