"""Retention of raw personal data (vaxclean.retention): off by default; when set, old quarantined rows lose
their raw text but not their place (the counts still prove nothing was lost), and old population snapshots
go, never the newest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq

from vaxclean.gates import run_gate
from vaxclean.raw.layout import init_raw, record_load, rows_to_table, table_dir, write_parquet_atomic
from vaxclean.retention import apply_retention
from vaxclean.schemas import examples

NOW = dt.datetime(2023, 6, 1, tzinfo=dt.UTC)


def _lake(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    init_raw(raw)
    for load_id, when in (("OLD", NOW - dt.timedelta(days=500)), ("NEW", NOW - dt.timedelta(days=5))):
        rows = [{"load_id": load_id, "source": "site_batch", "file_path": "site_batches/F01/a.csv", "line_number": i,
                 "reason": "wrong column count", "raw_text": "Nguyen Van A;0912345678", "quarantined_at": when}
                for i in (2, 3)]
        record_load(raw, source="site_batch", load_id=load_id, target="site_batch_rows", received=10, loaded=8,
                    quarantine_rows=rows, started_at=when, finished_at=when)
    frame = examples.raw_frame("site_batch_rows", 3)
    write_parquet_atomic(frame.to_arrow().cast(rows_to_table("site_batch_rows", []).schema),
                         table_dir(raw, "site_batch_rows") / "F01" / ("a" * 64 + ".parquet"))
    people = examples.raw_frame("population", 2).to_arrow().cast(rows_to_table("population", []).schema)
    for day in ("2021-06-30", "2022-03-31", "2022-09-30"):
        write_parquet_atomic(people, table_dir(raw, "population") / f"snapshot_date={day}" / "part-0.parquet")
    return raw


def _raw_texts(raw: Path) -> dict[str, list]:
    texts: dict[str, list] = {}
    for path in table_dir(raw, "quarantine").rglob("*.parquet"):
        for row in pq.read_table(path).to_pylist():
            texts.setdefault(row["load_id"], []).append(row["raw_text"])
    return texts


def test_retention_is_off_by_default(tmp_path):
    raw = _lake(tmp_path)
    assert apply_retention(raw, None, NOW) == {"enabled": False, "temp_files_removed": 0}
    assert _raw_texts(raw)["OLD"] == ["Nguyen Van A;0912345678"] * 2


def test_old_quarantined_rows_lose_their_raw_text_and_old_snapshots_go_but_the_newest(tmp_path):
    raw = _lake(tmp_path)
    result = apply_retention(raw, 450, NOW)
    assert result["quarantine_rows_redacted"] == 2 and result["quarantine_files_rewritten"] == 1
    assert result["population_snapshots_removed"] == ["2021-06-30"]  # 2022-03-31 is within 450 days
    texts = _raw_texts(raw)
    assert texts["OLD"] == [None, None] and texts["NEW"] == ["Nguyen Van A;0912345678"] * 2
    assert sorted(p.name for p in table_dir(raw, "population").glob("snapshot_date=*")) == [
        "snapshot_date=2022-03-31", "snapshot_date=2022-09-30"]
    # the rows are still there: the raw gate's count of quarantined rows per load holds
    report = run_gate("raw", warehouse_dir=tmp_path, run_id="after-retention")
    match = next(c for c in report.checks if c.check == "quarantine_rows_match_audit")
    assert match.status == "pass" and match.total_rows == 2
    # a second pass removes nothing more; a short period never removes the newest snapshot
    again = apply_retention(raw, 1, NOW + dt.timedelta(days=3650))
    assert again["quarantine_rows_redacted"] == 2  # the NEW load's rows, now old too
    assert again["population_snapshots_removed"] == ["2022-03-31"]
    assert [p.name for p in table_dir(raw, "population").glob("snapshot_date=*")] == ["snapshot_date=2022-09-30"]
