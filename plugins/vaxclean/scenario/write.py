"""Writers of the scenario files, byte-for-byte deterministic."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
import xlsxwriter

from vaxclean.load.text_files import encode_cp1258
from vaxclean.raw.layout import SITE_BATCH_HEADERS

FIXED_CREATED = dt.datetime(2022, 9, 30, 0, 0, 0)
BATCH_FIELDS = list(SITE_BATCH_HEADERS.values())
BATCH_HEADERS = list(SITE_BATCH_HEADERS)


def write_jsonl(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_ndjson(path)


def write_csv_text(frame: pl.DataFrame, path: Path, encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.write_csv(null_value="")
    if encoding == "cp1258":
        data = encode_cp1258(text)
    elif encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + text.encode("utf-8")
    else:
        data = text.encode("utf-8")
    path.write_bytes(data)


def _workbook(path: Path) -> xlsxwriter.Workbook:
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": FIXED_CREATED, "author": "vaxclean scenario"})
    return wb


def write_batch_xlsx(rows: pl.DataFrame, path: Path, numeric_ids: bool, serial_dates: bool) -> None:
    """A batch in the import template; IDs/codes as numbers and dates as Excel serials when the site's sheet did."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = _workbook(path)
    ws = wb.add_worksheet("Danh sach")
    ws.write_row(0, 0, BATCH_HEADERS)
    numeric_cols = {"stt", "dose_number"}
    if numeric_ids:
        numeric_cols |= {"id_number", "commune_code", "district_code", "province_code"}
    if serial_dates:
        numeric_cols |= {"vaccinated_on", "date_of_birth"}
    for r, row in enumerate(rows.select(BATCH_FIELDS).iter_rows(), start=1):
        for c, (field, value) in enumerate(zip(BATCH_FIELDS, row, strict=True)):
            if value is None or value == "":
                continue
            text = str(value)
            if field in numeric_cols and text.isdigit():
                ws.write_number(r, c, int(text))
            else:
                ws.write_string(r, c, text)
    wb.close()


def write_table_xlsx(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = _workbook(path)
    ws = wb.add_worksheet("Sheet1")
    ws.write_row(0, 0, frame.columns)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for c, value in enumerate(row):
            if value is not None:
                ws.write_string(r, c, str(value))
    wb.close()


def batch_csv_frame(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select([pl.col(f).cast(pl.String).alias(h) for f, h in zip(BATCH_FIELDS, BATCH_HEADERS, strict=True)])


def to_buffer(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue()
