"""A platform record that becomes visible after its hour was extracted, with its old `updated_at` (a site
that synchronised late), is extracted by the next scheduled run's look-back and reaches the published marts,
once."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from vaxclean import build
from vaxclean.orchestration import extract_api_window, load_landing_source
from vaxclean.simulator.server import serve_in_thread


def _hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def _conn(url: str, token: str) -> object:
    host, port = url.removeprefix("http://").split(":")
    return type("Conn", (), {"host": host, "port": int(port), "schema": "http", "password": token, "extra_dejson": {}})


def test_a_record_visible_late_with_an_old_updated_at_reaches_the_marts(tmp_path, monkeypatch):
    from vaxclean.extract.api import extract_interval
    from vaxclean.scenario import generate

    scenario, warehouse = tmp_path / "scenario", tmp_path / "warehouse"
    generate(scenario, people=300, seed=5)
    monkeypatch.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    monkeypatch.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    lines = (scenario / "platform" / "immunizations.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    versions: dict[str, int] = {}
    for r in records:
        versions[r["record_id"]] = versions.get(r["record_id"], 0) + 1
    # the late record: a live dose served once, in the middle of the history
    late = next(r for r in records[len(records) // 2:] if versions[r["record_id"]] == 1 and not r.get("deleted"))
    updated = datetime.fromisoformat(late["updated_at"]).astimezone(UTC)
    first_hour_end = _hour(updated) + timedelta(hours=1)

    # what the platform served when the late record's hour was extracted: everything but that record
    early = tmp_path / "early"
    (early / "platform").mkdir(parents=True)
    shutil.copytree(scenario / "feedback", early / "feedback")
    (early / "platform" / "immunizations.jsonl").write_text(
        "\n".join(line for line, r in zip(lines, records, strict=True) if r is not late) + "\n", encoding="utf-8")
    raw = warehouse / "raw"
    with serve_in_thread(early, token="t") as server:
        for endpoint in ("immunizations", "tickets"):
            extract_interval(base_url=server.url, token="t", endpoint=endpoint,
                             since=datetime(2020, 1, 1, tzinfo=UTC), until=first_hour_end, raw_dir=raw)

    # the record becomes visible; the next hourly run asks for its interval plus the look-back
    with serve_in_thread(scenario, token="t") as server:
        result = extract_api_window(endpoint="immunizations", conn=_conn(server.url, "t"),
                                    interval_start=first_hour_end, interval_end=first_hour_end + timedelta(hours=1),
                                    params={})
    assert result["load_id"].startswith(f"platform_immunizations:{(first_hour_end - timedelta(hours=2)).isoformat()}")
    for source in ("site_batches", "hotline", "population", "police_returns"):
        load_landing_source(source)

    build.gate("raw", "late")
    build.build_layer("staging", "late")
    build.gate("staging", "late")
    build.build_layer("marts", "late")
    build.gate("marts", "late")
    build.publish_marts("late", {"test": True})
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse / 'published' / 'marts.duckdb'}' as pub (read_only)")
        (count,) = con.execute("select count(*) from pub.marts.dose_reconciliation where source = 'platform' "
                               "and source_record_id = ?", [late["record_id"]]).fetchone()
        # read twice (the look-back overlaps the first extraction), published once
        (twice,) = con.execute("select count(*) from (select source_record_id from pub.marts.dose_reconciliation "
                               "group by source, source_record_id having count(*) > 1)").fetchone()
    assert (count, twice) == (1, 0)
    assert Path(result["path"]).exists()
