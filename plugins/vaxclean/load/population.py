"""Loading National Population Database snapshots (sources.md §5) into the raw layer with DuckDB.

`<landing>/population/<yyyy-mm-dd>/*.parquet` -> `raw/population/snapshot_date=<yyyy-mm-dd>/<stem>.parquet`,
one DuckDB `COPY (select ... from read_parquet(...)) TO` per file: columns cast to the raw schema and
load metadata added, without a Python row loop. Older snapshots are kept; a file whose checksum is
registered is skipped (a snapshot already loaded is skipped as a whole).

The newest snapshot becomes the register every match is made against, so two kinds of snapshot are
quarantined whole (every file, with the reason) instead of loaded: one dated in the future (after
tomorrow, UTC), and one newer than every loaded snapshot that lists `VAXCLEAN_POPULATION_MAX_LOSS_SHARE`
(5 %) fewer citizens than the newest loaded one (a partial export; a province loses far less in a
month). The raw gate then holds publishing (the population is a core source) until the data team
approves or the snapshot loads. A refusal is marked in its load's audit (`refused_snapshot`), and every
load reads a refused snapshot again: once the setting is raised (a real change of that size) or its date
has come, it loads under a load of its own whose audit names the refusal it `supersedes`, and the raw gate
no longer counts the refusal.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from vaxclean.config import settings
from vaxclean.load import registry
from vaxclean.load.file_sources import LoadCounts, refuse_entry
from vaxclean.load.landing import landing_files
from vaxclean.raw.layout import RAW_TABLES, init_raw, record_load, safe_name, table_dir

log = logging.getLogger(__name__)

SOURCE = "population"
TABLE = "population"
LANDING_SUBDIR = "population"
_METADATA = ("_load_id", "_snapshot_date", "_file_path", "_loaded_at")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _data_columns() -> list[tuple[str, str]]:
    """(name, DuckDB type) of the snapshot's columns, from the raw schema."""
    duck_types = {"string": "VARCHAR", "date32[day]": "DATE", "bool": "BOOLEAN"}
    schema = RAW_TABLES[TABLE].schema
    return [(f.name, duck_types[str(f.type)]) for f in schema if f.name not in _METADATA]


def _snapshot_date(rel_parts: tuple[str, ...]) -> date | None:
    if len(rel_parts) != 3:
        return None
    try:
        return date.fromisoformat(rel_parts[1])
    except ValueError:
        return None


def _copy_sql(source: Path, target: Path, *, load_id: str, snapshot: date, rel_path: str,
              loaded_at: datetime) -> str:
    casts = ", ".join(f'CAST("{name}" AS {duck_type}) AS "{name}"' for name, duck_type in _data_columns())
    return (
        f"COPY (SELECT {_sql_text(load_id)} AS _load_id, DATE {_sql_text(snapshot.isoformat())} AS _snapshot_date, "
        f"{_sql_text(rel_path)} AS _file_path, TIMESTAMPTZ {_sql_text(loaded_at.isoformat())} AS _loaded_at, "
        f"{casts} FROM read_parquet({_sql_text(str(source))})) "
        f"TO {_sql_text(str(target))} (FORMAT parquet, COMPRESSION zstd)"
    )


def _missing_columns(path: Path) -> list[str]:
    present = set(pq.read_schema(path).names)
    return [name for name, _ in _data_columns() if name not in present]


