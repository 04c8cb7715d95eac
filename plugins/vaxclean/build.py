"""The warehouse build, step by step: each function is one task of the `build_warehouse` DAG.

The layers are built by dbt into `<warehouse>/warehouse.duckdb` (one writer: the DAG runs one build at
a time), each followed by its pandera gate; publishing happens only after every gate has passed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime
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


def last_published_at(warehouse_dir: Path) -> datetime | None:
    """When the currently published marts were published (from their `ops.run_log`), or None."""
    import duckdb

    path = warehouse_dir / "published" / "marts.duckdb"
    if not path.exists():
        return None
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as pub (read_only)")
        try:
            (value,) = con.execute("select max(published_at) from pub.ops.run_log").fetchone()
        except duckdb.CatalogException:
            return None
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def gate(layer: str, run_id: str, *, quarantine_checked_since: str | None = None) -> dict:
    """Validate a layer with pandera; raises (failing the task) with a readable report when it fails.

    The raw gate's quarantine check covers the loads since the last publish (a load over the threshold
    blocks publishing until someone looks): `quarantine_checked_since` (ISO-8601) overrides that start,
    e.g. to accept a quarantined file after reading its reasons.
    """
    from vaxclean.gates import run_gate
    from vaxclean.orchestration import parse_utc
    from vaxclean.raw.layout import init_raw

    since = None
    if layer == "raw":
        init_raw(settings().raw_dir)
        since = parse_utc(quarantine_checked_since) or last_published_at(_warehouse_dir())
    started = time.monotonic()
    report = run_gate(layer, warehouse_dir=_warehouse_dir(), run_id=run_id, interval_start=since)
    summary = report.to_dict()
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


# What an incremental model's rows were computed with: when any of it changes, rebuild them all.
CODE_INPUTS = ("dbt_project.yml", "macros", "models/staging", "seeds")


def code_fingerprint(dbt_project_dir: Path) -> str:
    """SHA-256 over the files that decide how incremental models compute their rows."""
    digest = hashlib.sha256()
    for name in CODE_INPUTS:
        root = dbt_project_dir / name
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(dbt_project_dir)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def build_layer(layer: str, run_id: str) -> dict:
    """Run `dbt build` (models + their tests) for one layer.

    Incremental models (the platform staging) are fully refreshed when the code that computes their rows
    changed since the last successful build of the layer (normalisation macros, staging models, seeds).
    """
    from vaxclean.config import DBT_PROJECT_DIR
    from vaxclean.raw.layout import init_raw
    from vaxclean.transform.dbt import run_dbt

    init_raw(settings().raw_dir)
    started = time.monotonic()
    # cautious: a test runs with the layer that builds all its parents (a mart test on a seed waits for the mart)
    args = ["build", "--select", *LAYER_SELECTORS[layer], "--indirect-selection", "cautious"]
    stamp = _warehouse_dir() / "dbt" / f"{layer}_code.sha256"
    fingerprint = code_fingerprint(DBT_PROJECT_DIR)
    full_refresh = not stamp.exists() or stamp.read_text().strip() != fingerprint
    if full_refresh:
        args.append("--full-refresh")
    result = run_dbt(args, warehouse_dir=_warehouse_dir())
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    result["full_refresh"] = full_refresh
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


def generate_docs(run_id: str) -> dict:
    """`dbt docs generate` as a run artifact (`<warehouse>/dbt/target/index.html`, catalog of every model)."""
    from vaxclean.transform.dbt import run_dbt

    started = time.monotonic()
    result = run_dbt(["docs", "generate"], warehouse_dir=_warehouse_dir())
    result["index"] = str(_warehouse_dir() / "dbt" / "target" / "index.html")
    result["seconds"] = round(time.monotonic() - started, 3)
    log.info("dbt docs for run %s in %.1fs", run_id, result["seconds"])
    return result
