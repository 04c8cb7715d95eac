"""What the loaders refuse before reading (vaxclean.load.landing) and how one bad file stays that file's:
symbolic links, unsafe names, a directory that is not a code, a file over the size limit, an XLSX sheet
that spans billions of cells, a reader that crashes. Each is quarantined once with its reason; the other
files of the same load are loaded."""

from __future__ import annotations

import os

import openpyxl
import pyarrow.parquet as pq
from load_fixtures import SITE_HEADER, csv_text, read_dir, site_row, write

from vaxclean.load import load_population, load_site_batches


def _good(landing, site="F01", name="a.csv", stt=1):
    return write(landing / "site_batches" / site / name, csv_text([SITE_HEADER, site_row(stt)]).encode("utf-8"))


def _reasons(raw, source="site_batch"):
    return sorted((r["file_path"], r["reason"]) for r in read_dir(raw / "quarantine" / source))


def test_symbolic_links_are_refused_unread_and_reported_once(dirs, tmp_path):
    landing, raw = dirs
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = write(outside / "other_commune.csv", csv_text([SITE_HEADER, site_row(1, "Lê Thị Mai")]).encode("utf-8"))
    _good(landing)
    (landing / "site_batches" / "F01" / "link.csv").symlink_to(secret)
    (landing / "site_batches" / "F02").symlink_to(outside, target_is_directory=True)
    result = load_site_batches(landing, raw)
    assert (result["files_loaded"], result["files_quarantined"]) == (1, 2)
    assert _reasons(raw) == [("site_batches/F01/link.csv", "refused: a symbolic link (not followed)"),
                             ("site_batches/F02", "refused: a symbolic link to a directory (not followed)")]
    assert "Lê Thị Mai" not in str(read_dir(raw / "site_batch_rows"))  # the target was never read
    again = load_site_batches(landing, raw)
    assert (again["files_quarantined"], again["files_unchanged"]) == (0, 3)


def test_unsafe_names_and_a_directory_that_is_not_a_site_code_are_refused(dirs):
    landing, raw = dirs
    _good(landing)
    _good(landing, site="Tram y te xa", name="b.csv", stt=2)  # spaces: not a site code
    _good(landing, name="bad\x07name.csv", stt=3)
    _good(landing, name="-rf.csv", stt=4)
    result = load_site_batches(landing, raw)
    assert (result["files_loaded"], result["files_quarantined"]) == (1, 3)
    reasons = dict(_reasons(raw))
    assert reasons["site_batches/Tram y te xa/b.csv"] == "refused: a directory name that is not a code"
    assert reasons["site_batches/F01/bad\x07name.csv"] == "refused: a name with control characters"
    assert reasons["site_batches/F01/-rf.csv"] == "refused: a name starting with '-'"


def test_a_file_over_the_size_limit_is_refused_unread(dirs, monkeypatch):
    landing, raw = dirs
    monkeypatch.setenv("VAXCLEAN_MAX_FILE_MB", "0.001")  # about 1 KB
    _good(landing)
    write(landing / "site_batches" / "F01" / "big.csv",
          csv_text([SITE_HEADER, *(site_row(i) for i in range(1, 40))]).encode("utf-8"))
    result = load_site_batches(landing, raw)
    assert (result["files_loaded"], result["files_quarantined"]) == (1, 1)
    (reason,) = [r for p, r in _reasons(raw) if p.endswith("big.csv")]
    assert "over the limit of 0.001 MB (VAXCLEAN_MAX_FILE_MB)" in reason


def test_a_sheet_spanning_billions_of_cells_is_refused_before_a_reader_builds_it(dirs):
    landing, raw = dirs
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(SITE_HEADER)
    sheet.append(site_row(1))
    sheet["XFD1048576"] = "x"  # 17 billion cells from A1
    path = landing / "site_batches" / "F01" / "a_huge.xlsx"
    path.parent.mkdir(parents=True)
    workbook.save(path)
    _good(landing, name="b.csv")
    result = load_site_batches(landing, raw)
    assert (result["files_loaded"], result["files_quarantined"]) == (1, 1)
    (reason,) = [r for p, r in _reasons(raw) if p.endswith("a_huge.xlsx")]
    assert "1,048,576 rows x 16,384 columns, over the limit of 5,000,000 cells" in reason


def test_a_reader_that_crashes_on_one_file_quarantines_it_and_loads_the_next(dirs, monkeypatch):
    from vaxclean.load import file_sources

    landing, raw = dirs
    _good(landing, name="a.csv")
    _good(landing, name="b.csv", stt=2)
    real = file_sources._read_csv

    def crash_on_a(path):
        if path.name == "a.csv":
            raise RecursionError("a pathological file")
        return real(path)

    monkeypatch.setattr(file_sources, "_read_csv", crash_on_a)
    result = load_site_batches(landing, raw)
    assert (result["files_loaded"], result["files_quarantined"]) == (1, 1)
    assert _reasons(raw) == [("site_batches/F01/a.csv", "the reader failed on this file (RecursionError)")]
    monkeypatch.setattr(file_sources, "_read_csv", real)
    assert load_site_batches(landing, raw)["files_unchanged"] == 2  # not retried at every run


def test_a_population_snapshot_behind_a_symbolic_link_is_refused(dirs, tmp_path):
    import pyarrow as pa

    landing, raw = dirs
    outside = tmp_path / "snapshot"
    outside.mkdir()
    pq.write_table(pa.table({"citizen_id": ["019301000123"]}), outside / "part-0.parquet")
    (landing / "population").mkdir(parents=True)
    os.symlink(outside, landing / "population" / "2022-09-30")
    result = load_population(landing, raw)
    assert (result["files_loaded"], result["files_quarantined"]) == (0, 1)
    assert _reasons(raw, "population") == [
        ("population/2022-09-30", "refused: a symbolic link to a directory (not followed)")]
