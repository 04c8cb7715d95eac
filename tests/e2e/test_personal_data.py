"""No personal data outside the restricted side: after a whole run (`make run` on a generated scenario), every
log, gate report, dbt artifact, the run log and the BI layer (DuckDB file and Parquet) are scanned for every
name, ID number, phone and birth date the pipeline received: zero hits. Masked examples in gate reports
stay (first character and length reveal nothing the scan looks for).

dbt's artifacts compiled from the repository (manifest, docs, compiled SQL) are code, not data: its logs and
run results are scanned. What the pipeline received is read from its raw lake (every source as received, before any cleaning):
names as typed and as registered, ID numbers, phones and birth dates in every typed form.
Left out, and why: names of one word (a given name alone is not identifying and is in ordinary text);
names that are also place names of the reference units (a ward is named after Hoàng Văn Thụ; the BI
layer names it); birth dates from 2021 on (the BI layer's own dates are vaccination, complaint and KPI
days, all in or after the campaign).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import duckdb
import pytest

from vaxclean.publish.bi import citizen_key

# a number as a whole token (a platform record id IMM010032889 or a hex key holds digit runs that are not
# numbers of a person), separators inside allowed as people type them
DIGITS = re.compile(r"(?<![A-Za-z0-9])\d[\d .\-]{6,}\d(?![A-Za-z0-9])")
# a name lies within one field: words are not joined across the separators of logs, CSV or table cells
FIELDS = re.compile(r"[\t\n\r|,;:=\"'()\[\]{}<>/\\]+")
DATES = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")
WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
FIRST_SCOPE_DAY = dt.date(2021, 1, 1)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _unaccented(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if not unicodedata.combining(c))


class PersonalValues:
    """The scenario's personal values in the forms a scan compares."""

    def __init__(self, raw: Path, places: set[str]) -> None:
        con = duckdb.connect()
        glob = lambda table: f"read_parquet('{raw}/{table}/**/*.parquet', union_by_name = true)"  # noqa: E731
        texts = con.execute(f"""
            select full_name, id_number, phone, date_of_birth from (
                select payload->>'full_name' as full_name, payload->>'id_number' as id_number,
                       payload->>'phone' as phone, payload->>'date_of_birth' as date_of_birth
                from {glob('platform_immunizations')}
                union all
                select payload->>'full_name', payload->>'id_number', payload->>'phone', payload->>'date_of_birth'
                from {glob('feedback_tickets')}
                union all
                select full_name, id_number, phone, date_of_birth from {glob('site_batch_rows')}
                union all
                select full_name, id_number, phone, date_of_birth from {glob('hotline_calls')}
                union all
                select verified_full_name, verified_id_number, null, verified_date_of_birth
                from {glob('police_returns')}
                union all
                select full_name, citizen_id, phone, strftime(date_of_birth, '%d/%m/%Y') from {glob('population')}
                union all
                select null, old_id_number, null, null from {glob('population')}
            )""").fetchall()
        self.citizen_ids = {r[0] for r in con.execute(f"select citizen_id from {glob('population')}").fetchall()}
        self.names: set[tuple[str, ...]] = set()
        self.numbers: set[str] = set()
        self.dates: set[dt.date] = set()
        for name, id_number, phone, born in texts:
            for form in filter(None, {name and _fold(name), name and _fold(_unaccented(name))}):
                words = tuple(WORDS.findall(form))
                if len(words) >= 2 and " ".join(words) not in places:
                    self.names.add(words)
            for value in (id_number, phone):
                digits = re.sub(r"\D", "", value or "")
                if len(digits) >= 8:
                    self.numbers.add(digits)
            day = _date_of(born or "")
            if day is not None and day < FIRST_SCOPE_DAY:
                self.dates.add(day)
        self.name_lengths = sorted({len(n) for n in self.names})

    def hits(self, text: str) -> list[str]:
        """The personal values found in `text` (kinds and a masked hint, never the value itself)."""
        found = []
        for match in DIGITS.finditer(text):
            digits = re.sub(r"\D", "", match.group())
            if digits in self.numbers:
                found.append(f"number {digits[:2]}…({len(digits)})")
        for match in DATES.finditer(text):
            day = _date_of(match.group())
            if day is not None and day in self.dates:
                found.append(f"date {day.year}-…")
        for form in {_fold(text), _fold(_unaccented(text))}:
            for field in FIELDS.split(form):
                words = WORDS.findall(field)
                for size in self.name_lengths:
                    for i in range(len(words) - size + 1):
                        if tuple(words[i:i + size]) in self.names:
                            found.append(f"name {words[i][:1]}…({size} words)")
        return found


def _date_of(text: str) -> dt.date | None:
    match = DATES.search(text.strip())
    if not match:
        return None
    try:
        if match.group(1):
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return dt.date(int(match.group(4)), int(match.group(5)), int(match.group(6)))
    except ValueError:
        return None


