"""Benchmark of the landing loads: prints figures, asserts nothing.

    python -m vaxclean.load.benchmark [--population-rows 1300000] [--site-rows 300000] [--site-files 100]

Generates a synthetic landing directory in a temp folder (population snapshot written by DuckDB; site
batches as UTF-8, UTF-8-BOM and Windows-1258 CSVs plus some XLSX), then times each load and a re-run.
"""

from __future__ import annotations

import argparse
import codecs
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import xlsxwriter

from vaxclean.load import load_population, load_site_batches
from vaxclean.load.text_files import encode_cp1258
from vaxclean.raw.layout import SITE_BATCH_HEADERS

_NAMES = ["Nguyễn Thị Hồng", "Trần Văn Đức", "Lê Thị Thuỷ", "Phạm Quốc Việt", "Hoàng Văn Thụ", "Đỗ Thị Ngọc Ánh"]


def _row(i: int) -> list[str]:
    return [str(i), _NAMES[i % len(_NAMES)], f"{i % 28 + 1:02d}/{i % 12 + 1:02d}/19{50 + i % 50}", "Nữ",
            f"09{i:08d}", f"0193{i:08d}", "Tổ 5, phường Phan Đình Phùng", "19", "164", "05434",
            "Công ty TNHH Samsung Electronics Việt Nam Thái Nguyên", "AstraZeneca", "A1234", "1", "15/08/2021"]


def _csv(rows: range) -> str:
    lines = [",".join(SITE_BATCH_HEADERS)]
    lines += ['{},{},{},{},{},{},"{}",{},{},{},{},{},{},{},{}'.format(*_row(i)) for i in rows]
    return "\r\n".join(lines) + "\r\n"


def _write_site_batches(landing: Path, total_rows: int, files: int) -> None:
    per_file = total_rows // files
    for index in range(files):
        rows = range(index * per_file, (index + 1) * per_file)
        folder = landing / "site_batches" / f"S{index % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = index % 10
        if kind == 9:
            workbook = xlsxwriter.Workbook(folder / f"batch_{index}.xlsx", {"constant_memory": True})
            sheet = workbook.add_worksheet()
            sheet.write_row(0, 0, list(SITE_BATCH_HEADERS))
            for offset, i in enumerate(rows, start=1):
                values: list[object] = list(_row(i))
                values[5] = int(values[5])
                sheet.write_row(offset, 0, values)
            workbook.close()
        elif kind == 8:
            (folder / f"batch_{index}.csv").write_bytes(encode_cp1258(_csv(rows)))
        elif kind == 7:
            (folder / f"batch_{index}.csv").write_bytes(codecs.BOM_UTF8 + _csv(rows).encode())
        else:
            (folder / f"batch_{index}.csv").write_text(_csv(rows), encoding="utf-8")


def _write_population(landing: Path, rows: int) -> None:
    folder = landing / "population" / "2022-06-01"
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"""
        COPY (SELECT '0193' || lpad(i::VARCHAR, 8, '0') AS citizen_id,
                     CASE WHEN i % 3 = 0 THEN lpad(i::VARCHAR, 9, '0') END AS old_id_number,
                     'Nguyễn Văn ' || (i % 997)::VARCHAR AS full_name,
                     DATE '1930-01-01' + (i % 30000)::INTEGER AS date_of_birth,
                     i % 50 = 0 AS birth_year_only,
                     CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END AS gender,
                     '19' AS province_code, (164 + i % 9)::VARCHAR AS district_code,
                     lpad((5434 + i % 178)::VARCHAR, 5, '0') AS commune_code,
                     '09' || lpad(i::VARCHAR, 8, '0') AS phone, 'active' AS status
              FROM range({rows}) t(i))
        TO '{folder / "part-0.parquet"}' (FORMAT parquet)
    """)


def _timed(label: str, func: Callable[[Path, Path], dict], landing: Path, raw: Path) -> dict:
    started = time.perf_counter()
    result = func(landing, raw)
    seconds = time.perf_counter() - started
    print(json.dumps({"step": label, "seconds": round(seconds, 2),
                      **{k: v for k, v in result.items() if k != "outputs"}}))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--population-rows", type=int, default=1_300_000)
    parser.add_argument("--site-rows", type=int, default=300_000)
    parser.add_argument("--site-files", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vaxclean-load-bench-") as tmp:
        landing, raw = Path(tmp) / "landing", Path(tmp) / "raw"
        started = time.perf_counter()
        _write_population(landing, args.population_rows)
        _write_site_batches(landing, args.site_rows, args.site_files)
        print(json.dumps({"step": "generate", "seconds": round(time.perf_counter() - started, 2)}))
        _timed("population", load_population, landing, raw)
        _timed("population re-run", load_population, landing, raw)
        _timed("site_batches", load_site_batches, landing, raw)
        _timed("site_batches re-run", load_site_batches, landing, raw)


if __name__ == "__main__":
    main()
