"""Publishing is atomic: readers in another process never see a partial mart; failures change nothing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vaxclean.gates import GateFailed
from vaxclean.publish import publish
from vaxclean.schemas import examples

MARTS = sorted(examples.MART_EXAMPLES)

READER = r"""
import json, sys, pathlib, duckdb
db, out, stop, ready = (pathlib.Path(p) for p in sys.argv[1:5])
marts, mode = sys.argv[5].split(","), sys.argv[6]
def counts(con):
    return [con.execute(f"select count(*) from marts.marts.{m}").fetchall()[0][0] for m in marts]
# "held": one connection kept open across every publish (it keeps the old inode; note that DuckDB
# caches the open database per path, so new connections of this process see the old file too).
held = duckdb.connect(str(db), read_only=True) if mode == "held" else None
seen, errors = [], []
while not stop.exists():
    try:
        con = held or duckdb.connect(str(db), read_only=True)
        try:
            seen.append(counts(con))
        finally:
            if held is None:
                con.close()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    ready.touch()
out.write_text(json.dumps({"seen": seen, "errors": errors}))
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(warehouse: Path, scale: int) -> list[int]:
    marts, sources = examples.consistent_marts(scale)
    examples.write_warehouse(warehouse / "warehouse.duckdb", {"marts": marts, **sources})
    return [marts[m].height for m in MARTS]


def test_publish_writes_marts_parquet_and_an_accumulating_run_log(tmp_path: Path) -> None:
    expected = _load(tmp_path, 1)
    first = publish(warehouse_dir=tmp_path, run_id="r1",
                    run_info={"interval_start": "2022-01-05T00:00:00+00:00", "counts": {"marts": 5}})
    publish(warehouse_dir=tmp_path, run_id="r2", run_info={"gate_results": {"marts": "passed"}})
    publish(warehouse_dir=tmp_path, run_id="r2", run_info={"gate_results": {"marts": "passed"}})  # re-run

    assert first["gate_passed"] and [first["mart_rows"][m] for m in MARTS] == expected
    with duckdb.connect(first["published_db"], read_only=True) as con:
        log = con.execute("select run_id, interval_start, counts from marts.ops.run_log order by run_id").fetchall()
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_name = 'dose_reconciliation'").fetchall())
    assert [r[0] for r in log] == ["r1", "r2"]
    assert str(log[0][1]) == "2022-01-05 00:00:00" and json.loads(log[0][2]) == {"marts": 5}
    assert types["issues"] == "VARCHAR[]" and types["dose_sequence"] == "INTEGER"
    for mart, rows in zip(MARTS, expected, strict=True):
        assert pl.read_parquet(tmp_path / "published" / "parquet" / f"{mart}.parquet").height == rows
    assert not list((tmp_path / "published").rglob("*.tmp"))


def test_failed_publish_leaves_the_published_files_byte_identical(tmp_path: Path) -> None:
    _load(tmp_path, 1)
    publish(warehouse_dir=tmp_path, run_id="good", run_info={})
    published = tmp_path / "published"
    before = {p: _sha(p) for p in published.rglob("*") if p.is_file()}

    marts, sources = examples.consistent_marts(2)
    marts["dose_reconciliation"] = marts["dose_reconciliation"].with_columns(citizen_id=pl.lit(None, pl.String))
    examples.write_warehouse(tmp_path / "warehouse.duckdb", {"marts": marts, **sources})
    with pytest.raises(GateFailed, match="credited_has_citizen_id"):
        publish(warehouse_dir=tmp_path, run_id="bad", run_info={})

    after = {p: _sha(p) for p in published.rglob("*") if p.is_file()}
    assert after == before


def test_readers_in_another_process_never_see_a_partial_publish(tmp_path: Path) -> None:
    versions = {scale: _load(tmp_path, scale) for scale in (1, 2, 3, 4)}
    _load(tmp_path, 1)
    publish(warehouse_dir=tmp_path, run_id="v1", run_info={})
    db = tmp_path / "published" / "marts.duckdb"
    stop = tmp_path / "stop"
    readers = {}
    for mode in ("fresh", "held"):
        out, ready = tmp_path / f"{mode}.json", tmp_path / f"{mode}.ready"
        cmd = [sys.executable, "-c", READER, str(db), str(out), str(stop), str(ready), ",".join(MARTS), mode]
        readers[mode] = (subprocess.Popen(cmd), out, ready)
    try:
        for process, _, ready in readers.values():
            _wait_for(ready.exists, process)
        for scale in (2, 3, 4, 2, 3):
            _load(tmp_path, scale)
            publish(warehouse_dir=tmp_path, run_id=f"v{scale}-{time.monotonic_ns()}", run_info={})
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.touch()
        for process, _, _ in readers.values():
            process.wait(timeout=30)
    fresh, held = (json.loads(readers[m][1].read_text()) for m in ("fresh", "held"))

    assert fresh["errors"] == [] and held["errors"] == []
    allowed = {tuple(v) for v in versions.values()}
    assert all(tuple(counts) in allowed for counts in fresh["seen"])  # never a partial or mixed version
    assert len({tuple(c) for c in fresh["seen"]}) >= 2  # the reader did see publishes happen
    assert tuple(fresh["seen"][-1]) == tuple(versions[3])
    assert {tuple(c) for c in held["seen"]} == {tuple(versions[1])}  # an open connection keeps the old file


