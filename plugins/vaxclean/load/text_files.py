"""Reading landed CSV files: encoding detection, decoding, and a record parser that keeps physical lines.

Why the standard `csv` module and not DuckDB's `read_csv` here: the raw layer must carry the *physical*
line of every accepted row (`_line_number`) and the raw text of every rejected one. DuckDB's reader
reports neither for accepted rows, and counts logical rows (not physical lines) in its rejects table
when a quoted field spans lines. The C parser of `csv` with `line_num` gives both at a few hundred
thousand rows per second, which is what a province's site batches need (see load/benchmark.py).
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

ENCODING_UTF8_BOM = "utf-8-sig"
ENCODING_UTF8 = "utf-8"
ENCODING_CP1258 = "cp1258"
_DELIMITERS = (",", ";", "\t")
_UNTERMINATED = "unterminated quoted field (truncated or stray quote)"


@dataclass
class DecodedText:
    text: str
    encoding: str
    undecodable_lines: set[int] = field(default_factory=set)  # 1-based physical lines


@dataclass
class Record:
    first_line: int  # 1-based physical line where the record starts
    last_line: int
    fields: list[str]
    problem: str | None = None  # set when the record could not be parsed at all

    def raw_text(self, lines: list[str]) -> str:
        return "".join(lines[self.first_line - 1:self.last_line]).rstrip("\r\n")


@dataclass
class Reject:
    line_number: int
    reason: str
    raw_text: str


@dataclass
class ParsedCsv:
    """A CSV read into a header and rows; rows are the data records whose field count is right."""

    header: list[str] | None
    header_raw: str
    header_line: int
    rows: list[list[str]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    blank_lines: int = 0
    delimiter: str = ","
    ends_with_newline: bool = True


def _decode_by_line(data: bytes, encoding: str) -> DecodedText:
    """Decode line by line; a line that does not decode is kept with escapes and marked undecodable."""
    parts: list[str] = []
    bad: set[int] = set()
    lines = data.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        try:
            parts.append(line.decode(encoding))
        except UnicodeDecodeError:
            parts.append(line.decode(encoding, errors="backslashreplace"))
            bad.add(number)
    return DecodedText("".join(parts), encoding, bad)


def _mostly_utf8(data: bytes) -> bool:
    """True when the non-ASCII lines are mostly valid UTF-8 (a UTF-8 file with a few damaged lines)."""
    valid = invalid = 0
    for line in data.splitlines():
        if line.isascii():
            continue
        try:
            line.decode(ENCODING_UTF8)
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    return valid > invalid


def decode_bytes(data: bytes) -> DecodedText:
    """Detect and decode: BOM -> utf-8-sig; valid UTF-8 -> utf-8; else cp1258 (kept as decoded).

    A file that is UTF-8 but for a few lines stays UTF-8 with those lines marked undecodable; so does a
    cp1258 file with bytes that code page leaves undefined.
    """
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        try:
            return DecodedText(body.decode(ENCODING_UTF8), ENCODING_UTF8_BOM)
        except UnicodeDecodeError:
            decoded = _decode_by_line(body, ENCODING_UTF8)
            return DecodedText(decoded.text, ENCODING_UTF8_BOM, decoded.undecodable_lines)
    try:
        return DecodedText(data.decode(ENCODING_UTF8), ENCODING_UTF8)
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return _decode_by_line(data, ENCODING_UTF8)
    try:
        return DecodedText(data.decode(ENCODING_CP1258), ENCODING_CP1258)
    except UnicodeDecodeError:
        return _decode_by_line(data, ENCODING_CP1258)


def _physical_lines(text: str) -> list[str]:
    """Split at \\n, \\r\\n or \\r only (as the csv module does), keeping the line endings."""
    return list(io.StringIO(text, newline=""))


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _unterminated_quote(raw_text: str) -> bool:
    return raw_text.count('"') % 2 == 1


def iter_records(lines: list[str], delimiter: str) -> Iterator[Record]:
    """Yield records with their physical line span.

    A quoted field left open at the end of the file (a truncated last line, or a stray quote that would
    swallow every following line into one field) is yielded as a one-line record flagged by its odd
    quote count, and parsing resumes on the next physical line, so one bad quote costs one line.
    """
    start = 0
    total = len(lines)
    while start < total:
        reader = csv.reader(iter(lines[start:]) if start else iter(lines), delimiter=delimiter)
        previous_end = 0
        restart_at: int | None = None
        try:
            for fields in reader:
                first = start + previous_end + 1
                last = start + reader.line_num
                previous_end = reader.line_num
                if last == total and last > first and _unterminated_quote("".join(lines[first - 1:last])):
                    yield Record(first, first, [], _UNTERMINATED)
                    restart_at = first
                    break
                yield Record(first, last, fields)
        except csv.Error as error:
            first = start + previous_end + 1
            yield Record(first, first, [], f"unreadable CSV record ({error})")
            restart_at = first
        if restart_at is None:
            return
        start = restart_at


def _is_blank(record: Record) -> bool:
    fields = record.fields
    if fields and fields[0] and not fields[0].isspace():
        return False  # the common case, decided without joining the row
    return record.problem is None and not "".join(fields).strip()


def _row_reject(record: Record, width: int, lines: list[str], decoded: DecodedText) -> Reject | None:
    """Why a record cannot be read structurally, or None when its field count is right."""
    bad_lines = decoded.undecodable_lines
    if bad_lines and any(n in bad_lines for n in range(record.first_line, record.last_line + 1)):
        return Reject(record.first_line, f"undecodable bytes for {decoded.encoding}", record.raw_text(lines))
    is_last = record.last_line == len(lines)
    if record.problem is not None:
        return Reject(record.first_line, record.problem, record.raw_text(lines))
    if is_last and _unterminated_quote(record.raw_text(lines)):
        return Reject(record.first_line, _UNTERMINATED, record.raw_text(lines))
    count = len(record.fields)
    if count == width:
        return None
    if count > width and not "".join(record.fields[width:]).strip():
        return None  # trailing empty cells, as spreadsheet exports add
    truncated = "truncated last line: " if is_last and not lines[-1].endswith(("\n", "\r")) else ""
    return Reject(record.first_line, f"{truncated}{count} fields, expected {width}", record.raw_text(lines))


def _header_width(header: list[str]) -> int:
    """The header's width without trailing empty names (a trailing delimiter, spreadsheet padding)."""
    width = len(header)
    while width > 0 and not header[width - 1].strip():
        width -= 1
    return width


