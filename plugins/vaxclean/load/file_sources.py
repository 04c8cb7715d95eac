"""Loading tabular landing files (CSV / XLSX) into the raw layer, one content-keyed Parquet file each.

For every file found under `<landing>/<subdir>/`: checksum -> registry check (skip content seen before)
-> read (CSV: detect encoding, parse with physical lines; XLSX: first sheet as text) -> header check
(a bad header quarantines the whole file) -> rows that cannot be read structurally go to quarantine,
the rest to `raw/<table>/[<partition>/]<sha256>.parquet` -> quarantine + audit (`record_load`) ->
registry row, in that order, so a crash never loses or duplicates what was loaded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from vaxclean.load import registry
from vaxclean.load.headers import OTHER, HeaderError, HeaderMapping
from vaxclean.load.landing import Refused, landing_files, refusal_key
from vaxclean.load.text_files import decode_bytes, parse_csv
from vaxclean.load.xlsx_files import XlsxUnreadable, as_csv_line, read_xlsx
from vaxclean.personal_data import mask_text
from vaxclean.raw.layout import RAW_TABLES, init_raw, record_load, safe_name, table_dir, write_parquet_atomic

log = logging.getLogger(__name__)

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class FileSource:
    """A landing file source: where its files are, what they map to, and how the header is checked."""

    source: str  # load id prefix, `source` of audit / quarantine / registry rows
    landing_subdir: str
    table: str
    extensions: tuple[str, ...]
    map_header: Callable[[Sequence[str]], HeaderMapping]
    partition_column: str | None = None  # taken from the first directory level under the subdir
    # raw columns a row cannot do without (a police return row without its record key can apply to nothing):
    # a row with one of them blank is quarantined with the reason, not dropped later
    required_columns: tuple[str, ...] = ()


@dataclass
class LoadCounts:
    """What a load did, for XCom: plain counts."""

    source: str
    files_found: int = 0
    files_loaded: int = 0
    files_quarantined: int = 0
    files_unchanged: int = 0
    files_duplicate: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    blank_lines: int = 0
    outputs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LandedFile:
    """One landed file being loaded: identity and metadata shared by all its rows."""

    path: Path
    rel_path: str
    sha256: str
    size_bytes: int
    load_id: str
    partition: str | None
    loaded_at: datetime
    modified_at: datetime | None = None  # the file's modification time as landed (registry: arrival evidence)


@dataclass
class ReadResult:
    """A file read into a header, well-formed rows (with lines), and rejects (line, reason, raw text)."""

    header: list[str] | None
    header_raw: str
    rows: list[list[str | None]]
    line_numbers: list[int]
    rejects: list[tuple[int, str, str]]
    detail: dict[str, object]


def _read_csv(path: Path) -> ReadResult:
    decoded = decode_bytes(path.read_bytes())
    parsed = parse_csv(decoded)
    detail: dict[str, object] = {
        "format": "csv", "encoding": decoded.encoding, "delimiter": parsed.delimiter,
        "blank_lines": parsed.blank_lines, "ends_with_newline": parsed.ends_with_newline,
        "undecodable_lines": len(decoded.undecodable_lines), "header_line": parsed.header_line,
    }
    rejects = [(r.line_number, r.reason, r.raw_text) for r in parsed.rejects]
    return ReadResult(parsed.header, parsed.header_raw, parsed.rows, parsed.line_numbers, rejects, detail)


def _read_xlsx(path: Path) -> ReadResult:
    sheet = read_xlsx(path)
    width = len(sheet.header or [])
    rejects = [(row, f"{cells} cells, expected {width}", raw) for row, cells, raw in sheet.too_wide]
    detail: dict[str, object] = {"format": "xlsx", "reader": sheet.reader, "blank_lines": sheet.blank_lines,
                                 "header_line": sheet.header_line}
    return ReadResult(sheet.header, sheet.header_raw, sheet.rows, sheet.line_numbers, rejects, detail)


def _text_array(values: Sequence[str | None]) -> pa.Array:
    array = pa.array(values, pa.string())
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _other_columns(mapping: HeaderMapping, rows: list[list[str | None]]) -> pa.Array:
    positions = [i for i, target in enumerate(mapping.targets) if target == OTHER]
    names = [mapping.names[i] for i in positions]
    values = [
        json.dumps({name: (row[i] if row[i] != "" else None) for name, i in zip(names, positions, strict=True)},
                   ensure_ascii=False)
        for row in rows
    ]
    return pa.array(values, pa.string())


def _reject_rows_without(required: tuple[str, ...], mapping: HeaderMapping, read: ReadResult) -> ReadResult:
    """`read` with the rows whose required columns are blank moved to its rejects, with which column."""
    positions = [(mapping.names[i], i) for i, target in enumerate(mapping.targets) if target in required]
    if not positions:
        return read
    rows, lines, rejects = [], [], list(read.rejects)
    for row, line in zip(read.rows, read.line_numbers, strict=True):
        blank = [name for name, i in positions if not (row[i] or "").strip()]
        if blank:
            rejects.append((line, f"no {', '.join(blank)}: the row cannot be applied", as_csv_line(row)))
        else:
            rows.append(row)
            lines.append(line)
    return ReadResult(read.header, read.header_raw, rows, lines, sorted(rejects), read.detail)


def build_table(table: str, mapping: HeaderMapping, read: ReadResult, landed: LandedFile,
                partition_column: str | None) -> pa.Table:
    """The raw table's rows for a file: text columns by name, other columns as JSON, load metadata."""
    count = len(read.rows)
    columns = list(zip(*read.rows, strict=True)) if count else [() for _ in mapping.targets]
    data: dict[str, pa.Array] = {
        target: _text_array(values)
        for target, values in zip(mapping.targets, columns, strict=True) if target != OTHER
    }
    if mapping.has_other:
        data["other_columns"] = _other_columns(mapping, read.rows)
    constants = {
        "_load_id": landed.load_id, "_file_path": landed.rel_path, "_file_name": landed.path.name,
        "_file_sha256": landed.sha256,
    }
    if partition_column:
        constants[partition_column] = landed.partition
    for name, value in constants.items():
        data[name] = pa.array([value] * count, pa.string())
    data["_line_number"] = pa.array(read.line_numbers, pa.int32())
    data["_loaded_at"] = pa.array([landed.loaded_at] * count, _TS)
    schema = RAW_TABLES[table].schema
    return pa.table([data.get(f.name, pa.nulls(count, f.type)) for f in schema], schema=schema)


