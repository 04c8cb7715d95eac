"""Write-back files: the corrected identity of each corrected dose record, in the platform's import template.

`export_write_back` writes, per commune (the credited citizen's residence),
`<out>/write_back/<district_code>/<commune_code>.csv` (UTF-8 with BOM, so that Excel reads the Vietnamese
correctly) or `.xlsx` (text cells: IDs keep their leading zeros) with the columns of the offline import
template (sources.md §2), in order, for the commune health station to upload to the platform. A row is a
dose record with match_status `corrected` (police verification, or a repair the data proves): the
citizen's identity from the National Population Database (name, birth date, gender, citizen ID, phone
when the register has one, residence codes) and the dose as reconciled (vaccine product, lot, dose
sequence, date). With `include_keys=True` two columns `Nguồn`, `Mã bản ghi` follow the template so the
station can find the record to edit (the strict template has no such columns).

The rows are the dbt model `exports.write_back_records` (dbt_project/models/marts/worklists, with its
contract): this module only lays them out. It reads `<warehouse>/warehouse.duckdb` read-only (the
register's identities are not in a published mart): call it after the build's publish step, while no
build is writing.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from vaxclean.worklists.xlsx import atomic_path, neutralise

log = logging.getLogger(__name__)

TEMPLATE_HEADERS: tuple[str, ...] = (
    "STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số điện thoại", "Số CMND/CCCD", "Địa chỉ", "Mã tỉnh",
    "Mã huyện", "Mã xã", "Đơn vị công tác", "Tên vắc xin", "Số lô", "Mũi tiêm", "Ngày tiêm",
)
KEY_HEADERS: tuple[str, ...] = ("Nguồn", "Mã bản ghi")

WRITE_BACK_SQL = """
select * from exports.write_back_records
order by district_code, commune_code, vaccinated_on, source, source_record_id
"""
GENDERS = {"male": "Nam", "female": "Nữ"}


def _rows(warehouse_db: Path) -> list[dict[str, Any]]:
    con = duckdb.connect(str(warehouse_db), read_only=True)
    try:
        cur = con.execute(WRITE_BACK_SQL)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def _line(row: dict[str, Any], number: int, include_keys: bool) -> list[str]:
    """The template's cells for one record (dates as the platform types them: dd/mm/yyyy, or the year)."""
    born = row["date_of_birth"]
    born_text = None if born is None else born.strftime("%Y" if row["is_birth_year_only"] else "%d/%m/%Y")
    vaccinated = row["vaccinated_on"].strftime("%d/%m/%Y") if row["vaccinated_on"] is not None else None
    dose = str(row["dose_number"]) if row["dose_number"] is not None else None
    template = [str(number), row["full_name"], born_text, GENDERS.get(row["gender"]), row["phone"],
                row["citizen_id"], None, row["province_code"], row["district_code"], row["commune_code"], None,
                row["vaccine"], row["lot_number"], dose, vaccinated]
    values = [neutralise(v) or "" for v in template]
    if include_keys:
        values += [row["source"], row["source_record_id"]]
    return values


def _write_csv(path: Path, header: list[str], lines: list[list[str]]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(lines)


def _write_xlsx(path: Path, header: list[str], lines: list[list[str]]) -> None:
    import xlsxwriter

    with atomic_path(path) as tmp:
        workbook = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False,
                                                  "strings_to_urls": False})
        try:
            sheet = workbook.add_worksheet("Nhap lieu")
            text = workbook.add_format({"num_format": "@"})
            bold = workbook.add_format({"bold": True})
            for col, name in enumerate(header):
                sheet.write_string(0, col, name, bold)
                width = max([len(name)] + [len(line[col]) for line in lines[:2000]])
                sheet.set_column(col, col, min(40, width + 2), text)
            for r, line in enumerate(lines, start=1):
                for col, value in enumerate(line):
                    if value:
                        sheet.write_string(r, col, value)
            sheet.freeze_panes(1, 0)
        finally:
            workbook.close()


def export_write_back(*, warehouse_dir: Path, out_dir: Path, fmt: str = "csv",
                      include_keys: bool = False) -> dict[str, Any]:
    """Write `<out_dir>/write_back/<district>/<commune>.<fmt>` for every commune with corrected records.

    `out_dir` is normally `<warehouse>/published`. Files of communes with nothing to write back any more are
    removed. Returns counts only.
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"fmt must be csv or xlsx, not {fmt!r}")
    rows = _rows(Path(warehouse_dir) / "warehouse.duckdb")
    root = Path(out_dir) / "write_back"
    header = list(TEMPLATE_HEADERS) + (list(KEY_HEADERS) if include_keys else [])
    by_commune: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_commune[(row["district_code"] or "_", row["commune_code"] or "_")].append(row)
    written: set[Path] = set()
    for (district, commune), items in by_commune.items():
        path = root / district / f"{commune}.{fmt}"
        lines = [_line(row, i, include_keys) for i, row in enumerate(items, start=1)]
        (_write_csv if fmt == "csv" else _write_xlsx)(path, header, lines)
        written.add(path)
    stale = [p for p in root.rglob(f"*.{fmt}") if p not in written] if root.exists() else []
    for path in stale:
        path.unlink()
    log.info("write-back files: %s communes, %s corrected records", len(written), len(rows))
    return {"write_back_dir": str(root), "files": len(written), "records": len(rows),
            "stale_files_removed": len(stale)}
