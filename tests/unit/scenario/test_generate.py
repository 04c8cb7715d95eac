"""The scenario generator: determinism, conformity of every source, truth coverage, ID structure, dirt rates."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from pathlib import Path

import polars as pl
import pytest

from vaxclean.raw.layout import HOTLINE_HEADERS, POLICE_RETURN_REQUIRED, SITE_BATCH_HEADERS
from vaxclean.scenario import generate

PEOPLE = 2000
PLATFORM_FIELDS = ["record_id", "full_name", "date_of_birth", "gender", "id_number", "phone", "address",
                   "province_code", "district_code", "commune_code", "priority_group", "workplace", "site_code",
                   "site_name", "vaccine", "lot_number", "dose_number", "vaccinated_on", "signed", "signed_at",
                   "updated_at", "deleted"]
TICKET_FIELDS = ["ticket_id", "channel", "received_at", "full_name", "id_number", "phone", "date_of_birth",
                 "commune_code", "category", "description", "status", "status_history", "assigned_unit", "updated_at"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("scenario") / "a"
    return out, generate(out, PEOPLE, 11)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files(scenario: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = scenario
    generate(tmp_path / "b", PEOPLE, 11)
    assert _digest(out) == _digest(tmp_path / "b")


def test_other_seed_differs(scenario: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = scenario
    generate(tmp_path / "c", 300, 12)
    assert (out / "truth" / "doses.csv").read_bytes() != (tmp_path / "c" / "truth" / "doses.csv").read_bytes()


def test_every_source_present(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    for rel in ["platform/immunizations.jsonl", "feedback/tickets.jsonl", "truth/doses.csv", "truth/tickets.csv",
                "truth/manifest.json"]:
        assert (out / rel).is_file(), rel
    for folder in ["site_batches", "hotline", "population", "police_returns"]:
        assert any((out / folder).rglob("*.*")), folder
    assert len(list((out / "population").glob("*/part-0.parquet"))) >= 2


def _platform(out: Path) -> pl.DataFrame:
    return pl.read_ndjson(out / "platform" / "immunizations.jsonl", infer_schema_length=None)


def test_platform_records_conform(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    first = json.loads((out / "platform" / "immunizations.jsonl").open(encoding="utf-8").readline())
    assert list(first) == PLATFORM_FIELDS
    df = _platform(out)
    assert df["record_id"].null_count() == 0 and df["vaccinated_on"].null_count() == 0
    assert df["updated_at"].str.contains(r"^20(21|22)-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert df["updated_at"].min() >= "2021-03" and df["updated_at"].max() < "2022-10"
    assert df.sort("updated_at", "record_id")["record_id"].equals(df["record_id"])  # served order
    versions = df.group_by("record_id").len()
    assert versions["len"].max() >= 2  # edits, signatures or tombstones
    assert df["deleted"].any() and not df["deleted"].all()
    assert df["signed"].mean() > 0.6 and not df["signed"].all()


def test_tickets_conform(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    lines = (out / "feedback" / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert list(rows[0]) == TICKET_FIELDS
    by_ticket: dict[str, list[dict]] = {}
    for row in rows:
        by_ticket.setdefault(row["ticket_id"], []).append(row)
    assert len(by_ticket) == round(PEOPLE / 200)
    for versions in by_ticket.values():
        times = [v["updated_at"] for v in versions]
        assert times == sorted(times)
        assert [h["status"] for h in versions[-1]["status_history"]][0] == "received"
        assert len(versions[-1]["status_history"]) == len(versions)
    assert {r["category"] for r in rows} <= {"missing_dose", "wrong_personal_info", "wrong_dose_info",
                                             "certificate_not_issued", "duplicate_record", "other", None}


def _read_csv_any(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp1258"):
        try:
            # Windows-1258 keeps tone marks as combining characters: a reader recomposes them (NFC)
            return list(csv.reader(io.StringIO(unicodedata.normalize("NFC", raw.decode(enc)))))
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"undecodable {path}")


def test_site_batches_conform(scenario: tuple[Path, dict]) -> None:
    import openpyxl

    out, _ = scenario
    files = sorted((out / "site_batches").rglob("*.*"))
    suffixes = {f.suffix for f in files}
    assert suffixes == {".csv", ".xlsx"}
    encodings = set()
    for f in files:
        if f.suffix == ".csv":
            raw = f.read_bytes()
            try:
                raw.decode("utf-8")
                encodings.add("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8")
            except UnicodeDecodeError:
                encodings.add("cp1258")
            rows = _read_csv_any(f)
        else:
            ws = openpyxl.load_workbook(f, read_only=True).worksheets[0]
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
        assert rows[0] == list(SITE_BATCH_HEADERS), f
        assert [int(r[0]) for r in rows[1:]] == list(range(1, len(rows))), f
    assert encodings == {"utf-8", "utf-8-sig", "cp1258"}


def test_hotline_and_police_conform(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    calls = 0
    for f in sorted((out / "hotline").glob("*.csv")):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d\.csv", f.name)
        rows = list(csv.reader(io.StringIO(f.read_text(encoding="utf-8"))))
        assert rows[0] == list(HOTLINE_HEADERS)
        calls += len(rows) - 1
    assert calls == round(PEOPLE / 400)
    results = set()
    for f in sorted((out / "police_returns").rglob("*.csv")):
        assert f.read_bytes().startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(f.read_text(encoding="utf-8-sig"))))
        assert set(POLICE_RETURN_REQUIRED) <= set(rows[0])
        results |= {r["Kết quả xác minh"] for r in rows}
        assert re.fullmatch(r"\d{5}", f.parent.name)
    assert results <= {"xác nhận", "điều chỉnh", "không tìm thấy", "không thường trú"}
    assert "điều chỉnh" in results


def test_population_structure(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    snaps = sorted((out / "population").glob("*/part-0.parquet"))
    old, new = pl.read_parquet(snaps[0]), pl.read_parquet(snaps[-1])
    assert new.columns == ["citizen_id", "old_id_number", "full_name", "date_of_birth", "birth_year_only", "gender",
                           "province_code", "district_code", "commune_code", "phone", "status"]
    assert new.schema["date_of_birth"] == pl.Date and new.schema["birth_year_only"] == pl.Boolean
    assert new["citizen_id"].is_unique().all() and new["citizen_id"].str.contains(r"^\d{12}$").all()
    assert new["old_id_number"].drop_nulls().str.contains(r"^\d{9}$").all()
    assert 0.2 < new["old_id_number"].is_not_null().mean() < 0.7
    year = new["date_of_birth"].dt.year()
    century_gender = new["citizen_id"].str.slice(3, 1).cast(pl.Int32)
    expected = pl.when(year >= 2000).then(2).otherwise(0) + (new["gender"] == "female").cast(pl.Int32)
    assert (century_gender == pl.select(expected).to_series()).all()
    assert (new["citizen_id"].str.slice(4, 2) == (year % 100).cast(pl.String).str.zfill(2)).all()
    share_019 = new["citizen_id"].str.starts_with("019").mean()
    assert 0.8 < share_019 < 0.95  # born elsewhere: another province prefix
    assert new["commune_code"].str.contains(r"^\d{5}$").all() and (new["province_code"] == "19").all()
    assert new["gender"].is_in(["male", "female"]).all()
    assert (new["full_name"] == new["full_name"].str.normalize("NFC")).all()
    assert set(new["status"]) >= {"active", "deceased"} and (old["status"] == "active").all()
    assert old.height <= new.height


def test_truth_covers_every_record_once(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    truth = pl.read_csv(out / "truth" / "doses.csv", infer_schema=False)
    assert truth.columns[:7] == ["source", "source_record_id", "true_citizen_id", "recorded_citizen_id",
                                 "duplicate_of_source", "duplicate_of_record_id", "tags"]
    assert truth.select("source", "source_record_id").is_unique().all()
    platform_ids = set(_platform(out)["record_id"])
    assert set(truth.filter(pl.col("source") == "platform")["source_record_id"]) == platform_ids
    batch_rows = set()
    for f in sorted((out / "site_batches").rglob("*.*")):
        n = len(_read_csv_any(f)) - 1 if f.suffix == ".csv" else None
        if n is None:
            import openpyxl

            n = openpyxl.load_workbook(f, read_only=True).worksheets[0].max_row - 1
        batch_rows |= {f"{f.parent.name}/{f.name}#{i}" for i in range(1, n + 1)}
    assert set(truth.filter(pl.col("source") == "site_batch")["source_record_id"]) == batch_rows
    keys = set(zip(truth["source"], truth["source_record_id"], strict=True))
    dups = truth.filter(pl.col("duplicate_of_record_id").is_not_null())
    assert all((s, r) in keys for s, r in zip(dups["duplicate_of_source"], dups["duplicate_of_record_id"], strict=True))
    population = set(pl.read_parquet(sorted((out / "population").glob("*/part-0.parquet"))[-1])["citizen_id"])
    assert set(truth["true_citizen_id"].drop_nulls()) <= population
    migrants = truth.filter(pl.col("tags").str.contains("migrant"))
    assert migrants.height > 0 and migrants["true_citizen_id"].is_null().all()
    borrowed = truth.filter(pl.col("tags").str.contains("borrowed_identity"))
    assert borrowed.height > 0 and (borrowed["true_citizen_id"] != borrowed["recorded_citizen_id"]).all()


def test_ticket_truth(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    truth = pl.read_csv(out / "truth" / "tickets.csv", infer_schema=False)
    assert truth.select("source", "ticket_id").is_unique().all()
    assert set(truth["source"]) == {"portal", "hotline"}
    assert truth.height == round(PEOPLE / 200) + round(PEOPLE / 400)


ALL_TAGS = ["nfd", "no_diacritics", "case", "extra_spaces", "tone_placement", "id_missing", "id_malformed",
            "id_leading_zero_lost", "id_old_number", "id_typo", "id_separators", "dob_year_only", "dob_swapped",
            "dob_wrong", "gender_wrong", "gender_spelling", "name_typo", "phone_old_prefix", "phone_changed",
            "code_unpadded", "code_missing", "vaccine_spelling", "dose_number_wrong", "late_batch",
            "rekeyed_duplicate", "double_entry", "edited", "tombstoned", "borrowed_identity", "migrant", "twin"]


def test_every_dirt_kind_appears_and_rates_near_targets(scenario: tuple[Path, dict]) -> None:
    out, manifest = scenario
    on_disk = json.loads((out / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    missing = [t for t in ALL_TAGS if t not in manifest["tags"]]
    assert not missing
    rates = manifest["person_rates"]
    assert 0.03 < rates["no_or_malformed_id"] < 0.065
    assert 0.18 < rates["rest_with_wrong_detail"] < 0.33
    assert 2.1 < manifest["counts"]["doses_per_resident"] < 2.9
    assert 0.08 < manifest["tags"]["vaccine_spelling"]["rate_of_live_records"] < 0.4


def test_dirt_is_visible_in_records(scenario: tuple[Path, dict]) -> None:
    out, _ = scenario
    truth = pl.read_csv(out / "truth" / "doses.csv", infer_schema=False).filter(pl.col("source") == "platform")
    latest = _platform(out).group_by("record_id").last()
    joined = truth.join(latest, left_on="source_record_id", right_on="record_id")
    lost = joined.filter(pl.col("tags").str.contains("id_leading_zero_lost"))
    assert lost["id_number"].str.len_chars().is_in([8, 11]).all()
    clean_id = joined.filter(~pl.col("tags").str.contains("id_|borrowed_identity"))
    assert (clean_id["id_number"] == clean_id["true_citizen_id"].fill_null(clean_id["recorded_citizen_id"])).all()
    nodiac = joined.filter(pl.col("tags").str.contains("no_diacritics"))
    assert nodiac["full_name"].str.contains(r"^[\x00-\x7f]*$").all()
    old = joined.filter(pl.col("tags").str.contains("id_old_number"))
    assert old["id_number"].str.replace_all(r"\D", "").str.len_chars().is_in([8, 9]).all()


@pytest.mark.parametrize("file_format", ["utf-8", "cp1258", "xlsx"])
def test_batch_rows_keep_stt_order_beyond_nine(tmp_path: Path, file_format: str) -> None:
    import openpyxl

    from vaxclean.scenario.builder import _write_batches

    n = 12
    name = "f.xlsx" if file_format == "xlsx" else "f.csv"
    records = pl.DataFrame({"source": ["site_batch"] * n, "site_code": ["NM-001"] * n, "file_name": [name] * n,
                            "stt": list(range(n, 0, -1)), "file_format": [file_format] * n, "numeric_ids": [True] * n,
                            "serial_dates": [False] * n, "vaccinated_day": [18900] * n, "export_day": [18920] * n})
    text = ["Nguyễn Thị Hằng", "01/02/1990", "Nữ", "0912345678", "019190123456", "Xóm 1", "19", "164", "5434",
            "", "Pfizer", "FF1234"]
    fields = ["full_name", "date_of_birth", "gender", "phone", "id_number", "address", "province_code",
              "district_code", "commune_code", "workplace", "vaccine", "lot_number"]
    reported = pl.DataFrame({**{f: [v] * n for f, v in zip(fields, text, strict=True)}, "dose_number": [1] * n,
                             "site_name": ["x"] * n, "priority_group": ["y"] * n})
    _write_batches(tmp_path, records, reported)
    path = tmp_path / "site_batches" / "NM-001" / name
    if file_format == "xlsx":
        rows = [list(r) for r in openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True)]
        assert rows[1][5] == 19190123456  # numeric ID cell: the leading zero is gone
    else:
        rows = _read_csv_any(path)
        assert rows[1][1] == "Nguyễn Thị Hằng"
    assert [int(r[0]) for r in rows[1:]] == list(range(1, n + 1))
    # dated as the site wrote it: the export day, 17:00 in Vietnam (the data-quality marts' arrival evidence)
    assert path.stat().st_mtime == 18920 * 86400 + 10 * 3600


def test_tombstone_is_the_newest_version_of_its_record(tmp_path):
    import json

    from vaxclean.scenario import generate

    generate(tmp_path / "s", people=1500, seed=5)
    newest: dict[str, tuple[str, bool]] = {}
    for line in (tmp_path / "s" / "platform" / "immunizations.jsonl").open(encoding="utf-8"):
        rec = json.loads(line)
        if rec["record_id"] not in newest or rec["updated_at"] >= newest[rec["record_id"]][0]:
            newest[rec["record_id"]] = (rec["updated_at"], rec["deleted"])
    tombstoned = set()
    for line in (tmp_path / "s" / "truth" / "doses.csv").open(encoding="utf-8"):
        parts = line.rstrip("\n").split(",")
        if "tombstoned" in line:
            tombstoned.add(parts[1])
    assert tombstoned, "the scenario has tombstones"
    assert all(newest[rid][1] for rid in tombstoned)
    assert not any(deleted for rid, (_, deleted) in newest.items() if rid not in tombstoned)