def _quarantine_row(source: str, landed: LandedFile, line: int | None, reason: str, raw: str) -> dict[str, object]:
    return {
        "load_id": landed.load_id, "source": source, "file_path": landed.rel_path, "page": None,
        "line_number": line, "reason": reason, "raw_text": raw, "quarantined_at": landed.loaded_at,
    }


def _partition_of(spec: FileSource, rel_parts: tuple[str, ...]) -> str | None:
    """The partition value (site / commune code) from the directory name; None if the file is not in one."""
    return rel_parts[1] if spec.partition_column and len(rel_parts) > 2 else None


def _output_path(spec: FileSource, raw_dir: Path, landed: LandedFile) -> Path:
    base = table_dir(raw_dir, spec.table)
    if spec.partition_column:
        base = base / safe_name(landed.partition or "")
    return base / f"{landed.sha256}.parquet"


def _quarantine_file(spec: FileSource, raw_dir: Path, landed: LandedFile, reason: str, raw: str,
                     detail: dict[str, object], counts: LoadCounts, line: int | None = None,
                     log_reason: str | None = None) -> None:
    """The whole file is unusable: one quarantine row, audit, registry status `quarantined`.

    `log_reason` replaces the reason in the log when the reason may quote file content (a data row taken
    for a header names people): the full reason goes to the quarantine table only.
    """
    now = datetime.now(UTC)
    detail = {**detail, "file_path": landed.rel_path, "whole_file": True}
    record_load(raw_dir, source=spec.source, load_id=landed.load_id, target=spec.table, received=1, loaded=0,
                quarantine_rows=[_quarantine_row(spec.source, landed, line, reason, raw)],
                started_at=landed.loaded_at, finished_at=now, status="quarantined",
                detail=json.dumps(detail, ensure_ascii=False))
    registry.register_file(raw_dir, source=spec.source, sha256=landed.sha256, file_path=landed.rel_path,
                           size_bytes=landed.size_bytes, load_id=landed.load_id, status=registry.STATUS_QUARANTINED,
                           modified_at=landed.modified_at)
    counts.files_quarantined += 1
    counts.rows_quarantined += 1
    log.warning("%s: quarantined the whole file %s: %s", spec.source, landed.rel_path, log_reason or reason)


def _read(spec: FileSource, landed: LandedFile) -> ReadResult | str:
    """Read a file, or return why it cannot be read at all."""
    suffix = landed.path.suffix.lower()
    if suffix not in spec.extensions:
        return f"unsupported file type {suffix or '(none)'}; expected one of {list(spec.extensions)}"
    if spec.partition_column and landed.partition is None:
        return f"file is not inside a {spec.partition_column.lstrip('_')} directory"
    if suffix == ".xlsx":
        try:
            return _read_xlsx(landed.path)
        except XlsxUnreadable as error:
            return str(error)
    return _read_csv(landed.path)


def _read_isolated(spec: FileSource, landed: LandedFile) -> ReadResult | str:
    """`_read`, where a reader that fails on this file (a bug, a file it cannot cope with, no memory for it)
    quarantines the file instead of failing the load: the files after it are still loaded, and the file is
    not read again at every run. Writing the raw layer is outside: a full disk fails the task (retried)."""
    try:
        return _read(spec, landed)
    except Exception as error:  # noqa: BLE001 - one file's failure is that file's
        # no traceback: its frames and message can quote the file's rows (names, ID numbers)
        log.error("%s: the reader failed on %s: %s: %s", spec.source, landed.rel_path, type(error).__name__,
                  mask_text(str(error).splitlines()[0] if str(error) else "")[:200])
        return f"the reader failed on this file ({type(error).__name__})"