def _wait_for(condition, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "reader exited early"
        assert time.monotonic() < deadline, "reader never became ready"
        time.sleep(0.05)


def test_a_copy_with_the_fingerprints_of_the_passed_marts_gate_is_not_validated_again(tmp_path: Path) -> None:
    from vaxclean.gates import run_gate

    expected = _load(tmp_path, 1)
    gate = run_gate("marts", warehouse_dir=tmp_path, run_id="r1")
    result = publish(warehouse_dir=tmp_path, run_id="r1", run_info={})

    assert result["validated_by"] == "fingerprints of the passed marts gate"
    saved = json.loads(Path(result["gate_report"]).read_text())
    assert saved["passed"] and saved["fingerprints"] == {m: gate.fingerprints[m] for m in MARTS}
    assert [(c["check"], c["status"]) for c in saved["checks"]] == [("same_as_gated_marts", "pass")]
    assert "same_as_gated_marts" in Path(result["gate_report"]).with_suffix(".txt").read_text()
    assert [result["mart_rows"][m] for m in MARTS] == expected
    # without a gate report of its run, the copy is validated by the mart gate
    assert publish(warehouse_dir=tmp_path, run_id="r2", run_info={})["validated_by"] == "mart gate on the copy"


@pytest.mark.parametrize("gated", [True, False])
def test_a_corrupted_copy_is_not_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gated: bool) -> None:
    from vaxclean.gates import run_gate
    from vaxclean.publish import publisher

    _load(tmp_path, 1)
    publish(warehouse_dir=tmp_path, run_id="good", run_info={})
    before = {p: _sha(p) for p in (tmp_path / "published").rglob("*") if p.is_file()}
    if gated:
        run_gate("marts", warehouse_dir=tmp_path, run_id="r1")
    copy_marts = publisher._copy_marts

    def corrupting_copy(con, db):  # a change the mart schemas allow: only a comparison with the source sees it
        rows = copy_marts(con, db)
        con.execute(f"update {db}.marts.dose_reconciliation set vaccine_code = 'other' where rowid = 0")
        return rows

    monkeypatch.setattr(publisher, "_copy_marts", corrupting_copy)
    with pytest.raises(publisher.CopyMismatch, match="dose_reconciliation differs from the warehouse"):
        publish(warehouse_dir=tmp_path, run_id="r1", run_info={})
    assert {p: _sha(p) for p in (tmp_path / "published").rglob("*") if p.is_file()} == before


def test_marts_changed_since_their_gate_are_validated_on_the_copy(tmp_path: Path) -> None:
    from vaxclean.gates import run_gate

    _load(tmp_path, 1)
    run_gate("marts", warehouse_dir=tmp_path, run_id="r1")
    marts, sources = examples.consistent_marts(1)
    marts["dose_reconciliation"] = marts["dose_reconciliation"].with_columns(citizen_id=pl.lit(None, pl.String))
    examples.write_warehouse(tmp_path / "warehouse.duckdb", {"marts": marts, **sources})
    with pytest.raises(GateFailed, match="credited_has_citizen_id"):
        publish(warehouse_dir=tmp_path, run_id="r1", run_info={})
    assert not (tmp_path / "published" / "marts.duckdb").exists()


def test_an_unreadable_previous_publication_is_reported_and_does_not_block(tmp_path: Path) -> None:
    """The published file overwritten by hand: the next publication goes on as if there were none, and says so
    (the DAG alerts `previous_unreadable`); the alert names no file content."""
    from vaxclean import alerts

    _load(tmp_path, 1)
    first = publish(warehouse_dir=tmp_path, run_id="r1", run_info={})
    assert first["previous_unreadable"] is False
    (tmp_path / "published" / "marts.duckdb").resolve().write_bytes(b"not a database any more")
    second = publish(warehouse_dir=tmp_path, run_id="r2", run_info={})
    assert second["previous_unreadable"] is True and second["gate_passed"]
    with duckdb.connect(second["published_db"], read_only=True) as con:
        assert [r[0] for r in con.execute("select run_id from marts.ops.run_log").fetchall()] == ["r2"]
    alert = alerts.publication_alert(second, dag_id="build_warehouse", run_id="r2")
    assert alert is not None and alert.title == "the previous publication was unreadable"
    assert alerts.publication_alert(first, dag_id="build_warehouse", run_id="r1") is None


def test_temp_files_a_killed_writer_left_are_removed(tmp_path: Path) -> None:
    import os

    from vaxclean.retention import apply_retention, remove_stale_temp_files

    raw = tmp_path / "raw" / "platform_immunizations"
    raw.mkdir(parents=True)
    old = raw / ".since=x.parquet.0a1b.tmp"
    fresh = raw / ".since=y.parquet.0c1d.tmp"
    for path in (old, fresh):
        path.write_bytes(b"rows of personal data")
    os.utime(old, (time.time() - 7 * 3600, time.time() - 7 * 3600))
    assert apply_retention(tmp_path / "raw", None)["temp_files_removed"] == 1  # a writer may still own the fresh one
    assert not old.exists() and fresh.exists()
    worklists = tmp_path / "published" / "worklists" / "164"
    worklists.mkdir(parents=True)
    (worklists / ".05434.xlsx.99ff.tmp").write_bytes(b"half a worklist")
    assert remove_stale_temp_files(tmp_path / "published" / "worklists") == 1
