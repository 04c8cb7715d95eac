"""Gates: hard failures with masked examples, soft thresholds, conservation, the quarantine share."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from vaxclean.gates import GateFailed, run_gate
from vaxclean.raw.layout import (
    file_signature,
    init_raw,
    record_load,
    rows_to_table,
    table_dir,
    write_parquet_atomic,
)
from vaxclean.schemas import examples

NOW = dt.datetime(2022, 1, 5, 10, 0, tzinfo=dt.UTC)


def _warehouse(tmp_path: Path, marts: dict[str, pl.DataFrame] | None = None,
               staging: dict[str, pl.DataFrame] | None = None) -> Path:
    good_marts, sources = examples.consistent_marts()
    stg = {**examples.staging_frames(), **sources["staging"], **(staging or {})}
    examples.write_warehouse(tmp_path / "warehouse.duckdb", {
        "marts": {**good_marts, **(marts or {})}, "staging": stg, "intermediate": sources["intermediate"]})
    return tmp_path


def test_valid_marts_pass_and_the_report_is_written(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    report = run_gate("marts", warehouse_dir=wh, run_id="scheduled__2022-01-05T00:00:00+00:00")
    assert report.passed
    assert {t.table for t in report.tables} == set(examples.MART_EXAMPLES)
    conserved = next(c for c in report.checks if c.check == "dose_records_conserved")
    assert conserved.status == "pass" and conserved.total_rows == 24
    saved = json.loads(Path(report.report_path).read_text())
    assert saved["passed"] is True and saved["layer"] == "marts"
    assert Path(report.report_path).parent.parent == wh / "gate_reports"
    assert Path(report.report_path).with_suffix(".txt").read_text().startswith("Gate 'marts'")


def test_credited_without_citizen_fails_with_a_clear_masked_message(tmp_path: Path) -> None:
    marts, _ = examples.consistent_marts()
    doses = marts["dose_reconciliation"]
    verified = (pl.col("match_status") == "verified") & (pl.int_range(pl.len()) < 12)
    broken = doses.with_columns(citizen_id=pl.when(verified).then(None).otherwise(pl.col("citizen_id")))
    worklist = marts["commune_worklist"].with_columns(candidate_citizen_id=pl.lit("98765"))
    wh = _warehouse(tmp_path, marts={"dose_reconciliation": broken, "commune_worklist": worklist})

    with pytest.raises(GateFailed) as caught:
        run_gate("marts", warehouse_dir=wh, run_id="r1")

    message = str(caught.value)
    assert "FAILED" in message
    assert "credited_has_citizen_id: 2 of 24 rows" in message
    assert '"match_status": "verified", "citizen_id": null' in message
    assert "candidate_citizen_id: str_matches" in message
    assert "9…(5)" in message and "98765" not in message  # personal values masked
    report = caught.value.report
    assert not report.passed and len(report.failures) == 2
    assert json.loads(Path(report.report_path).read_text())["failure_count"] == 2


def test_conservation_catches_a_lost_and_an_extra_dose_record(tmp_path: Path) -> None:
    marts, _ = examples.consistent_marts()
    doses = marts["dose_reconciliation"]
    changed = pl.concat([
        doses.slice(1),
        doses.head(1).with_columns(source=pl.lit("platform"), source_record_id=pl.lit("NEVER-RECEIVED")),
    ])
    wh = _warehouse(tmp_path, marts={"dose_reconciliation": changed})
    report = run_gate("marts", warehouse_dir=wh, run_id="r1", raise_on_failure=False)
    conserved = next(c for c in report.checks if c.check == "dose_records_conserved")
    assert conserved.status == "fail" and conserved.failed_rows == 2
    assert "1 missing from mart" in conserved.detail and "1 in mart but not received" in conserved.detail
    assert {e["source_record_id"] for e in conserved.examples} == {"F01/a.xlsx#R000000000", "NEVER-RECEIVED"}


def test_missing_table_fails(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    import duckdb

    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:
        con.execute("drop table marts.kpi_commune_daily")
    with pytest.raises(GateFailed, match="marts.kpi_commune_daily is missing"):
        run_gate("marts", warehouse_dir=wh, run_id="r1")


def test_staging_soft_check_warns_below_and_fails_above_its_threshold(tmp_path: Path) -> None:
    frame = examples.staging_frames()["stg_site_batches__batch_rows"]
    many = pl.concat([frame] * 100).with_columns(
        source_record_id=pl.format("F01/a.xlsx#{}", pl.int_range(pl.len())))
    one_typo = many.with_columns(vaccinated_on=pl.when(pl.int_range(pl.len()) == 0)
                                 .then(pl.lit(dt.date(2012, 7, 1))).otherwise(pl.col("vaccinated_on")))
    report = run_gate("staging", warehouse_dir=_warehouse(tmp_path / "a", staging={"stg_site_batches__batch_rows": one_typo}),
                      run_id="r1")
    soft = next(c for c in report.checks
                if c.check == "vaccinated_on_in_campaign" and c.table == "stg_site_batches__batch_rows")
    assert report.passed and soft.status == "warn" and soft.failed_rows == 1

    many_typos = many.with_columns(vaccinated_on=pl.lit(dt.date(2012, 7, 1)))
    with pytest.raises(GateFailed, match=r"\[SOFT\] stg_site_batches__batch_rows.vaccinated_on"):
        run_gate("staging", warehouse_dir=_warehouse(tmp_path / "b", staging={"stg_site_batches__batch_rows": many_typos}),
                 run_id="r1")


def _raw_lake(tmp_path: Path, quarantined: int, received: int = 100, source: str = "site_batches",
              load_id: str = "L1") -> Path:
    raw = tmp_path / "raw"
    init_raw(raw)
    rows = [{"load_id": load_id, "source": source, "file_path": "site_batches/F01/a.csv", "line_number": i + 2,
             "reason": "wrong column count ('Nguyen Van A')", "raw_text": "Nguyen Van A;0912345678",
             "quarantined_at": NOW}
            for i in range(quarantined)]
    record_load(raw, source=source, load_id=load_id, target="site_batch_rows", received=received,
                loaded=received - quarantined, quarantine_rows=rows, started_at=NOW, finished_at=NOW)
    frame = examples.raw_frame("site_batch_rows", 3)
    write_parquet_atomic(frame.to_arrow().cast(rows_to_table("site_batch_rows", []).schema),
                         table_dir(raw, "site_batch_rows") / "F01" / ("a" * 64 + ".parquet"))
    return tmp_path


def _share_check(report):
    return next(c for c in report.checks if c.check == "quarantine_share_per_source")


def test_a_quarantined_file_is_an_incident_of_its_source_not_a_stop(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the minimum volume a source's quarantine warns (alerted) and the gate passes, however large
    its share: one unreadable 1-row file does not stop the province."""
    monkeypatch.setenv("VAXCLEAN_QUARANTINE_MAX_SHARE", "0.05")
    monkeypatch.setenv("VAXCLEAN_QUARANTINE_MIN_ROWS", "500")
    report = run_gate("raw", warehouse_dir=_raw_lake(tmp_path / "whole", quarantined=1, received=1), run_id="r1")
    assert report.passed and _share_check(report).status == "warn"
    assert report.quarantine["loads"][0] | {"finished_at": None} == {
        "source": "site_batches", "load_id": "L1", "received": 1, "quarantined": 1, "share": 1.0,
        "reason": "wrong column count", "finished_at": None}  # the reason's kind: no quoted content
    assert next(t for t in report.tables if t.table == "site_batch_rows").rows == 3


