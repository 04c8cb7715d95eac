"""Site batches: encodings, XLSX cells, header quarantine, row quarantine, registry, audit."""

from __future__ import annotations

import codecs
import json
import unicodedata
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import xlsxwriter
from load_fixtures import SITE_HEADER, csv_text, encode_cp1258, read_dir, site_row, write

from vaxclean.load import load_site_batches


def _rows(raw: Path) -> list[dict]:
    return read_dir(raw / "site_batch_rows")


def _audit(raw: Path) -> list[dict]:
    return read_dir(raw / "load_audit" / "site_batch")


def _quarantine(raw: Path) -> list[dict]:
    return read_dir(raw / "quarantine" / "site_batch")


def _registry(raw: Path) -> list[dict]:
    return read_dir(raw / "file_registry" / "site_batch")


def test_cp1258_and_bom_csv_are_decoded_and_the_encoding_is_audited(dirs):
    landing, raw = dirs
    name = "Nguyễn Thị Hồng Nhung"
    write(landing / "site_batches" / "F01" / "a.csv", encode_cp1258(csv_text([SITE_HEADER, site_row(1, name)])))
    write(landing / "site_batches" / "F02" / "b.csv",
          codecs.BOM_UTF8 + csv_text([SITE_HEADER, site_row(1, "Trần Văn Đức")]).encode("utf-8"))

    counts = load_site_batches(landing, raw)

    assert counts["files_loaded"] == 2 and counts["rows_loaded"] == 2
    by_site = {r["_site_code"]: r for r in _rows(raw)}
    cp_row = by_site["F01"]
    assert cp_row["full_name"] != name  # kept as decoded: tone marks are combining characters
    assert unicodedata.normalize("NFC", cp_row["full_name"]) == name
    assert cp_row["stt"] == "1" and cp_row["_file_path"] == "site_batches/F01/a.csv" and cp_row["_line_number"] == 2
    assert by_site["F02"]["stt"] == "1" and by_site["F02"]["full_name"] == "Trần Văn Đức"
    encodings = {json.loads(a["detail"])["file_path"]: json.loads(a["detail"])["encoding"] for a in _audit(raw)}
    assert encodings == {"site_batches/F01/a.csv": "cp1258", "site_batches/F02/b.csv": "utf-8-sig"}


def test_xlsx_numeric_ids_and_serial_dates_stay_as_text(dirs):
    landing, raw = dirs
    path = landing / "site_batches" / "F03" / "batch.xlsx"
    path.parent.mkdir(parents=True)
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, [f" {h} " for h in SITE_HEADER])  # spaces around headers are trimmed
    row = site_row(1)
    sheet.write_row(1, 0, row)
    sheet.write_number(1, 0, 1)
    sheet.write_number(1, 5, 19012345678)  # an ID typed as a number: the leading zero is lost
    sheet.write_number(1, 14, 44423)  # an Excel serial date without a date format
    sheet.write_number(1, 13, 2.5)
    second_row = site_row(2)
    second_row[6] = ""  # an empty cell
    sheet.write_row(3, 0, second_row)  # row 3 left empty
    sheet.write_datetime(3, 2, datetime(1990, 2, 1), date_format)
    workbook.close()

    counts = load_site_batches(landing, raw)

    assert counts["rows_loaded"] == 2 and counts["blank_lines"] == 1
    first, second = sorted(_rows(raw), key=lambda r: r["_line_number"])
    assert first["stt"] == "1" and first["id_number"] == "19012345678"
    assert first["vaccinated_on"] == "44423" and first["dose_number"] == "2.5"
    assert (second["_line_number"], second["date_of_birth"], second["address"]) == (4, "1990-02-01", None)
    assert second["_site_code"] == "F03"