def _connect() -> duckdb.DuckDBPyConnection:
    config = settings()
    connection = duckdb.connect(config={"threads": config.duckdb_threads, "memory_limit": config.duckdb_memory_limit})
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _copy_atomic(connection: duckdb.DuckDBPyConnection, source: Path, target: Path, **meta: object) -> int:
    """COPY to a temp file, then rename; returns the rows written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        result = connection.execute(_copy_sql(source, tmp, **meta)).fetchone()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return int(result[0]) if result else 0


def _quarantine(raw_dir: Path, *, load_id: str, rel_path: str, sha256: str, size: int, reason: str,
                started_at: datetime, modified_at: datetime, counts: LoadCounts, refused: bool = False) -> None:
    row = {"load_id": load_id, "source": SOURCE, "file_path": rel_path, "page": None, "line_number": None,
           "reason": reason, "raw_text": "", "quarantined_at": started_at}
    record_load(raw_dir, source=SOURCE, load_id=load_id, target=TABLE, received=1, loaded=0, quarantine_rows=[row],
                started_at=started_at, finished_at=datetime.now(UTC), status="quarantined",
                detail=json.dumps({"file_path": rel_path, "whole_file": True,
                                   **({"refused_snapshot": True} if refused else {})}))
    registry.register_file(raw_dir, source=SOURCE, sha256=sha256, file_path=rel_path, size_bytes=size,
                           load_id=load_id, status=registry.STATUS_QUARANTINED, modified_at=modified_at)
    counts.files_quarantined += 1
    counts.rows_quarantined += 1
    log.warning("population: quarantined the whole file %s: %s", rel_path, reason)


def _load_file(connection: duckdb.DuckDBPyConnection, raw_dir: Path, path: Path, rel_parts: tuple[str, ...],
               sha256: str, counts: LoadCounts, supersedes: str | None = None) -> None:
    """Load one snapshot file; `supersedes`: the load that refused it before (a load of its own, which the
    raw gate's quarantine check then no longer counts)."""
    rel_path = "/".join(rel_parts)
    size = path.stat().st_size
    started_at = datetime.now(UTC)
    load_id = f"{SOURCE}:{sha256[:16]}" + (f":{started_at:%Y%m%dT%H%M%S}" if supersedes else "")
    modified_at = registry.modified_time(path)
    common = {"load_id": load_id, "rel_path": rel_path, "sha256": sha256, "size": size, "started_at": started_at,
              "modified_at": modified_at, "counts": counts}
    snapshot = _snapshot_date(rel_parts)
    if snapshot is None:
        _quarantine(raw_dir, reason="file is not inside a population/<yyyy-mm-dd>/ snapshot directory", **common)
        return
    if path.suffix.lower() != ".parquet":
        _quarantine(raw_dir, reason=f"unsupported file type {path.suffix or '(none)'}; expected .parquet", **common)
        return
    try:
        received = pq.ParquetFile(path).metadata.num_rows
        missing = _missing_columns(path)
    except Exception as error:  # noqa: BLE001 - one unreadable file is that file's, not the load's
        _quarantine(raw_dir, reason=f"not a readable Parquet file ({type(error).__name__})", **common)
        return
    if missing:
        _quarantine(raw_dir, reason=f"missing columns {missing}", **common)
        return
    target = table_dir(raw_dir, TABLE) / f"snapshot_date={snapshot.isoformat()}" / f"{safe_name(path.stem)}.parquet"
    try:
        loaded = _copy_atomic(connection, path, target, load_id=load_id, snapshot=snapshot, rel_path=rel_path,
                              loaded_at=started_at)
    except duckdb.ConversionException as error:
        _quarantine(raw_dir, reason=f"column types do not cast to the raw schema ({type(error).__name__})", **common)
        return
    except (duckdb.InvalidInputException, duckdb.BinderException, duckdb.NotImplementedException) as error:
        # the file, not the machine (a full disk is an IOException: the task fails and is retried)
        _quarantine(raw_dir, reason=f"the file could not be copied ({type(error).__name__})", **common)
        return
    detail = {"file_path": rel_path, "snapshot_date": snapshot.isoformat(), "format": "parquet",
              "output": target.relative_to(raw_dir).as_posix(), **({"supersedes": supersedes} if supersedes else {})}
    record_load(raw_dir, source=SOURCE, load_id=load_id, target=TABLE, received=received, loaded=loaded,
                started_at=started_at, finished_at=datetime.now(UTC), detail=json.dumps(detail))
    registry.register_file(raw_dir, source=SOURCE, sha256=sha256, file_path=rel_path, size_bytes=size,
                           load_id=load_id, status=registry.STATUS_LOADED, modified_at=modified_at)
    counts.files_loaded += 1
    counts.rows_loaded += loaded
    counts.outputs.append(target.relative_to(raw_dir).as_posix())
    log.info("population: loaded %s (snapshot %s): %d rows", rel_path, snapshot, loaded)


def _rows(paths: list[Path]) -> int:
    """Rows of the readable Parquet files among `paths` (from their footers)."""
    total = 0
    for path in paths:
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError):
            continue
    return total


def snapshot_folders(raw_dir: Path) -> dict[date, Path]:
    """{snapshot date: folder} of the snapshots in the raw layer (`population/snapshot_date=<date>/`)."""
    folders: dict[date, Path] = {}
    root = table_dir(raw_dir, TABLE)
    for folder in root.glob("snapshot_date=*") if root.exists() else []:
        try:
            folders[date.fromisoformat(folder.name.split("=", 1)[1])] = folder
        except ValueError:
            continue
    return folders


def _loaded_snapshots(raw_dir: Path) -> dict[date, int]:
    """{snapshot date: rows} of the snapshots in the raw layer."""
    return {day: _rows(sorted(folder.glob("*.parquet"))) for day, folder in snapshot_folders(raw_dir).items()}


