"""Bad data never reaches a published mart: each injected fault fails the run at the right gate with a
clear message, and the published file stays byte-identical. The build steps are the ones the
`build_warehouse` DAG runs (vaxclean.build), on a small generated scenario."""

from __future__ import annotations

import hashlib
import shutil
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from vaxclean import build
from vaxclean.gates import GateFailed
from vaxclean.orchestration import load_landing_source

WINDOW = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _published(warehouse: Path) -> dict[str, str]:
    pub = warehouse / "published"
    return {str(p.relative_to(pub)): _sha(p) for p in sorted(pub.rglob("*")) if p.is_file()}


def _published_runs(warehouse: Path) -> int:
    """Runs in the published file's run log."""
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse / 'published' / 'marts.duckdb'}' as pub (read_only)")
        return con.execute("select count(*) from pub.ops.run_log").fetchone()[0]


def _full_build(run_id: str) -> None:
    build.gate("raw", run_id)
    build.build_layer("staging", run_id)
    build.gate("staging", run_id)
    build.build_layer("marts", run_id)
    build.gate("marts", run_id)
    build.publish_marts(run_id, {"test": True})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from vaxclean.extract.api import extract_interval
    from vaxclean.scenario import generate
    from vaxclean.simulator.server import serve_in_thread

    base = tmp_path_factory.mktemp("gates")
    scenario, warehouse = base / "scenario", base / "warehouse"
    generate(scenario, people=800, seed=13)
    mp = pytest.MonkeyPatch()
    mp.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    mp.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    raw = warehouse / "raw"
    with serve_in_thread(scenario, token="t") as server:
        for endpoint in ("immunizations", "tickets"):
            extract_interval(base_url=server.url, token="t", endpoint=endpoint, since=WINDOW[0], until=WINDOW[1],
                             raw_dir=raw)
    for source in ("site_batches", "hotline", "population", "police_returns"):
        load_landing_source(source)
    _full_build("good")
    yield scenario, warehouse
    mp.undo()


def test_a_site_batch_with_a_renamed_column_is_quarantined_and_does_not_stop_the_province(built):
    """One site's file with an unreadable header is quarantined whole: an incident of the site-batch source
    (the gate warns, so the data team is alerted), not a reason to hold back every commune's marts."""
    scenario, warehouse = built
    site_dir = next(p for p in (scenario / "site_batches").iterdir() if any(p.glob("*.csv")))
    good = next(site_dir.glob("*.csv"))
    text = good.read_bytes()
    encoding = "utf-8-sig" if text.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        renamed = text.decode(encoding).replace("Số CMND/CCCD", "CCCD", 1)
    except UnicodeDecodeError:  # Windows-1258 writes some tones as combining marks: compose them first
        renamed = unicodedata.normalize("NFC", text.decode("cp1258")).replace("Số CMND/CCCD", "CCCD", 1)
    bad = site_dir / "renamed_header.csv"
    bad.write_text(renamed, encoding="utf-8")
    try:
        assert load_landing_source("site_batches")["files_quarantined"] == 1
        summary = build.gate("raw", "renamed-column")
        assert summary["passed"] and summary["warning_count"] >= 1
        (load,) = summary["quarantine"]["loads"]
        assert load["source"] == "site_batch" and load["share"] == 1.0
        assert load["reason"] == "header does not match the template"
        assert summary["quarantine"]["blocking"] == []
    finally:
        bad.unlink()


