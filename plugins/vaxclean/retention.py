"""Retention of raw personal data (VAXCLEAN_RAW_RETENTION_DAYS; off by default: nothing is ever removed).

The raw lake keeps what was received, as received: that is what makes a run reproducible and a quarantined
row fixable. Two parts of it hold personal data that stops being useful after a while:

- a quarantined row's `raw_text` (the line as it arrived: a name, an ID number): after the retention period
  it is removed from the row; the row, its reason, file and line stay, so the counts still prove that
  nothing was lost (the raw gate's `quarantine_rows_match_audit`);
- population snapshots older than the period, except the newest one (the register every match is made
  against): their raw files are removed; the load audit and the file registry keep that they were loaded
  (the landing copy is the source's, never touched).

`apply_retention` runs first in every build (build_warehouse's `apply_retention` task), so the next build
no longer carries the removed values (staging rebuilds those tables whole).

Whatever the setting, temp files a killed writer left behind (`.<name>.<hex>.tmp`: a row group of personal
data, half a worklist) are removed (`remove_stale_temp_files`): under the raw lake those untouched for six
hours (a writer still at work touches its file), under the commune files all of them before an export (the
build is their only writer).
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vaxclean.raw.layout import table_dir, write_parquet_atomic

log = logging.getLogger(__name__)


RAW_TEMP_MIN_AGE_S = 6 * 3600


def remove_stale_temp_files(root: Path, min_age_s: float = 0.0) -> int:
    """Remove the temp files (`.*.tmp`) under `root` not modified for `min_age_s`; returns how many."""
    removed = 0
    cutoff = datetime.now(UTC).timestamp() - min_age_s
    for path in Path(root).rglob(".*.tmp") if Path(root).is_dir() else []:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # its writer finished meanwhile
            continue
    if removed:
        log.info("removed %d temp files left by interrupted writers under %s", removed, root)
    return removed


def apply_retention(raw_dir: Path, days: float | None, now: datetime | None = None) -> dict[str, object]:
    """Remove raw personal data older than `days` (None or 0: off) and the raw lake's stale temp files;
    returns what was removed, in counts."""
    stale = remove_stale_temp_files(raw_dir, RAW_TEMP_MIN_AGE_S)
    if not days:
        return {"enabled": False, "temp_files_removed": stale}
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    result = {"enabled": True, "days": days, "cutoff": cutoff.isoformat(timespec="seconds"), "temp_files_removed": stale,
              **_redact_quarantine(Path(raw_dir), cutoff), **_drop_old_snapshots(Path(raw_dir), cutoff.date())}
    log.info("retention of %g days: %d quarantined rows' raw text removed (%d files), %d population snapshots "
             "removed", days, result["quarantine_rows_redacted"], result["quarantine_files_rewritten"],
             len(result["population_snapshots_removed"]))
    return result


def _redact_quarantine(raw_dir: Path, cutoff: datetime) -> dict[str, int]:
    """Null the raw text of quarantine rows quarantined before `cutoff` (each file rewritten atomically)."""
    rows = files = 0
    for path in sorted(table_dir(raw_dir, "quarantine").rglob("*.parquet")):
        table = pq.read_table(path)
        old = pc.and_(pc.less(table["quarantined_at"], pa.scalar(cutoff, table.schema.field("quarantined_at").type)),
                      pc.is_valid(table["raw_text"]))
        count = pc.sum(old.cast(pa.int64())).as_py() or 0
        if not count:
            continue
        kept = pc.if_else(old, pa.scalar(None, table.schema.field("raw_text").type), table["raw_text"])
        write_parquet_atomic(table.set_column(table.schema.get_field_index("raw_text"), "raw_text", kept), path)
        rows += count
        files += 1
    return {"quarantine_rows_redacted": rows, "quarantine_files_rewritten": files}


def _drop_old_snapshots(raw_dir: Path, cutoff: date) -> dict[str, list[str]]:
    """Remove the raw population snapshots dated before `cutoff`, never the newest one."""
    from vaxclean.load.population import snapshot_folders

    snapshots = snapshot_folders(raw_dir)
    removed = []
    newest = max(snapshots, default=None)
    for day, folder in sorted(snapshots.items()):
        if day < cutoff and day != newest:
            shutil.rmtree(folder)
            removed.append(day.isoformat())
    return {"population_snapshots_removed": removed}