def test_renamed_header_quarantines_the_whole_file_and_others_load(dirs):
    landing, raw = dirs
    bad_header = ["Họ tên" if h == "Họ và tên" else h for h in SITE_HEADER]
    write(landing / "site_batches" / "F01" / "bad.csv", csv_text([bad_header, site_row(1)]).encode())
    write(landing / "site_batches" / "F01" / "good.csv", csv_text([SITE_HEADER, site_row(1)]).encode())

    counts = load_site_batches(landing, raw)

    assert (counts["files_loaded"], counts["files_quarantined"], counts["rows_loaded"]) == (1, 1, 1)
    [quarantined] = _quarantine(raw)
    assert "Họ và tên" in quarantined["reason"] and "Họ tên" in quarantined["reason"]
    assert quarantined["raw_text"] == ",".join(bad_header) and quarantined["line_number"] == 1
    status = {r["file_path"]: r["status"] for r in _registry(raw)}
    assert status == {"site_batches/F01/bad.csv": "quarantined", "site_batches/F01/good.csv": "loaded"}
    assert len(list((raw / "site_batch_rows" / "F01").glob("*.parquet"))) == 1  # only the good file's data


def test_truncated_last_row_is_quarantined_and_the_rest_loads(dirs):
    landing, raw = dirs
    text = csv_text([SITE_HEADER, site_row(1), site_row(2)]) + "\r\n" + csv_text([site_row(3)])
    cut = text + ",".join(site_row(4))[:40]  # the last row cut mid-field, no final newline
    write(landing / "site_batches" / "F01" / "cut.csv", cut.encode())
    quoted = csv_text([SITE_HEADER, site_row(1)]) + '5,"Lê Văn'  # cut inside a quoted field
    write(landing / "site_batches" / "F02" / "cut_quoted.csv", quoted.encode())

    counts = load_site_batches(landing, raw)

    assert counts["rows_loaded"] == 4 and counts["rows_quarantined"] == 2 and counts["blank_lines"] == 1
    assert sorted(r["_line_number"] for r in _rows(raw) if r["_site_code"] == "F01") == [2, 3, 5]
    rejects = {q["file_path"]: q for q in _quarantine(raw)}
    cut_reject = rejects["site_batches/F01/cut.csv"]
    assert cut_reject["line_number"] == 6 and cut_reject["reason"].startswith("truncated last line")
    assert cut_reject["raw_text"] == ",".join(site_row(4))[:40]
    assert rejects["site_batches/F02/cut_quoted.csv"]["line_number"] == 3


def test_redropped_identical_file_is_not_loaded_again_and_changed_file_is(dirs):
    landing, raw = dirs
    content = csv_text([SITE_HEADER, site_row(1), site_row(2)]).encode()
    write(landing / "site_batches" / "F01" / "a.csv", content)
    assert load_site_batches(landing, raw)["files_loaded"] == 1

    write(landing / "site_batches" / "F01" / "a_copy.csv", content)
    again = load_site_batches(landing, raw)
    assert (again["files_loaded"], again["files_unchanged"], again["files_duplicate"]) == (0, 1, 1)
    assert len(_rows(raw)) == 2
    assert {r["status"] for r in _registry(raw) if r["file_path"].endswith("a_copy.csv")} == {"duplicate_content"}

    write(landing / "site_batches" / "F01" / "a.csv", csv_text([SITE_HEADER, site_row(1), site_row(3)]).encode())
    changed = load_site_batches(landing, raw)
    assert changed["files_loaded"] == 1 and changed["files_duplicate"] == 1
    assert len(list((raw / "site_batch_rows" / "F01").glob("*.parquet"))) == 2  # both versions kept
    assert len({r["_file_sha256"] for r in _rows(raw)}) == 2
    assert load_site_batches(landing, raw)["files_loaded"] == 0


