"""Extract one interval of an API endpoint into the raw layer, atomically and idempotently.

`extract_interval` pages through `[since, until)` and streams the pages into one Parquet file,
`raw/<table>/since=<ts>__until=<ts>.parquet`, written to a temp file and renamed at the end: a
failure leaves no partial file and the interval's previous file untouched; a re-run rewrites the
same file. Records that cannot be keyed (not a JSON object, no id, no updated_at, not UTF-8) go to
quarantine with their page and row; the load's audit row says received = loaded + quarantined.

The API serves a window ordered by `(updated_at, record_id)`, so versions read in order never repeat nor go
back: a version at or before the one read last means the window changed under the cursor (records
inserted or moved while paging shift an offset cursor). The window is then read again from its start,
up to VAXCLEAN_API_WINDOW_ATTEMPTS times. A shift can also skip a version without breaking the order:
the scheduled runs' look-back (vaxclean.orchestration.scheduled_window) reads every window twice.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from vaxclean.config import settings
from vaxclean.extract.client import ApiClient, ApiRequestError, RetryPolicy
from vaxclean.raw.layout import RAW_TABLES, init_raw, record_load, table_dir

log = logging.getLogger(__name__)

_TS = pa.timestamp("us", tz="UTC")
ROW_GROUP_ROWS = 50_000


@dataclass(frozen=True)
class EndpointSpec:
    endpoint: str
    table: str
    source: str
    id_field: str
    has_deleted: bool


ENDPOINTS: dict[str, EndpointSpec] = {
    "immunizations": EndpointSpec("immunizations", "platform_immunizations", "platform", "record_id", True),
    "tickets": EndpointSpec("tickets", "feedback_tickets", "feedback", "ticket_id", False),
}


class _Keys(msgspec.Struct):
    """The fields the raw layer keys a record by; the rest of the record stays in `payload`."""

    record_id: object = None
    ticket_id: object = None
    updated_at: object = None
    deleted: object = None


_KEYS_DECODER = msgspec.json.Decoder(_Keys)


def interval_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def interval_path(raw_dir: Path, table: str, since: datetime, until: datetime) -> Path:
    return table_dir(raw_dir, table) / f"since={interval_stamp(since)}__until={interval_stamp(until)}.parquet"


def load_id_of(table: str, since: datetime, until: datetime) -> str:
    return f"{table}:{since.isoformat()}:{until.isoformat()}"


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class PageRows:
    """The usable rows of one page as columns, and the quarantined ones."""

    ids: list[str]
    updated_at: list[str]
    deleted: list[bool | None]
    payloads: list[bytes]
    positions: list[int]
    quarantine: list[tuple[int, str, bytes]]  # (row in page, reason, raw bytes)


def _record_key(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def split_page(items: list[msgspec.Raw] | list[bytes], id_field: str) -> PageRows:
    """Key each record of a page (hot path: one small decode per record, no re-encoding)."""
    rows = PageRows([], [], [], [], [], [])
    decode = _KEYS_DECODER.decode
    for position, item in enumerate(items):
        text = bytes(item)
        try:
            keys = decode(text)
        except msgspec.DecodeError:
            rows.quarantine.append((position, "not a JSON object", text))
            continue
        record_id = _record_key(getattr(keys, id_field))
        updated_at = keys.updated_at
        if record_id is None:
            rows.quarantine.append((position, f"no {id_field}", text))
        elif not isinstance(updated_at, str) or not updated_at.strip():
            rows.quarantine.append((position, "no updated_at", text))
        else:
            rows.ids.append(record_id)
            rows.updated_at.append(updated_at)
            deleted = keys.deleted
            rows.deleted.append(deleted if isinstance(deleted, bool) else None)
            rows.payloads.append(text)
            rows.positions.append(position)
    _quarantine_bad_utf8(rows)
    return rows


def _quarantine_bad_utf8(rows: PageRows) -> None:
    """Move records that are not valid UTF-8 (the page decoder skips their strings) to quarantine."""
    try:
        pa.array(rows.payloads, pa.binary()).cast(pa.string())
        return
    except pa.ArrowInvalid:
        pass
    keep = []
    for index, payload in enumerate(rows.payloads):
        try:
            payload.decode("utf-8")
            keep.append(index)
        except UnicodeDecodeError:
            rows.quarantine.append((rows.positions[index], "not valid UTF-8", payload))
    for name in ("ids", "updated_at", "deleted", "payloads", "positions"):
        column = getattr(rows, name)
        setattr(rows, name, [column[i] for i in keep])
    rows.quarantine.sort()


@dataclass(frozen=True)
class LoadMeta:
    load_id: str
    since: datetime
    until: datetime


def page_table(spec: EndpointSpec, rows: PageRows, meta: LoadMeta, page: int, extracted_at: datetime) -> pa.Table:
    """The raw table's rows of one page."""
    count = len(rows.ids)
    columns: dict[str, pa.Array] = {
        spec.id_field: pa.array(rows.ids, pa.string()),
        "updated_at": pa.array(rows.updated_at, pa.string()),
        "payload": pa.array(rows.payloads, pa.binary()).cast(pa.string()),
        "_load_id": pa.repeat(pa.scalar(meta.load_id, pa.string()), count),
        "_interval_start": pa.repeat(pa.scalar(meta.since, _TS), count),
        "_interval_end": pa.repeat(pa.scalar(meta.until, _TS), count),
        "_extracted_at": pa.repeat(pa.scalar(extracted_at, _TS), count),
        "_page": pa.repeat(pa.scalar(page, pa.int32()), count),
        "_row_in_page": pa.array(rows.positions, pa.int32()),
    }
    if spec.has_deleted:
        columns["deleted"] = pa.array(rows.deleted, pa.bool_())
    schema = RAW_TABLES[spec.table].schema
    return pa.table([columns[f.name] for f in schema], schema=schema)