def test_a_source_over_its_limit_above_the_minimum_volume_blocks(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAXCLEAN_QUARANTINE_MAX_SHARE", "0.05")
    monkeypatch.setenv("VAXCLEAN_QUARANTINE_MIN_ROWS", "100")
    report = run_gate("raw", warehouse_dir=_raw_lake(tmp_path / "ok", quarantined=3), run_id="r1")
    assert report.passed and _share_check(report).status == "warn"

    with pytest.raises(GateFailed) as caught:
        run_gate("raw", warehouse_dir=_raw_lake(tmp_path / "bad", quarantined=12), run_id="r1")
    report = caught.value.report
    message = str(caught.value)
    assert "[SOFT] load_audit: quarantine_share_per_source: 1 of 1 rows" in message
    assert "site_batches" in message and "BLOCKS: 12.00% of 100 rows quarantined" in message
    assert "0912345678" not in message and "Nguyen" not in message
    assert report.needs_acceptance and report.quarantine["blocking"] == ["site_batches"]
    assert [load["load_id"] for load in report.quarantine["blocked_loads"]] == ["L1"]


def test_a_core_source_blocks_on_one_wholly_quarantined_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The population register (a core source) is not proportionate: one unreadable snapshot file blocks,
    whatever its size; a hard failure beside it is not something an accept can clear."""
    monkeypatch.setenv("VAXCLEAN_QUARANTINE_MIN_ROWS", "500")
    with pytest.raises(GateFailed) as caught:
        run_gate("raw", warehouse_dir=_raw_lake(tmp_path, quarantined=1, received=1, source="population"),
                 run_id="r1")
    assert "core source: 1 load(s) wholly quarantined" in str(caught.value)
    assert caught.value.report.needs_acceptance


def test_an_accepted_load_no_longer_blocks_and_the_accept_says_who(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from vaxclean.gates.acceptance import acceptances, blocked_loads, record_acceptance

    monkeypatch.setenv("VAXCLEAN_QUARANTINE_MIN_ROWS", "10")
    warehouse = _raw_lake(tmp_path, quarantined=40)
    with pytest.raises(GateFailed) as caught:
        run_gate("raw", warehouse_dir=warehouse, run_id="r1")
    loads = blocked_loads(caught.value.report.quarantine)
    with pytest.raises(ValueError):
        record_acceptance(warehouse, loads, accepted_by="")
    record_acceptance(warehouse, loads, accepted_by="data.lead", run_id="r1")
    report = run_gate("raw", warehouse_dir=warehouse, run_id="r2")
    assert report.passed and _share_check(report).status == "pass"
    assert [a["load_id"] for a in report.quarantine["accepted"]] == ["L1"]
    (accept,) = acceptances(warehouse)
    assert accept["accepted_by"] == "data.lead" and accept["run_id"] == "r1" and accept["loads"][0]["quarantined"] == 40
    assert "accepted: site_batches/L1 (40 quarantined)" in report.summary()


def test_raw_gate_reports_a_load_whose_quarantine_does_not_match_its_audit(tmp_path: Path) -> None:
    wh = _raw_lake(tmp_path, quarantined=2)
    audit = table_dir(wh / "raw", "load_audit") / "site_batches" / "L1.parquet"
    write_parquet_atomic(rows_to_table("load_audit", [{
        "load_id": "L1", "source": "site_batches", "target": "site_batch_rows", "received": 100, "loaded": 99,
        "quarantined": 1, "started_at": NOW, "finished_at": NOW, "status": "loaded", "detail": ""}]), audit)
    with pytest.raises(GateFailed, match="quarantine_rows_match_audit: 1 of 1"):
        run_gate("raw", warehouse_dir=wh, run_id="r1")


def test_conservation_from_staging_ignores_old_versions_and_tombstones(tmp_path: Path) -> None:
    from vaxclean.gates import LIVE_DOSE_KEYS_FROM_STAGING_SQL

    report = run_gate("marts", warehouse_dir=_warehouse(tmp_path), run_id="r1",
                      live_dose_keys_sql=LIVE_DOSE_KEYS_FROM_STAGING_SQL)
    conserved = next(c for c in report.checks if c.check == "dose_records_conserved")
    assert conserved.status == "pass" and conserved.total_rows == 24


# ------------------------------------------------------------------ raw files validated once


def _site_batch_file(wh: Path) -> Path:
    return table_dir(wh / "raw", "site_batch_rows") / "F01" / ("a" * 64 + ".parquet")


def _table_result(report, table: str):
    return next(t for t in report.tables if t.table == table)


def test_raw_gate_reads_only_files_not_validated_by_a_passed_gate(tmp_path: Path) -> None:
    wh = _raw_lake(tmp_path, quarantined=0)
    first = run_gate("raw", warehouse_dir=wh, run_id="r1")
    assert _table_result(first, "site_batch_rows").rows == 3

    again = run_gate("raw", warehouse_dir=wh, run_id="r2")
    rows = _table_result(again, "site_batch_rows")
    assert again.passed and rows.rows == 0 and rows.files_unchanged == 2  # the batch file and _empty.parquet
    assert "2 files unchanged since a passed gate" in again.summary()

    frame = examples.raw_frame("site_batch_rows", 5)  # a new file: only it is read
    write_parquet_atomic(frame.to_arrow().cast(rows_to_table("site_batch_rows", []).schema),
                         table_dir(wh / "raw", "site_batch_rows") / "F02" / ("b" * 64 + ".parquet"))
    assert _table_result(run_gate("raw", warehouse_dir=wh, run_id="r3"), "site_batch_rows").rows == 5


def test_a_replaced_raw_file_is_validated_again_and_stays_unvalidated_while_it_fails(tmp_path: Path) -> None:
    wh = _raw_lake(tmp_path, quarantined=0)
    run_gate("raw", warehouse_dir=wh, run_id="r1")
    bad = examples.raw_frame("site_batch_rows", 3).with_columns(_line_number=pl.lit(0, pl.Int32))
    write_parquet_atomic(bad.to_arrow().cast(rows_to_table("site_batch_rows", []).schema), _site_batch_file(wh))

    for run_id in ("r2", "r3"):  # a failed gate records nothing: the file is read (and fails) again
        with pytest.raises(GateFailed, match=r"site_batch_rows._line_number: greater_than_or_equal_to\(1\): 3 of 3"):
            run_gate("raw", warehouse_dir=wh, run_id=run_id)


def test_raw_files_are_validated_again_when_the_checks_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = _raw_lake(tmp_path, quarantined=0)
    run_gate("raw", warehouse_dir=wh, run_id="r1")
    monkeypatch.setattr("vaxclean.gates.run.checks_version", lambda layer: "other checks")  # what run_gate calls
    assert _table_result(run_gate("raw", warehouse_dir=wh, run_id="r2"), "site_batch_rows").rows == 3


def test_raw_tables_with_checks_across_rows_are_always_read_whole(tmp_path: Path) -> None:
    from vaxclean.gates import checks_hold_per_file
    from vaxclean.schemas.raw import RAW_MODELS

    assert not checks_hold_per_file(RAW_MODELS["load_audit"].to_schema())  # unique (source, load_id)
    assert checks_hold_per_file(RAW_MODELS["site_batch_rows"].to_schema())
    wh = _raw_lake(tmp_path, quarantined=0)
    run_gate("raw", warehouse_dir=wh, run_id="r1")
    audit = table_dir(wh / "raw", "load_audit") / "site_batches" / "L1-again.parquet"  # same load id, another file
    write_parquet_atomic(rows_to_table("load_audit", [{
        "load_id": "L1", "source": "site_batches", "target": "site_batch_rows", "received": 100, "loaded": 100,
        "quarantined": 0, "started_at": NOW, "finished_at": NOW, "status": "loaded", "detail": ""}]), audit)
    with pytest.raises(GateFailed, match="load_audit: multiple_fields_uniqueness: 2 of 2 rows"):
        run_gate("raw", warehouse_dir=wh, run_id="r2")


def test_load_audit_rows_come_from_the_read_cache_while_their_files_are_unchanged(tmp_path: Path) -> None:
    """The load audit (read whole: its checks span rows) is read from gate_reports/raw_read_cache/ for the
    files whose signature the cache holds; a file written again is read from the file."""
    import duckdb

    wh = _raw_lake(tmp_path, quarantined=0)
    run_gate("raw", warehouse_dir=wh, run_id="r1")
    cache = wh / "gate_reports" / "raw_read_cache" / "load_audit.parquet"
    audit = table_dir(wh / "raw", "load_audit") / "site_batches" / "L1.parquet"
    with duckdb.connect() as con:
        cached = dict(con.execute(f"select _file, _signature from read_parquet('{cache}')").fetchall())
        assert cached == {"load_audit/site_batches/L1.parquet": file_signature(audit)}
        # a cached row that differs from its file: only a gate reading the cache sees it
        con.execute(f"copy (select * replace (90 as loaded) from read_parquet('{cache}')) to '{cache}.new' (format parquet)")
    Path(f"{cache}.new").replace(cache)
    with pytest.raises(GateFailed, match="received_is_loaded_plus_quarantined"):
        run_gate("raw", warehouse_dir=wh, run_id="r2")

    write_parquet_atomic(pq.read_table(audit), audit)  # the same rows in a new file: read from it again
    assert run_gate("raw", warehouse_dir=wh, run_id="r3").passed


def test_marts_gate_records_table_fingerprints(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    report = run_gate("marts", warehouse_dir=wh, run_id="r1")
    assert set(examples.MART_EXAMPLES) <= set(report.fingerprints)
    assert report.fingerprints["dose_reconciliation"].startswith("rows=24 ")
    saved = json.loads(Path(report.report_path).read_text())
    assert saved["fingerprints"] == report.fingerprints and saved["checks_version"] == report.checks_version


# The scoped marts as the manifest declares them (vaxclean.transform.dbt.scoped_models; the e2e incremental
# test checks the real build's list against the dbt project).
_RECORDS = {"key": "source || '/' || source_record_id", "scope": "intermediate.int_dose_scopes_sequenced",
            "scope_key": "dose_record_key"}
SCOPED_MODELS = {
    "dose_reconciliation": _RECORDS | {"relation": "marts.dose_reconciliation",
                                       "kept": "intermediate.int_dose_records_sequenced__rederived",
                                       "projection_of": "intermediate.int_dose_records_sequenced"},
    "commune_worklist": _RECORDS | {"relation": "marts.commune_worklist",
                                    "kept": "intermediate.commune_worklist__rederived"},
    "person_vaccination": {"relation": "marts.person_vaccination", "key": "citizen_id",
                           "scope": "intermediate.int_dose_scopes_credited", "scope_key": "citizen_id",
                           "kept": "intermediate.person_vaccination__rederived"},
}


def _stamp(wh: Path, layer: str, build_id: str, previous: str | None = None, excluded: tuple[str, ...] = ()) -> None:
    """What vaxclean.build.build_layer records after a successful build of a layer."""
    from vaxclean.state import build_stamp_path

    path = build_stamp_path(wh, layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"build_id": build_id, "previous_build_id": previous,
                                "full_refresh": previous is None, "excluded": list(excluded),
                                "scoped_models": SCOPED_MODELS if layer == "marts" else {}}))


def _dose_scope(wh: Path, records: list[tuple[str, str]], citizens: list[str]) -> None:
    import duckdb

    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:
        con.execute("create or replace table intermediate.int_dose_scopes_sequenced (dose_record_key varchar)")
        for source, record in records:
            con.execute("insert into intermediate.int_dose_scopes_sequenced values (?)", [f"{source}/{record}"])
        con.execute("create or replace table intermediate.int_dose_scopes_credited (citizen_id varchar)")
        for citizen in citizens:
            con.execute("insert into intermediate.int_dose_scopes_credited values (?)", [citizen])


def _break_credited(doses: pl.DataFrame, rows: pl.Expr) -> pl.DataFrame:
    """Credited rows without a citizen (a hard failure) where `rows` holds."""
    credited = pl.col("match_status").is_in(["verified", "corrected", "probable"])
    return doses.with_columns(citizen_id=pl.when(credited & rows).then(None).otherwise(pl.col("citizen_id")))


def test_marts_gate_after_an_incremental_build_reads_the_rows_it_rederived(tmp_path: Path) -> None:
    import duckdb

    wh = _warehouse(tmp_path)
    _stamp(wh, "marts", "b1")
    assert not run_gate("marts", warehouse_dir=wh, run_id="r1").scope  # a full build: everything read
    validated = json.loads((wh / "gate_reports" / "marts_validated.json").read_text())
    assert validated["build_id"] == "b1" and validated["run_id"] == "r1"

    # the next build started from b1's tables and re-derived two dose records and one citizen
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        doses = con.sql("select * from marts.dose_reconciliation").pl()
        credited = doses.filter(pl.col("match_status").is_in(["verified", "corrected", "probable"]))
        citizen = con.execute("select citizen_id from marts.person_vaccination limit 1").fetchall()[0][0]
    picked = credited.head(2).select("source", "source_record_id").rows()
    _dose_scope(wh, picked, [citizen])
    _stamp(wh, "marts", "b2", previous="b1")
    report = run_gate("marts", warehouse_dir=wh, run_id="r2")
    assert "passed the gate of build b1" in report.scope
    assert _table_result(report, "dose_reconciliation").rows == 2
    assert _table_result(report, "dose_reconciliation").table_rows == 24
    assert _table_result(report, "person_vaccination").rows == 1
    assert _table_result(report, "kpi_commune_daily").table_rows is None  # rebuilt whole: read whole
    conserved = next(c for c in report.checks if c.check == "dose_records_conserved")
    assert conserved.status == "pass" and conserved.total_rows == 2

    # a bad row the build re-derived fails the gate, and the next gate reads everything again
    in_scope = pl.struct("source", "source_record_id").is_in([{"source": s, "source_record_id": r} for s, r in picked[:1]])
    examples.write_warehouse(wh / "warehouse.duckdb", {"marts": {"dose_reconciliation": _break_credited(doses, in_scope)}})
    _stamp(wh, "marts", "b3", previous="b2")
    with pytest.raises(GateFailed, match="credited_has_citizen_id: 1 of 2 rows"):
        run_gate("marts", warehouse_dir=wh, run_id="r3")
    assert not (wh / "gate_reports" / "marts_validated.json").exists()
    _stamp(wh, "marts", "b4", previous="b3")
    report = run_gate("marts", warehouse_dir=wh, run_id="r4", raise_on_failure=False)
    assert not report.scope and _table_result(report, "dose_reconciliation").rows == 24


def test_marts_gate_reads_the_rederived_rows_where_the_build_kept_them(tmp_path: Path) -> None:
    """After an incremental build, dose_reconciliation's scope rows come from the rows the chain's last model
    kept (intermediate.int_dose_records_sequenced__rederived: the mart is a projection of it), not from the
    mart again."""
    import duckdb

    wh = _warehouse(tmp_path)
    _stamp(wh, "marts", "b1")
    run_gate("marts", warehouse_dir=wh, run_id="r1")
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        doses = con.sql("select * from marts.dose_reconciliation").pl()
    credited = doses.filter(pl.col("match_status").is_in(["verified", "corrected", "probable"]))
    picked = credited.head(2).select("source", "source_record_id").rows()
    _dose_scope(wh, picked, [])
    in_scope = pl.struct("source", "source_record_id").is_in([{"source": s, "source_record_id": r} for s, r in picked])
    first = pl.struct("source", "source_record_id").is_in([{"source": picked[0][0], "source_record_id": picked[0][1]}])
    # the kept rows carry a broken row the mart does not: the gate must have read the kept table
    kept = _break_credited(doses, first).filter(in_scope)
    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:
        con.register("kept", kept.to_arrow())
        con.execute("create table intermediate.int_dose_records_sequenced__rederived as select * from kept")
    _stamp(wh, "marts", "b2", previous="b1")
    report = run_gate("marts", warehouse_dir=wh, run_id="r2", raise_on_failure=False)
    assert "read where the build kept them: dose_reconciliation" in report.scope
    assert _table_result(report, "dose_reconciliation").rows == 2
    failed = [c for c in report.checks if c.status == "fail"]
    assert [(c.table, c.check, c.failed_rows) for c in failed] == [("dose_reconciliation", "credited_has_citizen_id", 1)]
    conserved = next(c for c in report.checks if c.check == "dose_records_conserved")
    assert conserved.status == "pass" and conserved.total_rows == 2


def test_marts_gate_reads_everything_unless_the_build_started_from_the_validated_tables(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    _stamp(wh, "marts", "b1")
    run_gate("marts", warehouse_dir=wh, run_id="r1")
    _dose_scope(wh, [], [])
    _stamp(wh, "marts", "b3", previous="b2")  # b2 was built (and maybe broken) but never passed a gate
    assert not run_gate("marts", warehouse_dir=wh, run_id="r3").scope
    _stamp(wh, "marts", "b4", previous="b3")
    report = run_gate("marts", warehouse_dir=wh, run_id="r4")  # b3 passed just now
    assert report.scope and _table_result(report, "dose_reconciliation").rows == 0


def test_staging_gate_after_an_incremental_build_reads_the_new_platform_rows_and_the_rebuilt_tables(
        tmp_path: Path) -> None:
    base = examples.staging_frames()["stg_platform__immunizations"]
    old = pl.concat([base] * 50).with_columns(source_record_id=pl.format("P{}", pl.int_range(pl.len())),
                                              last_extracted_at=pl.lit(dt.datetime(2022, 1, 5, 10, 0)))
    wh = _warehouse(tmp_path, staging={"stg_platform__immunizations": old})
    _stamp(wh, "staging", "s1")
    run_gate("staging", warehouse_dir=wh, run_id="r1")
    assert json.loads((wh / "gate_reports" / "staging_validated.json").read_text())["watermarks"] == {
        "stg_platform__immunizations": "2022-01-05 10:00:00"}

    # a record extracted again and a new one; a year-2012 date on one is 1 of 101 rows: a soft warning
    new = base.with_columns(source_record_id=pl.Series(["P0", "N1"]), last_extracted_at=pl.lit(dt.datetime(2022, 1, 6)),
                            vaccinated_on=pl.Series([dt.date(2012, 7, 1), dt.date(2021, 9, 1)]))
    platform = pl.concat([old.filter(pl.col("source_record_id") != "P0"), new])
    examples.write_warehouse(wh / "warehouse.duckdb", {"staging": {"stg_platform__immunizations": platform}})
    _stamp(wh, "staging", "s2", previous="s1", excluded=("resource_type:seed", "stg_population__citizens"))
    report = run_gate("staging", warehouse_dir=wh, run_id="r2")
    platform_result = _table_result(report, "stg_platform__immunizations")
    assert platform_result.rows == 2 and platform_result.table_rows == 101
    assert "stg_population__citizens" not in {t.table for t in report.tables}  # not rebuilt: not read
    assert "stg_site_batches__batch_rows" in {t.table for t in report.tables}
    soft = next(c for c in report.checks if c.check == "vaccinated_on_in_campaign"
                and c.table == "stg_platform__immunizations")
    assert soft.status == "warn" and (soft.failed_rows, soft.total_rows) == (1, 101)  # shares of the whole table
