"""Reading landed XLSX files (first sheet) into text cells as received.

Cells become text: integral numbers as integer text (an ID typed as a number keeps no leading zero),
other numbers as their shortest text, date cells as ISO `yyyy-mm-dd` (with `THH:MM:SS` only when the
cell has a time of day), booleans as TRUE/FALSE, empty cells as null. A number in a date column (an
Excel serial date without a date format) stays the serial number's text: staging parses it.
python-calamine reads the sheet; openpyxl is the fallback when calamine is missing or fails.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class SheetRows:
    """The first sheet: the header row and the data rows, each with its 1-based sheet row."""

    header: list[str] | None
    header_raw: str
    header_line: int
    rows: list[list[str | None]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    too_wide: list[tuple[int, int, str]] = field(default_factory=list)  # (row, cells, raw text)
    blank_lines: int = 0
    reader: str = "calamine"


def cell_text(value: object) -> str | None:
    """One cell as text, as received (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


class XlsxUnreadable(Exception):
    """The file is not a workbook either reader can open."""


def _openpyxl_rows(path: Path) -> list[list[object]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise XlsxUnreadable(f"not a readable XLSX workbook ({type(error).__name__})") from error
    try:
        if not workbook.worksheets:
            raise XlsxUnreadable("workbook has no sheet")
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_cells(path: Path) -> tuple[list[list[object]], str]:
    """All rows of the first sheet as Python values, from sheet row 1 (leading empty rows kept)."""
    try:
        from python_calamine import CalamineError, CalamineWorkbook
    except ImportError:
        return _openpyxl_rows(path), "openpyxl"
    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        return sheet.to_python(skip_empty_area=False), "calamine"
    except (CalamineError, IndexError, ValueError) as error:
        log.warning("calamine could not read %s (%s); trying openpyxl", path.name, type(error).__name__)
    return _openpyxl_rows(path), "openpyxl"


def as_csv_line(cells: list[str | None]) -> str:
    """Cells as one CSV line (the raw text a quarantined row keeps)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(["" if c is None else c for c in cells])
    return buffer.getvalue()


def _trim_trailing_empty(cells: list[str | None]) -> list[str | None]:
    end = len(cells)
    while end > 0 and cells[end - 1] is None:
        end -= 1
    return cells[:end]


def _texts(row: list[object]) -> list[str | None]:
    return [value if type(value) is str and value else cell_text(value) for value in row]


_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Z]{1,3})([0-9]{1,7})\"")
_SHEET_TARGET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\sr:id=\"([^\"]+)\"")


def _first_sheet_member(archive: zipfile.ZipFile) -> str:
    """The archive member of the workbook's first sheet (its relationship), else the usual name."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return "xl/worksheets/sheet1.xml"
    first = _SHEET_TARGET.search(workbook)
    if first:
        for rel in re.finditer(rb"<Relationship\b[^>]*>", rels):
            if b'Id="' + first.group(1) + b'"' in rel.group(0):
                target = re.search(rb'Target="([^"]+)"', rel.group(0))
                if target:
                    name = target.group(1).decode("utf-8", "replace").lstrip("/")
                    return name if name.startswith("xl/") else f"xl/{name}"
    return "xl/worksheets/sheet1.xml"


def check_sheet_size(path: Path, *, max_cells: int, max_expanded_bytes: int) -> tuple[int, int]:
    """(rows, columns) of the first sheet's cells from A1, read from its XML as a stream before any reader
    loads it: the readers build every row and column up to the last cell (a single cell at XFD1048576 means
    17 billion), so a sheet over `max_cells`, or an archive that expands past `max_expanded_bytes`, raises
    XlsxUnreadable. A file that is not a zip archive is left to the readers (they say why)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return 0, 0
    with archive:
        expanded = sum(info.file_size for info in archive.infolist())
        if expanded > max_expanded_bytes:
            raise XlsxUnreadable(f"expands to {expanded / 1024 / 1024:,.0f} MB, over the limit of "
                                 f"{max_expanded_bytes / 1024 / 1024:,.0f} MB (VAXCLEAN_MAX_XLSX_EXPANDED_MB)")
        rows = columns = 0
        try:
            stream = archive.open(_first_sheet_member(archive))
        except KeyError:
            return 0, 0
        with stream:
            tail = b""
            while chunk := stream.read(1 << 20):
                text = tail + chunk
                for letters, digits in _CELL_REF.findall(text):
                    column = 0
                    for letter in letters:
                        column = column * 26 + letter - 64
                    columns, rows = max(columns, column), max(rows, int(digits))
                tail = text[-256:]
    if rows * columns > max_cells:
        raise XlsxUnreadable(f"its first sheet spans {rows:,} rows x {columns:,} columns, over the limit of "
                             f"{max_cells:,} cells (VAXCLEAN_MAX_XLSX_CELLS)")
    return rows, columns


def read_xlsx(path: Path) -> SheetRows:
    """Read the first sheet: header = first non-empty row; rows wider than the header are rejected.
    A sheet over the size limits (check_sheet_size) is not read."""
    from vaxclean.config import settings

    cfg = settings()
    check_sheet_size(path, max_cells=cfg.max_xlsx_cells, max_expanded_bytes=int(cfg.max_xlsx_expanded_mb * 1024 * 1024))
    cells, reader = read_cells(path)
    sheet = SheetRows(header=None, header_raw="", header_line=0, reader=reader)
    index = 0
    while index < len(cells):
        header = _trim_trailing_empty(_texts(cells[index]))
        index += 1
        if header:
            sheet.header = ["" if h is None else h for h in header]
            sheet.header_raw = as_csv_line(header)
            sheet.header_line = index
            break
        sheet.blank_lines += 1
    if sheet.header is None:
        return sheet
    width = len(sheet.header)
    for row_number in range(index + 1, len(cells) + 1):
        row = _texts(cells[row_number - 1])
        if not any(row) or not "".join(c for c in row if c).strip():
            sheet.blank_lines += 1
            continue
        if len(row) > width and any(row[width:]):
            trimmed = _trim_trailing_empty(row)
            sheet.too_wide.append((row_number, len(trimmed), as_csv_line(trimmed)))
            continue
        sheet.rows.append(row[:width] + [None] * (width - len(row)))
        sheet.line_numbers.append(row_number)
    return sheet
