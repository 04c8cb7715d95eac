"""Population snapshots: DuckDB copy per file, snapshots kept, re-runs skipped, bad files quarantined."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vaxclean.load import load_population


def _snapshot(rows: int, offset: int = 0) -> pa.Table:
    ids = [f"0193{i + offset:08d}" for i in range(rows)]
    return pa.table({
        "citizen_id": ids,
        "old_id_number": [None] * rows,
        "full_name": ["Hoàng Văn Thụ"] * rows,
        "date_of_birth": pa.array([date(1980, 1, 1)] * rows, pa.date32()),
        "birth_year_only": [True] * rows,
        "gender": ["male"] * rows,
        "province_code": ["19"] * rows,
        "district_code": ["164"] * rows,
        "commune_code": ["05434"] * rows,
        "phone": [None] * rows,
        "status": ["active"] * rows,
    })


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_two_snapshots_are_kept_and_reloads_are_skipped(dirs):
    landing, raw = dirs
    _write(landing / "population" / "2022-01-01" / "part-0.parquet", _snapshot(50))
    _write(landing / "population" / "2022-01-01" / "part-1.parquet", _snapshot(30, offset=50))
    first = load_population(landing, raw)
    _write(landing / "population" / "2022-06-01" / "part-0.parquet", _snapshot(79))  # a death: 1 fewer
    second = load_population(landing, raw)

    assert (first["files_loaded"], first["rows_loaded"]) == (2, 80)
    assert (second["files_loaded"], second["files_unchanged"], second["rows_loaded"]) == (1, 2, 79)
    loaded = pq.read_table(raw / "population" / "snapshot_date=2022-01-01")
    assert loaded.num_rows == 80
    newer = pq.read_table(raw / "population" / "snapshot_date=2022-06-01" / "part-0.parquet")
    assert newer.schema.field("_loaded_at").type == pa.timestamp("us", tz="UTC")
    row = newer.slice(0, 1).to_pylist()[0]
    assert row["_snapshot_date"] == date(2022, 6, 1) and row["_file_path"] == "population/2022-06-01/part-0.parquet"
    assert row["citizen_id"] == "019300000000" and row["_load_id"].startswith("population:")
    audits = [r for f in (raw / "load_audit" / "population").glob("*.parquet") for r in pq.read_table(f).to_pylist()]
    assert sorted(a["received"] for a in audits) == [30, 50, 79]
    assert all(a["received"] == a["loaded"] for a in audits)


def test_snapshot_with_a_missing_column_is_quarantined(dirs):
    landing, raw = dirs
    _write(landing / "population" / "2022-01-01" / "part-0.parquet", _snapshot(5).drop_columns(["status"]))

    counts = load_population(landing, raw)

    assert (counts["files_loaded"], counts["files_quarantined"]) == (0, 1)
    [reason] = [r["reason"] for f in (raw / "quarantine" / "population").glob("*.parquet")
                for r in pq.read_table(f).to_pylist()]
    assert "status" in reason
    assert not (raw / "population" / "snapshot_date=2022-01-01").exists()


def _reasons(raw: Path) -> list[str]:
    return [r["reason"] for f in (raw / "quarantine" / "population").glob("*.parquet") for r in pq.read_table(f).to_pylist()]


def test_a_snapshot_dated_in_the_future_is_quarantined_not_made_the_register(dirs):
    landing, raw = dirs
    _write(landing / "population" / "2022-01-01" / "part-0.parquet", _snapshot(20))
    _write(landing / "population" / "2099-01-01" / "part-0.parquet", _snapshot(20, offset=5))

    counts = load_population(landing, raw)

    assert (counts["files_loaded"], counts["files_quarantined"]) == (1, 1)
    [reason] = _reasons(raw)
    assert "snapshot dated 2099-01-01, in the future" in reason
    assert not (raw / "population" / "snapshot_date=2099-01-01").exists()


def test_a_partial_snapshot_is_quarantined_unless_the_loss_is_accepted(dirs, tmp_path, monkeypatch):
    landing, raw = dirs
    _write(landing / "population" / "2022-01-01" / "part-0.parquet", _snapshot(100))
    load_population(landing, raw)
    # the next export stopped half way: two parts of three
    _write(landing / "population" / "2022-06-01" / "part-0.parquet", _snapshot(30))
    _write(landing / "population" / "2022-06-01" / "part-1.parquet", _snapshot(30, offset=30))

    counts = load_population(landing, raw)

    assert (counts["files_loaded"], counts["files_quarantined"]) == (0, 2)
    reasons = _reasons(raw)
    assert len(reasons) == 2 and all("lists 60 citizens, 40.0 % fewer than snapshot 2022-01-01 (100)" in r
                                     for r in reasons)
    assert not (raw / "population" / "snapshot_date=2022-06-01").exists()

    # a real change of that size, accepted by raising the setting (a fresh raw layer: the refusal is registered)
    monkeypatch.setenv("VAXCLEAN_POPULATION_MAX_LOSS_SHARE", "0.5")
    fresh = tmp_path / "fresh_raw"
    _write(landing / "older" / "population" / "2022-01-01" / "part-0.parquet", _snapshot(100))
    load_population(landing / "older", fresh)
    accepted = load_population(landing, fresh)
    assert accepted["files_loaded"] == 2 and (fresh / "population" / "snapshot_date=2022-06-01").exists()


def test_a_refused_snapshot_is_read_again_once_the_setting_allows_it(dirs, monkeypatch):
    """Raising VAXCLEAN_POPULATION_MAX_LOSS_SHARE is enough: the next load reads the refused snapshot, under a
    load of its own that supersedes the refusal, and the raw gate no longer counts the refusal (the
    population is a core source: the refusal held publishing)."""
    import json

    from vaxclean.gates import GateFailed, run_gate

    landing, raw = dirs
    _write(landing / "population" / "2022-01-01" / "part-0.parquet", _snapshot(100))
    load_population(landing, raw)
    _write(landing / "population" / "2022-06-01" / "part-0.parquet", _snapshot(60))
    assert load_population(landing, raw)["files_quarantined"] == 1
    with pytest.raises(GateFailed) as held:
        run_gate("raw", warehouse_dir=raw.parent, run_id="held")
    assert held.value.report.quarantine["blocking"] == ["population"]
    assert load_population(landing, raw)["files_unchanged"] == 2  # still refused: not read again

    monkeypatch.setenv("VAXCLEAN_POPULATION_MAX_LOSS_SHARE", "0.5")
    again = load_population(landing, raw)
    assert (again["files_loaded"], again["rows_loaded"]) == (1, 60)
    assert (raw / "population" / "snapshot_date=2022-06-01").exists()
    details = [json.loads(r["detail"]) for r in pq.read_table(raw / "load_audit" / "population").to_pylist()]
    (reload,) = [d for d in details if d.get("supersedes")]
    assert reload["supersedes"].startswith("population:") and reload["snapshot_date"] == "2022-06-01"
    report = run_gate("raw", warehouse_dir=raw.parent, run_id="after")
    assert report.passed and [load["load_id"] for load in report.quarantine["superseded"]] == [reload["supersedes"]]
    assert load_population(landing, raw)["files_unchanged"] == 2  # loaded: not read a third time