def load_landed_file(spec: FileSource, raw_dir: Path, landed: LandedFile, counts: LoadCounts) -> None:
    """Load one new file content: data file, then quarantine + audit, then registry row."""
    read = _read_isolated(spec, landed)
    if isinstance(read, str):
        _quarantine_file(spec, raw_dir, landed, read, "", {}, counts)
        return
    counts.blank_lines += int(read.detail.get("blank_lines", 0) or 0)
    if read.header is None:
        _quarantine_file(spec, raw_dir, landed, "no header row (empty file)", "", read.detail, counts)
        return
    try:
        mapping = spec.map_header(read.header)
    except HeaderError as error:
        _quarantine_file(spec, raw_dir, landed, f"header does not match the template: {error}", read.header_raw,
                         read.detail, counts, line=int(read.detail.get("header_line") or 1),
                         log_reason=f"header does not match the template ({error.summary})")
        return
    read = _reject_rows_without(spec.required_columns, mapping, read)
    output = write_parquet_atomic(build_table(spec.table, mapping, read, landed, spec.partition_column),
                                  _output_path(spec, raw_dir, landed))
    rejects = [_quarantine_row(spec.source, landed, line, reason, raw) for line, reason, raw in read.rejects]
    detail = {**read.detail, "file_path": landed.rel_path, "output": str(output.relative_to(raw_dir))}
    record_load(raw_dir, source=spec.source, load_id=landed.load_id, target=spec.table,
                received=len(read.rows) + len(rejects), loaded=len(read.rows), quarantine_rows=rejects,
                started_at=landed.loaded_at, finished_at=datetime.now(UTC), status="loaded",
                detail=json.dumps(detail, ensure_ascii=False))
    registry.register_file(raw_dir, source=spec.source, sha256=landed.sha256, file_path=landed.rel_path,
                           size_bytes=landed.size_bytes, load_id=landed.load_id, status=registry.STATUS_LOADED,
                           modified_at=landed.modified_at)
    counts.files_loaded += 1
    counts.rows_loaded += len(read.rows)
    counts.rows_quarantined += len(rejects)
    counts.outputs.append(str(output.relative_to(raw_dir)))
    log.info("%s: loaded %s (%s): %d rows, %d quarantined, %s blank lines", spec.source, landed.rel_path,
             read.detail.get("encoding") or read.detail.get("format"), len(read.rows), len(rejects),
             read.detail.get("blank_lines"))


def refuse_entry(source: str, table: str, raw_dir: Path, landing_dir: Path, entry: Refused, counts: LoadCounts,
                 quarantine: Callable[[LandedFile, str], None]) -> None:
    """Quarantine a refused landing entry (vaxclean.load.landing) once, without reading it."""
    rel_path = entry.path.relative_to(landing_dir).as_posix()
    key, size = refusal_key(entry.path, rel_path)
    if registry.check_seen(raw_dir, source=source, sha256=key, file_path=rel_path, size_bytes=size) is not None:
        counts.files_unchanged += 1
        return
    quarantine(LandedFile(path=entry.path, rel_path=rel_path, sha256=key, size_bytes=size, load_id=f"{source}:{key[:16]}",
                          partition=None, loaded_at=datetime.now(UTC)), entry.reason)


def load_file_source(spec: FileSource, landing_dir: Path, raw_dir: Path) -> dict[str, object]:
    """Load every new file content of a source; returns counts for XCom."""
    landing_dir, raw_dir = Path(landing_dir), Path(raw_dir)
    init_raw(raw_dir)
    counts = LoadCounts(spec.source)
    files, refused = landing_files(landing_dir / spec.landing_subdir, partitioned=bool(spec.partition_column))
    for entry in refused:
        counts.files_found += 1
        refuse_entry(spec.source, spec.table, raw_dir, landing_dir, entry, counts,
                     lambda landed, reason: _quarantine_file(spec, raw_dir, landed, reason, "", {}, counts))
    for path in files:
        counts.files_found += 1
        rel = path.relative_to(landing_dir)
        rel_path = rel.as_posix()
        sha256 = registry.file_sha256(path)
        size = path.stat().st_size
        modified_at = registry.modified_time(path)
        seen = registry.check_seen(raw_dir, source=spec.source, sha256=sha256, file_path=rel_path, size_bytes=size,
                                   modified_at=modified_at)
        if seen == "unchanged":
            counts.files_unchanged += 1
            continue
        if seen == registry.STATUS_DUPLICATE:
            counts.files_duplicate += 1
            continue
        landed = LandedFile(path=path, rel_path=rel_path, sha256=sha256, size_bytes=size,
                            load_id=f"{spec.source}:{sha256[:16]}", partition=_partition_of(spec, rel.parts),
                            loaded_at=datetime.now(UTC), modified_at=modified_at)
        load_landed_file(spec, raw_dir, landed, counts)
    log.info("%s: %d files found, %d loaded, %d quarantined whole, %d unchanged, %d duplicate content; "
             "%d rows loaded, %d quarantined", spec.source, counts.files_found, counts.files_loaded,
             counts.files_quarantined, counts.files_unchanged, counts.files_duplicate, counts.rows_loaded,
             counts.rows_quarantined)
    return counts.as_dict()
