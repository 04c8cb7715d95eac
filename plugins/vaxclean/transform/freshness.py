"""The freshness each raw source declares (dbt_project/models/staging/*/_*__sources.yml: `loaded_at_field`,
`warn_after`, `error_after`), checked by `dbt source freshness` and reported.

It runs on the profile's `freshness` target (an in-memory DuckDB: the sources are the raw Parquet lake), with
its own artifacts (`<warehouse>/dbt/freshness/`), so that the hourly check runs beside a build. The result is
kept as `<warehouse>/gate_reports/source_freshness.json` (this module owns it): each check compares itself
with the previous one, so that a source is alerted when it turns stale, not every hour while it stays so.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vaxclean.state import gate_reports_dir, write_atomic

log = logging.getLogger(__name__)

TARGET_DIR = "freshness"  # under <warehouse>/dbt/
REPORT = "source_freshness.json"  # under gate_reports/
RANK = {"pass": 0, "warn": 1, "error": 2, "runtime error": 2}


def report_path(warehouse_dir: Path) -> Path:
    return gate_reports_dir(warehouse_dir) / REPORT


def previous_report(warehouse_dir: Path) -> dict[str, Any]:
    """The last check's report ({} when none, or unreadable: then every stale source is news)."""
    try:
        return json.loads(report_path(warehouse_dir).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def check_source_freshness(warehouse_dir: Path, now: datetime | None = None) -> dict[str, Any]:
    """Run `dbt source freshness`, write and return the report: per source its status, newest load and age,
    `worst` status, and `worse` (sources whose status is worse than at the previous check)."""
    from vaxclean.transform.dbt import DbtFailure, run_dbt

    warehouse_dir = Path(warehouse_dir)
    sources_json = warehouse_dir / "dbt" / TARGET_DIR / "sources.json"
    sources_json.unlink(missing_ok=True)
    try:
        run_dbt(["source", "freshness", "--target", "freshness"], warehouse_dir=warehouse_dir, target_dir=TARGET_DIR)
    except DbtFailure as failure:  # a stale source makes dbt fail: its results are in sources.json all the same
        if not sources_json.exists():
            raise
        log.info("dbt source freshness: %d source(s) past a threshold", len(failure.failures))
    report = freshness_report(json.loads(sources_json.read_text(encoding="utf-8")), previous_report(warehouse_dir),
                              now or datetime.now(UTC))
    report_path(warehouse_dir).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(report_path(warehouse_dir), json.dumps(report, indent=1))
    return report


def freshness_report(sources_json: dict[str, Any], previous: dict[str, Any], now: datetime) -> dict[str, Any]:
    """dbt's sources.json as the report: one entry per source table (status, newest load, hours since, the
    declared thresholds), the worst status, and the sources that got worse since `previous`."""
    before = {s["source"]: s["status"] for s in previous.get("sources", [])}
    sources = []
    for result in sources_json.get("results", []):
        name = result["unique_id"].removeprefix("source.").split(".", 1)[-1]
        age = result.get("max_loaded_at_time_ago_in_s")
        criteria = result.get("criteria") or {}
        sources.append({
            "source": name, "status": result["status"],
            "max_loaded_at": result.get("max_loaded_at"),
            "hours_since_load": round(age / 3600, 1) if age is not None else None,
            "warn_after": _threshold(criteria.get("warn_after")), "error_after": _threshold(criteria.get("error_after")),
        })
    sources.sort(key=lambda s: (-RANK.get(s["status"], 2), s["source"]))
    worse = [s["source"] for s in sources if RANK.get(s["status"], 2) > RANK.get(before.get(s["source"], "pass"), 2)]
    worst = max((s["status"] for s in sources), key=lambda status: RANK.get(status, 2), default="pass")
    return {"checked_at": now.isoformat(timespec="seconds"), "worst": worst, "worse": worse, "sources": sources}


def _threshold(value: dict[str, Any] | None) -> str | None:
    """A dbt threshold ({count, period}) as text, None when not declared."""
    if not value or value.get("count") is None:
        return None
    return f"{value['count']} {value['period']}(s)"
