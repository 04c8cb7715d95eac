"""The raw layer: an append-only Parquet lake under `<warehouse>/raw/`, one directory per raw table.

Why Parquet files rather than tables in the warehouse DuckDB file: extraction DAGs run hourly and
the warehouse build runs whenever raw inputs change; DuckDB allows one writer per file, so intake
writes immutable Parquet files (atomically: temp file, then rename) and dbt reads them as sources.

Every file of a table is keyed by what it holds, so re-running a load replaces the same file:
- API tables: one file per extracted interval, `since=<ts>__until=<ts>.parquet`;
- file tables: one file per landed file *content*, `<sha256>.parquet` (re-dropped identical files are
  not loaded again; a changed file has a new checksum and is a new version);
- population: one directory per snapshot date.

Each table directory holds `_empty.parquet` (no rows, the table's schema) so readers never see an
empty glob. Load metadata columns start with `_`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vaxclean.permissions import private_umask

_TS = pa.timestamp("us", tz="UTC")

API_META = [
    ("_load_id", pa.string()),
    ("_interval_start", _TS),
    ("_interval_end", _TS),
    ("_extracted_at", _TS),
    ("_page", pa.int32()),
    ("_row_in_page", pa.int32()),
]

FILE_META = [
    ("_load_id", pa.string()),
    ("_file_path", pa.string()),  # relative to the landing directory, e.g. site_batches/F01/a.xlsx
    ("_file_name", pa.string()),
    ("_file_sha256", pa.string()),
    ("_line_number", pa.int32()),  # 1-based line (CSV) or row (XLSX) in the file; the header is 1
    ("_loaded_at", _TS),
]


def _text(*names: str) -> list[tuple[str, pa.DataType]]:
    return [(name, pa.string()) for name in names]


# Site batch columns, in the template's order (sources.md §2), as the raw layer names them.
SITE_BATCH_HEADERS: dict[str, str] = {
    "STT": "stt",
    "Họ và tên": "full_name",
    "Ngày sinh": "date_of_birth",
    "Giới tính": "gender",
    "Số điện thoại": "phone",
    "Số CMND/CCCD": "id_number",
    "Địa chỉ": "address",
    "Mã tỉnh": "province_code",
    "Mã huyện": "district_code",
    "Mã xã": "commune_code",
    "Đơn vị công tác": "workplace",
    "Tên vắc xin": "vaccine",
    "Số lô": "lot_number",
    "Mũi tiêm": "dose_number",
    "Ngày tiêm": "vaccinated_on",
}

HOTLINE_HEADERS: dict[str, str] = {
    "Mã cuộc gọi": "call_id",
    "Thời gian": "called_at",
    "Họ tên": "full_name",
    "Số điện thoại": "phone",
    "Số CMND/CCCD": "id_number",
    "Ngày sinh": "date_of_birth",
    "Mã xã": "commune_code",
    "Nội dung": "description",
    "Phân loại": "category",
    "Trạng thái": "status",
}

# Police returns: keyed by Nguồn + Mã bản ghi; other worklist columns may or may not come back.
POLICE_RETURN_HEADERS: dict[str, str] = {
    "Nguồn": "source",
    "Mã bản ghi": "source_record_id",
    "Kết quả xác minh": "result",
    "Số định danh xác minh": "verified_id_number",
    "Họ tên xác minh": "verified_full_name",
    "Ngày sinh xác minh": "verified_date_of_birth",
    "Giới tính xác minh": "verified_gender",
    "Cán bộ xác minh": "verifier",
    "Ngày xác minh": "verified_on",
}
POLICE_RETURN_REQUIRED = ("Nguồn", "Mã bản ghi", "Kết quả xác minh")


@dataclass(frozen=True)
class RawTable:
    name: str
    schema: pa.Schema
    description: str


def _table(name: str, description: str, columns: Sequence[tuple[str, pa.DataType]]) -> RawTable:
    return RawTable(name, pa.schema(columns), description)


RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in [
        _table(
            "platform_immunizations",
            "Vaccination platform API records as received: one row per served version.",
            [("record_id", pa.string()), ("updated_at", pa.string()), ("deleted", pa.bool_()),
             ("payload", pa.string()), *API_META],
        ),
        _table(
            "feedback_tickets",
            "Feedback portal API tickets as received: one row per served version.",
            [("ticket_id", pa.string()), ("updated_at", pa.string()), ("payload", pa.string()), *API_META],
        ),
        _table(
            "site_batch_rows",
            "Offline site batch rows, every cell as text as read (XLSX numbers as their text).",
            [*FILE_META, ("_site_code", pa.string()), *_text(*SITE_BATCH_HEADERS.values())],
        ),
        _table(
            "hotline_calls",
            "Hotline call log rows, every cell as text.",
            [*FILE_META, *_text(*HOTLINE_HEADERS.values())],
        ),
        _table(
            "population",
            "National Population Database snapshots, one directory per snapshot date, kept.",
            [("_load_id", pa.string()), ("_snapshot_date", pa.date32()), ("_file_path", pa.string()),
             ("_loaded_at", _TS), ("citizen_id", pa.string()), ("old_id_number", pa.string()),
             ("full_name", pa.string()), ("date_of_birth", pa.date32()), ("birth_year_only", pa.bool_()),
             ("gender", pa.string()), ("province_code", pa.string()), ("district_code", pa.string()),
             ("commune_code", pa.string()), ("phone", pa.string()), ("status", pa.string())],
        ),
        _table(
            "police_returns",
            "Police verification returns, every cell as text; other returned columns kept as JSON.",
            [*FILE_META, ("_commune_code", pa.string()), *_text(*POLICE_RETURN_HEADERS.values()),
             ("other_columns", pa.string())],
        ),
        _table(
            "quarantine",
            "Rows or whole files that could not be read structurally, with the reason and the raw text.",
            [("load_id", pa.string()), ("source", pa.string()), ("file_path", pa.string()),
             ("page", pa.int32()), ("line_number", pa.int32()), ("reason", pa.string()),
             ("raw_text", pa.string()), ("quarantined_at", _TS)],
        ),
        _table(
            "load_audit",
            "One row per load: received = loaded + quarantined.",
            [("load_id", pa.string()), ("source", pa.string()), ("target", pa.string()),
             ("received", pa.int64()), ("loaded", pa.int64()), ("quarantined", pa.int64()),
             ("started_at", _TS), ("finished_at", _TS), ("status", pa.string()), ("detail", pa.string())],
        ),
        _table(
            "file_registry",
            "One row per landed file content seen: path, checksum, and what became of it.",
            [("file_sha256", pa.string()), ("source", pa.string()), ("file_path", pa.string()),
             ("size_bytes", pa.int64()), ("load_id", pa.string()), ("status", pa.string()),
             ("registered_at", _TS),
             # the file's modification time as landed: when its sender wrote it (arrival evidence)
             ("file_modified_at", _TS)],
        ),
    ]
}


def table_dir(raw_dir: Path, table: str) -> Path:
    return Path(raw_dir) / table


def table_glob(raw_dir: Path, table: str) -> str:
    """The glob a reader uses for a table (recursive: some tables have sub-directories)."""
    return str(table_dir(raw_dir, table) / "**" / "*.parquet")


def file_signature(path: Path) -> str:
    """Size, modification and change times, inode: a raw file rewritten or replaced (write_parquet_atomic
    renames a new file over it) gets a new signature."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def init_raw(raw_dir: Path) -> None:
    """Create every table directory with its `_empty.parquet`; cheap and idempotent. A table whose schema
    gained a column since its `_empty.parquet` was written gets it rewritten: readers (union by name) then see
    the new column, null in the files written before it."""
    for table in RAW_TABLES.values():
        empty = table_dir(raw_dir, table.name) / "_empty.parquet"
        if not empty.exists() or not pq.read_schema(empty).equals(table.schema):
            write_parquet_atomic(table.schema.empty_table(), empty)


