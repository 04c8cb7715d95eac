"""The simulator's in-memory index of one endpoint's JSONL file.

Each line of the file is one served version of a record. The file is memory-mapped; the index keeps
only, per served line, its byte range and its `updated_at` (epoch microseconds), sorted once by
(updated_at, id, position in the file). A window is two bisections; a page body is a join of byte
slices, so serving never re-encodes JSON.
"""

from __future__ import annotations

import logging
import mmap
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class _Keys(msgspec.Struct):
    """The only fields the simulator reads from a record; the rest is skipped by the decoder."""

    record_id: object = None
    ticket_id: object = None
    updated_at: object = None


_KEYS_DECODER = msgspec.json.Decoder(_Keys)


def parse_utc(text: str) -> datetime:
    """Parse ISO-8601 (accepts `Z` and `+00:00`; a naive value is taken as UTC) into an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_epoch_us(value: datetime) -> int:
    return (value - _EPOCH) // _ONE_US


@dataclass
class Window:
    """Positions [start, end) of the sorted index that a query selects."""

    start: int
    end: int


class EndpointStore:
    """Served versions of one endpoint, sorted by (updated_at, id); `id_field` names the id."""

    def __init__(self, path: Path, id_field: str) -> None:
        self.path = Path(path)
        self.id_field = id_field
        self.skipped = 0
        self._file = None
        self._buffer: bytes | mmap.mmap = b""
        self._updated_us = array("q")
        self._starts = array("q")
        self._ends = array("q")
        self._load()

    def __len__(self) -> int:
        return len(self._starts)

    def _load(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            log.info("%s: no records to serve (%s missing or empty)", self.id_field, self.path.name)
            return
        self._file = self.path.open("rb")
        self._buffer = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        entries = self._scan()
        entries.sort()
        self._updated_us = array("q", [e[0] for e in entries])
        self._starts = array("q", [e[2] for e in entries])
        self._ends = array("q", [e[3] for e in entries])
        del entries
        log.info("%s: %d versions indexed, %d unservable lines skipped", self.id_field, len(self), self.skipped)

    def _scan(self) -> list[tuple[int, str, int, int]]:
        """(updated_at_us, id, start, end) per servable line; lines without a usable updated_at are skipped."""
        entries: list[tuple[int, str, int, int]] = []
        buffer = self._buffer
        size = len(buffer)
        start = 0
        while start < size:
            newline = buffer.find(b"\n", start)
            stop = size if newline < 0 else newline
            end = stop
            while end > start and buffer[end - 1] in b"\r \t":
                end -= 1
            entry = self._entry(buffer[start:end], start, end)
            if entry is not None:
                entries.append(entry)
            start = stop + 1
        return entries

    def _entry(self, line: bytes, start: int, end: int) -> tuple[int, str, int, int] | None:
        if not line.strip():
            return None
        try:
            keys = _KEYS_DECODER.decode(line)
            updated_us = to_epoch_us(parse_utc(keys.updated_at))  # type: ignore[arg-type]
        except (msgspec.DecodeError, msgspec.ValidationError, TypeError, ValueError, AttributeError):
            self.skipped += 1
            return None
        record_id = getattr(keys, self.id_field)
        return updated_us, "" if record_id is None else str(record_id), start, end

    def window(self, since_us: int | None, until_us: int | None) -> Window:
        start = 0 if since_us is None else bisect_left(self._updated_us, since_us)
        end = len(self) if until_us is None else bisect_left(self._updated_us, until_us)
        return Window(start, max(start, end))

    def page_items(self, start: int, end: int) -> list[bytes]:
        buffer = self._buffer
        return [buffer[s:e] for s, e in zip(self._starts[start:end], self._ends[start:end], strict=True)]

    def close(self) -> None:
        if isinstance(self._buffer, mmap.mmap):
            self._buffer.close()
        self._buffer = b""
        if self._file is not None:
            self._file.close()
            self._file = None