def test_a_source_over_its_limit_blocks_until_the_data_team_accepts(built, monkeypatch):
    """Above the minimum volume a source's quarantined share over the limit blocks publishing (the gate
    holds for an accept); the accept is recorded with who, and the raw gate then passes."""
    scenario, warehouse = built
    monkeypatch.setenv("VAXCLEAN_QUARANTINE_MIN_ROWS", "5")
    before = _published(warehouse)
    day = scenario / "hotline" / "2022-08-31.csv"
    lines = ["Mã cuộc gọi,Thời gian,Họ tên,Số điện thoại,Số CMND/CCCD,Ngày sinh,Mã xã,Nội dung,Phân loại,Trạng thái"]
    lines += [f"HL-T{i},2022-08-31 08:00:00,Nguyễn Văn A,0912345678,,,05434,Chưa có mũi 2,,Mới" for i in range(8)]
    lines += ["HL-T8,2022-08-31 09:00:00,too,few,fields", "HL-T9,2022-08-31 09:30:00,also,too,few"]  # 2 of 10 bad
    day.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        result = load_landing_source("hotline")
        assert result["rows_quarantined"] == 2
        with pytest.raises(GateFailed) as failed:
            build.gate("raw", "over-threshold")
        message = str(failed.value)
        assert "quarantine_share_per_source" in message and "hotline" in message and "BLOCKS" in message
        assert "Nguyễn" not in message and "0912345678" not in message  # no personal data in the report
        assert _published(warehouse) == before
        held = build.gate("raw", "over-threshold", hold_for_acceptance=True)  # what the DAG does: ask, not fail
        assert held["needs_acceptance"] and held["quarantine"]["blocking"] == ["hotline"]
        # the data team reads the reasons and approves (in Airflow: the Required Actions view)
        accepted = build.accept_quarantine("over-threshold", held, accepted_by="data.lead")
        assert accepted["passed"] and accepted["accept"]["accepted_by"] == "data.lead"
        assert build.gate("raw", "after-accept")["passed"]
    finally:
        day.unlink()


def test_a_record_breaking_a_mart_invariant_fails_the_marts_gate(built):
    _, warehouse = built
    before = _published(warehouse)
    copy = warehouse / "warehouse.duckdb.bak"
    shutil.copy(warehouse / "warehouse.duckdb", copy)
    try:
        with duckdb.connect(str(warehouse / "warehouse.duckdb")) as con:
            # dose_reconciliation is a view of the chain's last table: break the row there
            con.execute("""update intermediate.int_dose_records_sequenced set citizen_id = null
                           where source_record_id = (select min(source_record_id) from marts.dose_reconciliation
                                                     where match_status = 'verified')""")
        with pytest.raises(GateFailed) as failed:
            build.gate("marts", "broken-invariant")
        assert "credited_has_citizen_id" in str(failed.value)
        assert _published(warehouse) == before
    finally:
        shutil.move(copy, warehouse / "warehouse.duckdb")


READER = r"""
import sys, time, duckdb, json
path, stop = sys.argv[1], sys.argv[2]
import os
seen, errors = set(), []
marts = ["dose_reconciliation", "person_vaccination", "commune_worklist", "complaint_tracking", "kpi_commune_daily"]
while not os.path.exists(stop):
    try:
        con = duckdb.connect(path, read_only=True)
        counts = tuple(con.execute(f"select count(*) from marts.marts.{m}").fetchone()[0] for m in marts)
        runs = con.execute("select count(*) from marts.ops.run_log").fetchone()[0]
        con.close()
        seen.add((counts, runs))
    except Exception as exc:  # noqa: BLE001 - the test reports every error
        errors.append(repr(exc))
    time.sleep(0.05)
print(json.dumps({"seen": sorted(seen), "errors": errors}))
"""


def test_readers_never_fail_while_a_full_build_publishes(built, tmp_path):
    import json
    import subprocess
    import sys

    _, warehouse = built
    published = warehouse / "published" / "marts.duckdb"
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:  # (earlier tests left quarantined loads: accepted or below the limit)
        _full_build("while-reading")
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    result = json.loads(out)
    assert result["errors"] == []
    runs_seen = {runs for _, runs in result["seen"]}
    assert len(result["seen"]) >= 1 and runs_seen <= {1, 2}, result["seen"]
    # every observation is a whole published version: all five marts non-empty together
    assert all(all(n > 0 for n in counts) for counts, _ in result["seen"])