def _places(bi_db: Path) -> set[str]:
    with duckdb.connect(str(bi_db), read_only=True) as con:
        rows = con.execute("select district_name, commune_name from marts.ref_admin_units").fetchall()
    places = set()
    for row in rows:
        for name in row:
            words = WORDS.findall(_fold(name))
            for start in range(len(words)):  # "phường hoàng văn thụ" -> also "hoàng văn thụ"
                places.add(" ".join(words[start:]))
                places.add(" ".join(WORDS.findall(_fold(_unaccented(" ".join(words[start:]))))))
    return places


def _table_texts(db: Path, schemas: tuple[str, ...]) -> dict[str, str]:
    """Every table of the schemas as one text (cells separated by tabs, rows by newlines), by table."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchone()[0]
        tables = con.execute("select schema_name, table_name from duckdb_tables() where schema_name in "
                             f"({', '.join(repr(s) for s in schemas)})").fetchall()
        for schema, table in tables:
            rows = con.execute(f'select * from "{catalog}"."{schema}"."{table}"').fetchall()
            out[f"{db.name}:{schema}.{table}"] = "\n".join("\t".join("" if v is None else str(v) for v in row)
                                                           for row in rows)
    return out


@pytest.fixture(scope="module")
def scanned(pipeline_run):
    _, warehouse, stdout = pipeline_run
    published = warehouse / "published"
    values = PersonalValues(warehouse / "raw", _places(published / "bi.duckdb"))
    texts: dict[str, str] = {"stdout of make run": stdout}
    # dbt's artifacts compiled from the repository (manifest, graph, docs, compiled SQL) are code and hold the
    # unit tests' made-up rows: what dbt says while it runs (its logs and run results) is scanned
    files = [*(warehouse / "logs").rglob("*"), *(warehouse / "gate_reports").rglob("*"),
             *(warehouse / "dbt").rglob("*.log"), *(warehouse / "dbt").rglob("run_results.json")]
    for path in sorted(files):
        if path.is_file() and path.suffix not in (".parquet", ".duckdb", ".wal"):
            texts[str(path.relative_to(warehouse))] = path.read_text(encoding="utf-8", errors="replace")
    texts.update(_table_texts(published / "bi.duckdb", ("marts", "ops")))
    texts.update(_table_texts(published / "marts.duckdb", ("ops",)))  # the run log
    with duckdb.connect() as con:
        for path in sorted((published / "bi" / "parquet").glob("*.parquet")):
            rows = con.execute(f"select * from '{path}'").fetchall()
            texts[f"bi parquet {path.name}"] = "\n".join("\t".join(map(str, r)) for r in rows)
    return values, texts


def test_the_scan_knows_the_scenario_and_finds_what_is_there(scanned, pipeline_run):
    """The scan is not vacuous: it knows thousands of values, and finds them where they are meant to be."""
    values, _ = scanned
    _, warehouse, _ = pipeline_run
    assert len(values.names) > 1000 and len(values.numbers) > 1000 and len(values.dates) > 1000
    restricted = _table_texts(warehouse / "published" / "marts.duckdb", ("marts",))
    found = values.hits(restricted["marts.duckdb:marts.commune_worklist"])  # the restricted side has them all
    assert {hit.split()[0] for hit in found} == {"name", "number", "date"}


def test_no_personal_value_in_logs_reports_run_log_or_bi_layer(scanned):
    values, texts = scanned
    assert len(texts) > 20  # logs, gate reports, dbt artifacts, every BI table and Parquet file
    hits = {name: found[:5] for name, text in texts.items() if (found := values.hits(text))}
    assert hits == {}


def test_the_bi_layer_keys_citizens_by_the_keyed_pseudonym(scanned, pipeline_run):
    """citizen_key is HMAC-SHA256(secret, citizen_id) (the test secret), the same in every mart; no key is an ID."""
    import os

    values, _ = scanned
    _, warehouse, _ = pipeline_run
    secret = os.environ["VAXCLEAN_PSEUDONYM_SECRET"]
    expected = {citizen_key(secret, c) for c in values.citizen_ids}
    with duckdb.connect(str(warehouse / "published" / "bi.duckdb"), read_only=True) as con:
        keys = {r[0] for r in con.execute(
            "select citizen_key from marts.person_vaccination union "
            "select citizen_key from marts.dose_reconciliation where citizen_key is not null union "
            "select citizen_key from marts.complaint_tracking where citizen_key is not null").fetchall()}
        persons = con.execute("select count(*) from marts.person_vaccination").fetchone()[0]
        marts = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
    assert keys and keys <= expected and len(keys) >= persons
    assert "commune_worklist" not in marts and "worklist_commune_daily" in marts
