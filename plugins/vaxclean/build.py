"""The warehouse build, step by step: each function is one task of the `build_warehouse` DAG.

The layers are built by dbt into `<warehouse>/warehouse.duckdb` (one writer: the DAG runs one build at
a time), each followed by its pandera gate; publishing happens only after every gate has passed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from vaxclean.config import settings

log = logging.getLogger(__name__)

# dbt selections per layer, in build order.
LAYER_SELECTORS: dict[str, list[str]] = {
    "staging": ["resource_type:seed", "path:models/staging"],
    "marts": ["path:models/intermediate", "path:models/marts"],
}


def _warehouse_dir() -> Path:
    return settings().warehouse_dir


def gate(layer: str, run_id: str) -> dict:
    """Validate a layer with pandera; raises (failing the task) with a readable report when it fails."""
    from vaxclean.gates import run_gate
    from vaxclean.raw.layout import init_raw

    if layer == "raw":
        init_raw(settings().raw_dir)
    started = time.monotonic()
    report = run_gate(layer, warehouse_dir=_warehouse_dir(), run_id=run_id)
    summary = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


def build_layer(layer: str, run_id: str) -> dict:
    """Run `dbt build` (models + their tests) for one layer."""
    from vaxclean.raw.layout import init_raw
    from vaxclean.transform.dbt import run_dbt

    init_raw(settings().raw_dir)
    started = time.monotonic()
    # cautious: a test runs with the layer that builds all its parents (a mart test on a seed waits for the mart)
    args = ["build", "--select", *LAYER_SELECTORS[layer], "--indirect-selection", "cautious"]
    result = run_dbt(args, warehouse_dir=_warehouse_dir())
    result = dict(result or {})
    result["seconds"] = round(time.monotonic() - started, 3)
    log.info("dbt build of %s for run %s: %s", layer, run_id, result)
    return result


def publish_marts(run_id: str, run_info: dict) -> dict:
    """Publish the validated marts atomically (DuckDB file + Parquet) with the run log."""
    from vaxclean.publish import publish

    return publish(warehouse_dir=_warehouse_dir(), run_id=run_id, run_info=run_info)


def export_commune_files(run_id: str) -> dict:
    """After publishing: one worklist XLSX per commune and the write-back import files, beside the marts."""
    from vaxclean.worklists import export_worklists, export_write_back

    warehouse = _warehouse_dir()
    published = warehouse / "published"
    started = time.monotonic()
    result = {
        "worklists": export_worklists(warehouse_dir=warehouse, marts_db=published / "marts.duckdb", out_dir=published),
        "write_back": export_write_back(warehouse_dir=warehouse, out_dir=published),
    }
    result["seconds"] = round(time.monotonic() - started, 3)
    log.info("commune files for run %s exported in %.1fs", run_id, result["seconds"])
    return result
