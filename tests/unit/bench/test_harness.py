"""Smoke test of the benchmark harness (`vaxclean.bench`) on a tiny scenario; figures are not asserted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vaxclean.bench.harness import last_updated_at, main, write_delta


def _platform_file(path: Path) -> None:
    rows = [
        {"record_id": f"IMM0{i:08d}", "full_name": "x", "phone": "0912 345 678", "signed": False,
         "updated_at": f"2022-08-0{1 + i % 9}T00:00:00Z", "deleted": i == 3}
        for i in range(40)
    ]
    rows.sort(key=lambda r: r["updated_at"])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_delta_is_after_the_history_and_keyed(tmp_path: Path) -> None:
    source = tmp_path / "immunizations.jsonl"
    _platform_file(source)
    start = last_updated_at(source)
    assert start == datetime(2022, 8, 9, tzinfo=UTC)
    out = tmp_path / "delta" / "immunizations.jsonl"
    assert write_delta(source, out, records=20, start=start, seed=1) == 20
    delta = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["updated_at"] >= "2022-08-09T00:00:00" for r in delta)
    assert len({r["record_id"] for r in delta}) == 20
    assert not any(r["record_id"] == "IMM000000003" for r in delta)  # tombstones are not edited


def test_whole_harness_on_a_tiny_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--people", "1000", "--seed", "3", "--cache", str(tmp_path), "--skip-baselines",
                 "--delta-records", "100"])
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert code == 0, out
    stages = figures["stages"]
    for stage in ("extraction", "landing", "build.publish", "build", "delta.extraction", "incremental"):
        assert stages[stage]["seconds"] > 0, stage
    assert stages["delta.extraction"]["records"] == 100
    assert stages["probe"]["seconds"] > 0 and stages["delta.probe"]["seconds"] > 0  # the machine's speed, beside
    assert stages["incremental"]["records"] > stages["build"]["records"]  # the new records were built
    assert "bi " in stages["build.publish"]["note"]  # the publisher's split: the BI layer's part
    # every dashboard chart's query timed through Superset on the run's BI layer
    assert figures["dashboards"]["charts"] == 36 and 0 < figures["dashboards"]["p50_s"] <= figures["dashboards"]["p95_s"]
    assert not (tmp_path / "run-p1000-s3").exists()  # the run directory is removed unless --keep-run
    assert (tmp_path / "scenario-p1000-s3" / "truth" / "manifest.json").exists()  # the scenario is cached


def test_replay_times_another_incremental_build_on_the_kept_run(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--people", "1000", "--seed", "3", "--cache", str(tmp_path), "--skip-baselines", "--skip-dashboards",
              "--delta-records", "50"]
    assert main([*common, "--keep-run"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*common, "--replay"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["replay"] == 1 and set(again["stages"]) >= {"delta.extraction", "incremental"}
    assert "build" not in again["stages"]  # no full build
    assert again["stages"]["incremental"]["records"] > first["stages"]["incremental"]["records"]
    assert (tmp_path / "run-p1000-s3" / "delta_scenario-1").is_dir()  # the run is kept for the next replay
    assert main([*common, "--replay"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["replay"] == 2
