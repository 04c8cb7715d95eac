"""Helpers for the load tests: landing files built in tmp_path (imported by name, not a conftest)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from vaxclean.load.text_files import encode_cp1258  # noqa: F401 (re-exported for the tests)
from vaxclean.raw.layout import SITE_BATCH_HEADERS

SITE_HEADER = list(SITE_BATCH_HEADERS)


def site_row(stt: int, name: str = "Nguyễn Thị Hồng", id_number: str = "019301000123") -> list[str]:
    return [str(stt), name, "01/02/1990", "Nữ", "0912345678", id_number, "Tổ 5, phường Phan Đình Phùng",
            "19", "164", "05434", "Công ty TNHH Samsung", "AstraZeneca", "A1234", "1", "15/08/2021"]


def csv_text(rows: Sequence[Sequence[str]], newline: str = "\r\n") -> str:
    def cell(value: str) -> str:
        return f'"{value}"' if any(c in value for c in ',"\r\n') else value

    return "".join(",".join(cell(v) for v in row) + newline for row in rows)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read_dir(path: Path) -> list[dict]:
    """Every row of every Parquet file under a raw table directory (recursively)."""
    rows: list[dict] = []
    for file in sorted(path.rglob("*.parquet")):
        rows.extend(pq.read_table(file).to_pylist())
    return rows
