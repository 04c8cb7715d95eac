"""The registry of landed files: one `file_registry` row per file content, keyed by SHA-256.

Layout: `raw/file_registry/<source>/<sha256>.parquet` holds the row of the first path a content was
seen under (status `loaded` or `quarantined`); the same content seen again under another path gets
`raw/file_registry/<source>/<sha256>__dup_<path hash>.parquet` (status `duplicate_content`) and is not
loaded again. The registry row is written last, after the data, quarantine and audit files, so a crash
before it only causes the same (content-keyed) files to be rewritten on the next run.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from vaxclean.raw.layout import rows_to_table, table_dir, write_parquet_atomic

log = logging.getLogger(__name__)

REGISTRY_TABLE = "file_registry"
STATUS_LOADED = "loaded"
STATUS_QUARANTINED = "quarantined"
STATUS_DUPLICATE = "duplicate_content"

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def registry_dir(raw_dir: Path, source: str) -> Path:
    return table_dir(raw_dir, REGISTRY_TABLE) / source


def _primary_path(raw_dir: Path, source: str, sha256: str) -> Path:
    return registry_dir(raw_dir, source) / f"{sha256}.parquet"


def _duplicate_path(raw_dir: Path, source: str, sha256: str, file_path: str) -> Path:
    path_hash = hashlib.sha256(file_path.encode("utf-8")).hexdigest()[:16]
    return registry_dir(raw_dir, source) / f"{sha256}__dup_{path_hash}.parquet"


def registered_path(raw_dir: Path, source: str, sha256: str) -> str | None:
    """The landing-relative path a content was first registered under, or None if never seen."""
    primary = _primary_path(raw_dir, source, sha256)
    if not primary.exists():
        return None
    paths = pq.read_table(primary, columns=["file_path"]).column("file_path").to_pylist()
    return str(paths[0]) if paths else ""


def registered_row(raw_dir: Path, source: str, sha256: str) -> dict | None:
    """The registry row of a content's first path (status, load id, ...), or None if never seen."""
    primary = _primary_path(raw_dir, source, sha256)
    if not primary.exists():
        return None
    rows = pq.read_table(primary).to_pylist()
    return rows[0] if rows else None


def register_file(
    raw_dir: Path,
    *,
    source: str,
    sha256: str,
    file_path: str,
    size_bytes: int,
    load_id: str | None,
    status: str,
    modified_at: datetime | None = None,
) -> Path:
    """Write one registry row (idempotent: the file name is keyed by content, and path for duplicates).
    `modified_at`: the file's modification time as landed (when its sender wrote it)."""
    if status == STATUS_DUPLICATE:
        target = _duplicate_path(raw_dir, source, sha256, file_path)
    else:
        target = _primary_path(raw_dir, source, sha256)
    row = {
        "file_sha256": sha256, "source": source, "file_path": file_path, "size_bytes": size_bytes,
        "load_id": load_id, "status": status, "registered_at": datetime.now(UTC), "file_modified_at": modified_at,
    }
    return write_parquet_atomic(rows_to_table(REGISTRY_TABLE, [row]), target)


def modified_time(path: Path) -> datetime:
    """A file's modification time (UTC)."""
    return datetime.fromtimestamp(Path(path).stat().st_mtime, UTC)


def check_seen(raw_dir: Path, *, source: str, sha256: str, file_path: str, size_bytes: int,
               modified_at: datetime | None = None) -> str | None:
    """Decide whether a landed file must be skipped; registers re-dropped content as a duplicate.

    Returns None for a new content (to be loaded), "unchanged" for the same file seen again under its
    registered path, or "duplicate_content" for known content under another path.
    """
    first_path = registered_path(raw_dir, source, sha256)
    if first_path is None:
        return None
    if first_path == file_path:
        return "unchanged"
    if not _duplicate_path(raw_dir, source, sha256, file_path).exists():
        register_file(raw_dir, source=source, sha256=sha256, file_path=file_path, size_bytes=size_bytes,
                      load_id=None, status=STATUS_DUPLICATE, modified_at=modified_at)
        log.info("%s: %s has the content of an already registered file; not loaded again", source, file_path)
    return STATUS_DUPLICATE