def test_audit_counts_add_up_with_blank_lines_multiline_fields_and_bad_rows(dirs):
    landing, raw = dirs
    multiline = site_row(2)
    multiline[6] = "Xóm Đồng\nxã Tân Cương"
    text = (csv_text([SITE_HEADER, site_row(1), multiline]) + ",,,,,,,,,,,,,,\r\n\r\n"
            + csv_text([site_row(3)[:10], site_row(4), site_row(5) + ["extra"]]))
    write(landing / "site_batches" / "F01" / "mixed.csv", text.encode())
    write(landing / "site_batches" / "F01" / "notes.txt", b"not a batch")

    counts = load_site_batches(landing, raw)

    [audit] = [a for a in _audit(raw) if a["status"] == "loaded"]
    assert audit["received"] == audit["loaded"] + audit["quarantined"] == 5
    assert (audit["loaded"], audit["quarantined"]) == (3, 2)
    assert json.loads(audit["detail"])["blank_lines"] == 2
    assert sorted(r["_line_number"] for r in _rows(raw)) == [2, 3, 8]
    assert sorted(q["line_number"] for q in _quarantine(raw) if q["file_path"].endswith("mixed.csv")) == [7, 9]
    assert counts["files_quarantined"] == 1  # the .txt file: visible in quarantine, not ignored
    for table in ("site_batch_rows", "quarantine", "load_audit", "file_registry"):
        assert pq.read_schema(raw / table / "_empty.parquet")  # every table readable even when empty
    all_audit = _audit(raw)
    assert sum(a["received"] for a in all_audit) == counts["rows_loaded"] + counts["rows_quarantined"]


def test_undecodable_row_is_quarantined(dirs):
    landing, raw = dirs
    good = csv_text([SITE_HEADER, site_row(1), site_row(2)]).encode()
    broken = csv_text([site_row(3)]).encode().replace("Nữ".encode(), b"N\xff\xfe")
    write(landing / "site_batches" / "F01" / "x.csv", good + broken + csv_text([site_row(4)]).encode())

    counts = load_site_batches(landing, raw)

    assert (counts["rows_loaded"], counts["rows_quarantined"]) == (3, 1)
    [reject] = _quarantine(raw)
    assert reject["line_number"] == 4 and "undecodable" in reject["reason"]
    assert json.loads(_audit(raw)[0]["detail"])["encoding"] == "utf-8"


def test_crash_before_the_registry_row_reloads_without_duplicates(dirs, monkeypatch):
    landing, raw = dirs
    write(landing / "site_batches" / "F01" / "a.csv", csv_text([SITE_HEADER, site_row(1), site_row(2)]).encode())
    write(landing / "site_batches" / "F01" / "b.csv", csv_text([SITE_HEADER, site_row(3)]).encode())
    from vaxclean.load import registry

    real_register = registry.register_file
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(kwargs["file_path"])
        if len(calls) == 2:
            raise OSError("disk full")
        return real_register(*args, **kwargs)

    monkeypatch.setattr(registry, "register_file", crash_on_second)
    with pytest.raises(OSError):
        load_site_batches(landing, raw)
    monkeypatch.setattr(registry, "register_file", real_register)

    rerun = load_site_batches(landing, raw)

    assert (rerun["files_unchanged"], rerun["files_loaded"]) == (1, 1)
    assert sorted(r["stt"] for r in _rows(raw)) == ["1", "2", "3"]
    assert len(_audit(raw)) == 2 and len(_registry(raw)) == 2


def test_file_outside_a_site_directory_is_quarantined(dirs):
    landing, raw = dirs
    write(landing / "site_batches" / "loose.csv", csv_text([SITE_HEADER, site_row(1)]).encode())

    counts = load_site_batches(landing, raw)

    assert (counts["files_quarantined"], counts["rows_loaded"]) == (1, 0)
    [reject] = _quarantine(raw)
    assert "site_code directory" in reject["reason"] and reject["line_number"] is None


def test_logs_carry_no_cell_values_when_a_data_row_is_taken_for_the_header(dirs, caplog):
    landing, raw = dirs
    name, id_number = "Quách Thị Xuân", "019301999888"
    write(landing / "site_batches" / "F01" / "no_header.csv", csv_text([site_row(1, name, id_number)]).encode())

    with caplog.at_level("DEBUG", logger="vaxclean"):
        counts = load_site_batches(landing, raw)

    assert counts["files_quarantined"] == 1
    assert name in _quarantine(raw)[0]["reason"]  # the quarantine table keeps the evidence
    assert name not in caplog.text and id_number not in caplog.text
    assert "no_header.csv" in caplog.text