class AtomicParquetWriter:
    """Streams row groups into a temp file next to `path`; `commit` renames it, `abort` removes it."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        self.schema = schema
        self.row_group_rows = row_group_rows
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._pending.append(table)
            self._pending_rows += table.num_rows
        if self._pending_rows >= self.row_group_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=max(1, self._pending_rows))
        self._pending, self._pending_rows = [], 0

    def commit(self) -> Path:
        self._flush()
        self._writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)


class PagesChanged(Exception):  # noqa: N818 - a signal to read the window again
    """The versions of a window stopped coming in order: it changed under the cursor."""


def version_order(last: tuple[datetime, str] | None, rows: PageRows, page: int) -> tuple[datetime, str] | None:
    """The key (updated_at, id) of the page's last version, after checking that every version comes after
    the one before (and after `last`, the previous page's); raises PagesChanged otherwise. A version whose
    updated_at does not parse is not compared (staging reads it as it can)."""
    for record_id, stamp in zip(rows.ids, rows.updated_at, strict=True):
        try:
            key = (_as_utc(datetime.fromisoformat(stamp)), record_id)
        except ValueError:
            continue
        if last is not None and key <= last:
            raise PagesChanged(f"page {page}: a version at or before the one read before it")
        last = key
    return last


def _quarantine_rows(spec: EndpointSpec, rows: PageRows, meta: LoadMeta, page: int, at: datetime) -> list[dict]:
    return [
        {"load_id": meta.load_id, "source": spec.source, "file_path": None, "page": page,
         "line_number": position, "reason": reason, "raw_text": text.decode("utf-8", errors="replace"),
         "quarantined_at": at}
        for position, reason, text in rows.quarantine
    ]


def _read_window(client: ApiClient, spec: EndpointSpec, meta: LoadMeta, raw_dir: Path,
                 limit: int) -> tuple[Path, int, int, int, list[dict]]:
    """One read of the window into its raw file (committed only when every page came in order): the path,
    pages, received, loaded and the quarantine rows."""
    writer = AtomicParquetWriter(interval_path(raw_dir, spec.table, meta.since, meta.until),
                                 RAW_TABLES[spec.table].schema)
    received = loaded = pages = 0
    quarantine: list[dict] = []
    last: tuple[datetime, str] | None = None
    try:
        for page_no, page in enumerate(client.iter_pages(spec.endpoint, meta.since, meta.until, limit)):
            extracted_at = datetime.now(UTC)
            rows = split_page(page.data, spec.id_field)
            last = version_order(last, rows, page_no)
            writer.write(page_table(spec, rows, meta, page_no, extracted_at))
            quarantine.extend(_quarantine_rows(spec, rows, meta, page_no, extracted_at))
            received += len(page.data)
            loaded += len(rows.ids)
            pages += 1
        return writer.commit(), pages, received, loaded, quarantine
    except BaseException:
        writer.abort()
        raise


def extract_interval(
    *,
    base_url: str,
    token: str,
    endpoint: str,
    since: datetime,
    until: datetime,
    raw_dir: Path,
    page_limit: int | None = None,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    backoff_base_s: float = 1.0,
) -> dict[str, object]:
    """Extract `[since, until)` of `endpoint` ("immunizations" | "tickets") into one raw Parquet file.

    Returns plain values (XCom-safe): load_id, table, path, pages, received, loaded, quarantined,
    retries. Raises `AuthError` / `ApiUnavailableError` / `ApiRequestError` and leaves the raw layer as it was.
    """
    spec = ENDPOINTS[endpoint]
    config = settings()
    since, until = _as_utc(since), _as_utc(until)
    if since >= until:
        raise ValueError(f"empty interval: since {since.isoformat()} is not before until {until.isoformat()}")
    raw_dir = Path(raw_dir)
    init_raw(raw_dir)
    meta = LoadMeta(load_id_of(spec.table, since, until), since, until)
    retry = RetryPolicy(max_retries=config.api_max_retries if max_retries is None else max_retries,
                        backoff_base_s=backoff_base_s)
    client = ApiClient(base_url, token, timeout_s=config.api_timeout_s if timeout_s is None else timeout_s,
                       retry=retry)
    started_at = datetime.now(UTC)
    try:
        for attempt in range(1, max(1, config.api_window_attempts) + 1):
            try:
                path, pages, received, loaded, quarantine = _read_window(
                    client, spec, meta, raw_dir, page_limit or config.api_page_limit)
                break
            except PagesChanged as changed:
                log.warning("%s: %s changed under the cursor (%s), read %d of %d: reading it again", endpoint,
                            meta.load_id, changed, attempt, config.api_window_attempts)
        else:
            raise ApiRequestError(f"{endpoint}: the window {meta.load_id} changed under the cursor in each of "
                                  f"{config.api_window_attempts} reads")
    except BaseException:
        log.error("%s: extraction of %s failed; the raw layer is unchanged", endpoint, meta.load_id)
        raise
    finally:
        client.close()
    record_load(raw_dir, source=spec.source, load_id=meta.load_id, target=spec.table, received=received,
                loaded=loaded, quarantine_rows=quarantine, started_at=started_at, finished_at=datetime.now(UTC),
                detail=f"pages={pages} retries={client.retries_done}")
    log.info("%s: %s pages=%d received=%d loaded=%d quarantined=%d retries=%d", endpoint, meta.load_id, pages,
             received, loaded, len(quarantine), client.retries_done)
    return {"load_id": meta.load_id, "table": spec.table, "path": str(path), "pages": pages, "received": received,
            "loaded": loaded, "quarantined": len(quarantine), "retries": client.retries_done}