def write_parquet_atomic(data: pa.Table, path: Path) -> Path:
    """Write a Parquet file so that readers see either the old file or the whole new one. The raw lake holds
    personal data as received: its files and folders are owner and group only (vaxclean.permissions)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with private_umask():
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(data, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def rows_to_table(table: str, rows: Sequence[Mapping[str, object]] | Mapping[str, Sequence[object]]) -> pa.Table:
    """Build an Arrow table of a raw table's schema from rows (dicts) or columns (dict of lists)."""
    schema = RAW_TABLES[table].schema
    if isinstance(rows, Mapping):
        return pa.table({f.name: pa.array(rows.get(f.name, [None] * _len(rows)), f.type) for f in schema},
                        schema=schema)
    return pa.Table.from_pylist(list(rows), schema=schema)


def _len(columns: Mapping[str, Sequence[object]]) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def safe_name(value: str) -> str:
    """A load id or key made safe as a file name (keeps letters, digits, - _ . =)."""
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in value)


def record_load(
    raw_dir: Path,
    *,
    source: str,
    load_id: str,
    target: str,
    received: int,
    loaded: int,
    quarantine_rows: Sequence[Mapping[str, object]] = (),
    started_at: object,
    finished_at: object,
    status: str = "loaded",
    detail: str = "",
) -> None:
    """Write a load's quarantine rows and its audit row, keyed by load id (a re-run replaces them).

    Raises ValueError when the counts do not add up: nothing may be lost silently.
    """
    quarantined = len(quarantine_rows)
    if received != loaded + quarantined:
        raise ValueError(
            f"load {load_id} of {source}: received {received} != loaded {loaded} + quarantined {quarantined}"
        )
    key = safe_name(load_id)
    q_path = table_dir(raw_dir, "quarantine") / source / f"{key}.parquet"
    if quarantine_rows:
        write_parquet_atomic(rows_to_table("quarantine", quarantine_rows), q_path)
    elif q_path.exists():
        q_path.unlink()
    audit = {
        "load_id": load_id, "source": source, "target": target, "received": received, "loaded": loaded,
        "quarantined": quarantined, "started_at": started_at, "finished_at": finished_at,
        "status": status, "detail": detail,
    }
    write_parquet_atomic(rows_to_table("load_audit", [audit]), table_dir(raw_dir, "load_audit") / source / f"{key}.parquet")
