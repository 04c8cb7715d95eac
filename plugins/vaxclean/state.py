"""The build state that the build, the gates and the publisher share, under the warehouse directory:

- `dbt/<layer>_inputs.json`, the build stamp: what a layer's last successful dbt build was built from
  (vaxclean.build.build_layer writes it; the next build plans from it, the gates read its build ids);
- `gate_reports/<layer>_validated.json`: the build a passed staging or marts gate validated (the next
  gate validates only what a build that started from those tables re-derived: vaxclean.gates.scope);
- `gate_reports/raw_files_validated.json`: the raw files passed raw gates validated (vaxclean.gates.raw);
- `gate_reports/raw_read_cache/`: the rows of the raw files the raw gate reads whole (vaxclean.gates.raw);
- `gate_reports/quarantine_accepted.json`: the quarantined loads the data team accepted, with who and when
  (vaxclean.gates.acceptance).

This module only knows where the records are and reads and writes them (atomically: a reader never sees
half a record). It imports neither dbt nor DuckDB, so that the gates read the build stamp without
importing vaxclean.build.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

GATE_REPORTS = "gate_reports"  # under <warehouse>/: the gates' reports (one folder per run) and records
VALIDATED_BUILD = "{layer}_validated.json"  # under gate_reports/: the build a passed gate validated
RAW_VALIDATED_FILES = "raw_files_validated.json"  # under gate_reports/
RAW_READ_CACHE = "raw_read_cache"  # under gate_reports/: rows of raw files the raw gate reads whole
QUARANTINE_ACCEPTED = "quarantine_accepted.json"  # under gate_reports/: accepted quarantined loads


def write_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` through a temporary file renamed over it: readers see the old or the
    new content, never a part."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ------------------------------------------------------------------------------------- build stamp


def build_stamp_path(warehouse_dir: Path, layer: str) -> Path:
    """Where a layer's last successful dbt build recorded what it built from (`build_layer`)."""
    return Path(warehouse_dir) / "dbt" / f"{layer}_inputs.json"


def read_build_stamp(warehouse_dir: Path, layer: str) -> dict:
    """The stamp of the layer's last successful build ({} when there is none: the next build is full).

    The build record: code and inputs (fingerprints), run_id, build_id (unique per build),
    previous_build_id (the build whose tables an incremental build started from; null after a full
    refresh), full_refresh and why, excluded (models not rebuilt), scoped_models (the models built by
    dose-chain scope as dbt's manifest declares them: vaxclean.transform.dbt.scoped_models). dbt sees the
    decision as the var `build` (dbt_project/macros/dose_chain.sql).
    """
    try:
        return json.loads(build_stamp_path(warehouse_dir, layer).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def write_build_stamp(warehouse_dir: Path, layer: str, stamp: dict) -> None:
    """Record a successful build of the layer (the keys `read_build_stamp` lists), atomically: a build
    killed while writing leaves the previous stamp or none, never a truncated one."""
    path = build_stamp_path(warehouse_dir, layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(stamp, indent=1))


# ------------------------------------------------------------------------- the gates' own records


def gate_reports_dir(warehouse_dir: Path) -> Path:
    """Where the gates write their reports (`<run_id>/<layer>.json|.txt`) and keep their records."""
    return Path(warehouse_dir) / GATE_REPORTS


def validated_build_path(warehouse_dir: Path, layer: str) -> Path:
    """Where a passed staging or marts gate recorded the build it validated."""
    return gate_reports_dir(warehouse_dir) / VALIDATED_BUILD.format(layer=layer)


def read_validated_build(warehouse_dir: Path, layer: str) -> dict[str, Any]:
    """The build the layer's last passed gate validated ({} when none did, or the record is unreadable).

    Keys: build_id (of the build stamp), checks_version, run_id, and for staging `watermarks` (the newest
    platform extraction the gate saw)."""
    try:
        value = json.loads(validated_build_path(warehouse_dir, layer).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_validated_build(warehouse_dir: Path, layer: str, record: dict[str, Any]) -> None:
    """Record the build a passed gate validated, atomically (into gate_reports/, which must exist: run_gate
    writes it after the gate's report)."""
    write_atomic(validated_build_path(warehouse_dir, layer), json.dumps(record, indent=1, default=str))


def forget_validated_build(warehouse_dir: Path, layer: str) -> None:
    """A failed gate validated no build: the next gate validates everything."""
    validated_build_path(warehouse_dir, layer).unlink(missing_ok=True)


def raw_validated_files_path(warehouse_dir: Path) -> Path:
    """Where the raw gate lists the raw files passed raw gates validated, with the checks they passed."""
    return gate_reports_dir(warehouse_dir) / RAW_VALIDATED_FILES


def raw_read_cache_dir(warehouse_dir: Path) -> Path:
    """Where the raw gate keeps the rows of the raw files it reads whole, one Parquet file per table."""
    return gate_reports_dir(warehouse_dir) / RAW_READ_CACHE


def quarantine_accepted_path(warehouse_dir: Path) -> Path:
    """Where the data team's accepts of quarantined loads are recorded (vaxclean.gates.acceptance)."""
    return gate_reports_dir(warehouse_dir) / QUARANTINE_ACCEPTED
