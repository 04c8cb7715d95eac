"""How the gates open DuckDB and name its relations: read-only (a gate never writes what it validates),
UTC clock, the configured threads and memory; identifiers double-quoted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from vaxclean.config import settings


@contextmanager
def connect(db_path: Path | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a DuckDB file (or in-memory for the Parquet lake), UTC clock."""
    if db_path is not None and not db_path.exists():
        raise FileNotFoundError(f"no DuckDB file at {db_path}")
    cfg = settings()
    con = duckdb.connect(str(db_path) if db_path else ":memory:", read_only=db_path is not None)
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set threads = {int(cfg.duckdb_threads)}")
        con.execute(f"set memory_limit = '{cfg.duckdb_memory_limit}'")
        yield con
    finally:
        con.close()


def quote(name: str) -> str:
    """An SQL identifier in double quotes (catalog, schema, table and column names as DuckDB lists them)."""
    return '"' + name.replace('"', '""') + '"'
