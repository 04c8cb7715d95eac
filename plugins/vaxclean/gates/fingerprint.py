"""Table fingerprints: rows, a sum of row hashes and the column types. The marts gate records one per
table in its report, so that publishing can verify that its copy holds exactly what the gate validated
(vaxclean.publish.publisher) instead of validating the copy again."""

from __future__ import annotations

import hashlib
import json
import time

import duckdb

from vaxclean.gates.connection import quote


def table_fingerprint(con: duckdb.DuckDBPyConnection, catalog: str, db_schema: str, table: str) -> str:
    """Rows, a sum of row hashes (order-free) and the column names and types of a table: equal
    fingerprints mean equal contents (up to a 64-bit hash collision)."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? order by column_index", [catalog, db_schema, table]).fetchall()
    rows, hashes = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {quote(catalog)}.{quote(db_schema)}.{quote(table)} as t"
    ).fetchall()[0]
    typed = hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]
    return f"rows={rows} hash={hashes} columns={typed}"


def table_fingerprints(cursor: duckdb.DuckDBPyConnection, catalog: str, db_schema: str,
                       tables: list[str]) -> tuple[dict[str, str], float]:
    """table_fingerprint of each table (on its own cursor, closed after), and the seconds it took."""
    t0 = time.perf_counter()
    try:
        return {t: table_fingerprint(cursor, catalog, db_schema, t) for t in tables}, round(time.perf_counter() - t0, 3)
    finally:
        cursor.close()