def test_a_future_dated_population_snapshot_is_refused_and_blocks_publishing(built):
    """A population snapshot dated 2099 would become the register every match is made against: the loader
    quarantines it with the reason, the raw gate fails for the population's load, nothing is published, and
    the register stays the last real snapshot."""
    scenario, warehouse = built
    before = _published(warehouse)
    latest = sorted(p for p in (scenario / "population").iterdir() if p.is_dir())[-1]
    future = scenario / "population" / "2099-01-01"
    shutil.copytree(latest, future)
    for part in future.glob("*.parquet"):  # other bytes than the real snapshot's (not a duplicate file)
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(part).slice(1), part)
    try:
        result = load_landing_source("population")
        assert result["files_quarantined"] >= 1 and result["files_loaded"] == 0
        reasons = [r for (r,) in duckdb.sql(
            f"select reason from read_parquet('{warehouse}/raw/quarantine/population/**/*.parquet')").fetchall()]
        assert any("snapshot dated 2099-01-01, in the future" in r for r in reasons)
        assert not (warehouse / "raw" / "population" / "snapshot_date=2099-01-01").exists()
        with pytest.raises(GateFailed) as failed:
            build.gate("raw", "future-population")
        assert "quarantine_share_per_source" in str(failed.value) and "population" in str(failed.value)
        assert "core source: 1 load(s) wholly quarantined" in str(failed.value)
        assert _published(warehouse) == before
        # the data team reads the reason, removes the snapshot and accepts its quarantine: the next build publishes
        held = build.gate("raw", "future-population", hold_for_acceptance=True)
        assert build.accept_quarantine("future-population", held, accepted_by="data.lead")["passed"]
    finally:
        shutil.rmtree(future)


def test_bad_files_of_one_site_are_incidents_and_the_province_still_publishes(built):
    """The site-batch intake's bad drops, all at once: an empty file, a header-only file, a byte-identical
    copy under another name, and a file ten times the usual size. Each ends somewhere that says what
    happened (quarantine with its reason, a load of 0 rows, the registry's duplicate, a load of every row),
    the raw gate warns (an incident, alerted) and the build publishes."""
    scenario, warehouse = built
    runs_before = _published_runs(warehouse)
    site_dir = next(p for p in sorted((scenario / "site_batches").iterdir()) if any(p.glob("*.csv")))
    source = next(site_dir.glob("*.csv"))
    lines = source.read_bytes().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    drops = {
        "empty.csv": b"",
        "header_only.csv": header,
        "copy_of_a_loaded_file.csv": source.read_bytes(),
        "ten_times.csv": header + b"".join(rows * 10 * max(1, 20 // max(len(rows), 1))),
    }
    for name, content in drops.items():
        (site_dir / name).write_bytes(content)
    try:
        result = load_landing_source("site_batches")
        assert result["files_duplicate"] == 1 and result["files_quarantined"] == 1, result
        audit = duckdb.sql(f"""
            select regexp_extract(f.file_path, '[^/]+$') as name, a.received, a.loaded, a.quarantined
            from read_parquet('{warehouse}/raw/load_audit/**/*.parquet', union_by_name = true) as a
            join read_parquet('{warehouse}/raw/file_registry/**/*.parquet', union_by_name = true) as f using (load_id)
            where f.file_path like '%{site_dir.name}/%' and regexp_extract(f.file_path, '[^/]+$') in
                ('empty.csv', 'header_only.csv', 'ten_times.csv')
        """).fetchall()
        by_name = {name: (received, loaded, quarantined) for name, received, loaded, quarantined in audit}
        assert by_name["empty.csv"] == (1, 0, 1)  # quarantined whole, with its reason
        assert by_name["header_only.csv"] == (0, 0, 0)  # read: nothing in it
        big = len(drops["ten_times.csv"].splitlines()) - 1
        assert by_name["ten_times.csv"] == (big, big, 0) and big >= 10 * len(rows)
        reasons = [r for (r,) in duckdb.sql(f"""select reason from read_parquet('{warehouse}/raw/quarantine/**/*.parquet',
            union_by_name = true) where file_path like '%/empty.csv'""").fetchall()]
        assert reasons and all("empty" in r for r in reasons)
        summary = build.gate("raw", "bad-drops")
        assert summary["passed"] and summary["quarantine"]["blocking"] == []
        _full_build("bad-drops")  # the marts gate's conservation check: every received row ends in one place
        assert _published_runs(warehouse) == runs_before + 1
    finally:
        for name in drops:
            (site_dir / name).unlink()