def parse_csv(decoded: DecodedText) -> ParsedCsv:
    """Split a decoded CSV into header, well-formed rows (with lines), rejects and blank-line count."""
    lines = _physical_lines(decoded.text)
    if not lines:
        return ParsedCsv(header=None, header_raw="", header_line=0)
    delimiter = _sniff_delimiter(next((line for line in lines if line.strip()), ""))
    records = iter_records(lines, delimiter)
    parsed = ParsedCsv(header=None, header_raw="", header_line=0, delimiter=delimiter,
                       ends_with_newline=lines[-1].endswith(("\n", "\r")))
    for record in records:
        if _is_blank(record):
            parsed.blank_lines += 1
            continue
        width = _header_width(record.fields)
        parsed.header = record.fields[:width]
        parsed.header_raw = record.raw_text(lines)
        parsed.header_line = record.first_line
        break
    if parsed.header is None:
        return parsed
    width = len(parsed.header)
    for record in records:
        if _is_blank(record):
            parsed.blank_lines += 1
            continue
        reject = _row_reject(record, width, lines, decoded)
        if reject is not None:
            parsed.rejects.append(reject)
            continue
        parsed.rows.append(record.fields if len(record.fields) == width else record.fields[:width])
        parsed.line_numbers.append(record.first_line)
    return parsed


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below


@lru_cache(maxsize=4096)
def _cp1258_char(ch: str) -> str:
    """A character as Windows-1258 can hold it: precomposed base plus a combining tone mark if needed."""
    try:
        ch.encode(ENCODING_CP1258)
        return ch
    except UnicodeEncodeError:
        pass
    decomposed = unicodedata.normalize("NFD", ch)
    tones = "".join(m for m in decomposed[1:] if m in _TONE_MARKS)
    others = "".join(m for m in decomposed[1:] if m not in _TONE_MARKS)
    candidate = unicodedata.normalize("NFC", decomposed[0] + others) + tones
    try:
        candidate.encode(ENCODING_CP1258)
        return candidate
    except UnicodeEncodeError:
        return "?"


def encode_cp1258(text: str) -> bytes:
    """Encode Vietnamese text as Windows-1258 files hold it (what `decode_bytes` reads back):
    precomposed base letters, tone marks as combining characters."""
    text = unicodedata.normalize("NFC", text)
    table = {ord(c): _cp1258_char(c) for c in sorted(set(text)) if ord(c) > 127}
    return text.translate(table).encode(ENCODING_CP1258)