def refused_snapshots(landing_files: dict[date, list[Path]], raw_dir: Path, *, today: date,
                      max_loss_share: float) -> dict[date, str]:
    """{snapshot date: reason} of the landing snapshots that must not become the register: dated after
    tomorrow, or newer than every loaded snapshot and `max_loss_share` smaller than the newest loaded one."""
    loaded = _loaded_snapshots(raw_dir)
    newest = max(loaded) if loaded else None
    refused = {}
    for day, paths in sorted(landing_files.items()):
        if (day - today).days > 1:
            refused[day] = f"snapshot dated {day.isoformat()}, in the future (today is {today.isoformat()}): not loaded"
        elif newest is not None and day > newest and loaded[newest] > 0:
            rows = _rows(paths)
            if rows < (1 - max_loss_share) * loaded[newest]:
                refused[day] = (f"snapshot {day.isoformat()} lists {rows:,} citizens, "
                                f"{100 * (1 - rows / loaded[newest]):.1f} % fewer than snapshot {newest.isoformat()} "
                                f"({loaded[newest]:,}): a partial export? Not made the register; accept a real change "
                                f"by raising VAXCLEAN_POPULATION_MAX_LOSS_SHARE ({max_loss_share:g}): the next load "
                                f"reads it again")
    return refused


def refused_load(raw_dir: Path, sha256: str) -> str | None:
    """The load id that refused this content as a snapshot (partial or future), if that is what became of it
    last: the registry says quarantined and that load's audit says refused_snapshot."""
    row = registry.registered_row(raw_dir, SOURCE, sha256)
    if not row or row.get("status") != registry.STATUS_QUARANTINED or not row.get("load_id"):
        return None
    audit = table_dir(raw_dir, "load_audit") / SOURCE / f"{safe_name(row['load_id'])}.parquet"
    try:
        (detail,) = pq.read_table(audit, columns=["detail"]).column("detail").to_pylist()
        return row["load_id"] if json.loads(detail or "{}").get("refused_snapshot") else None
    except (OSError, ValueError):
        return None


def load_population(landing_dir: Path, raw_dir: Path) -> dict[str, object]:
    """Load new population snapshot files; returns counts for XCom."""
    landing_dir, raw_dir = Path(landing_dir), Path(raw_dir)
    init_raw(raw_dir)
    counts = LoadCounts(SOURCE)
    connection: duckdb.DuckDBPyConnection | None = None
    found, refused_entries = landing_files(landing_dir / LANDING_SUBDIR)
    for entry in refused_entries:
        counts.files_found += 1
        refuse_entry(SOURCE, TABLE, raw_dir, landing_dir, entry, counts, lambda landed, reason: _quarantine(
            raw_dir, load_id=landed.load_id, rel_path=landed.rel_path, sha256=landed.sha256, size=landed.size_bytes,
            reason=reason, started_at=landed.loaded_at, modified_at=landed.loaded_at, counts=counts))
    by_snapshot: dict[date, list[Path]] = {}
    for path in found:
        day = _snapshot_date(path.relative_to(landing_dir).parts)
        if day is not None:
            by_snapshot.setdefault(day, []).append(path)
    refused = refused_snapshots(by_snapshot, raw_dir, today=datetime.now(UTC).date(),
                                max_loss_share=settings().population_max_loss_share)
    try:
        for path in found:
            counts.files_found += 1
            rel_parts = path.relative_to(landing_dir).parts
            sha256 = registry.file_sha256(path)
            seen = registry.check_seen(raw_dir, source=SOURCE, sha256=sha256, file_path="/".join(rel_parts),
                                       size_bytes=path.stat().st_size, modified_at=registry.modified_time(path))
            day = _snapshot_date(rel_parts)
            if seen == "unchanged" and day not in refused and (previous := refused_load(raw_dir, sha256)):
                # refused before (a partial or future snapshot), not any more: the setting was raised, or the
                # date came; loaded now, superseding the refusal
                connection = connection or _connect()
                _load_file(connection, raw_dir, path, rel_parts, sha256, counts, supersedes=previous)
            elif seen == "unchanged":
                counts.files_unchanged += 1
            elif seen == registry.STATUS_DUPLICATE:
                counts.files_duplicate += 1
            elif (reason := refused.get(day)) is not None:
                _quarantine(raw_dir, load_id=f"{SOURCE}:{sha256[:16]}", rel_path="/".join(rel_parts), sha256=sha256,
                            size=path.stat().st_size, reason=reason, started_at=datetime.now(UTC),
                            modified_at=registry.modified_time(path), counts=counts, refused=True)
            else:
                connection = connection or _connect()
                _load_file(connection, raw_dir, path, rel_parts, sha256, counts)
    finally:
        if connection is not None:
            connection.close()
    log.info("population: %d files found, %d loaded, %d unchanged, %d duplicate content, %d quarantined; %d rows",
             counts.files_found, counts.files_loaded, counts.files_unchanged, counts.files_duplicate,
             counts.files_quarantined, counts.rows_loaded)
    return counts.as_dict()
