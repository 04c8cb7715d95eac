"""What the publisher and the BI layer do alike with a DuckDB file: quote names and paths into SQL, and
write every table of a schema as Parquet."""

from __future__ import annotations

from pathlib import Path

import duckdb

PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1"


def quote(identifier: str) -> str:
    """An SQL identifier in double quotes."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_path(path: Path) -> str:
    """A path for a single-quoted SQL string."""
    return str(path).replace("'", "''")


def export_parquet(db: Path, out_dir: Path, tables: list[str] | None = None) -> None:
    """Write `tables` (default: every table) of schema `marts` of the DuckDB file `db` to
    `<out_dir>/<table>.parquet`. The caller writes into a directory nobody reads yet (a private version)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db), read_only=True) as con:
        # the row order of a mart is not part of the contract: both cores write the file
        con.execute("set preserve_insertion_order = false")
        catalog = quote(con.execute("select current_database()").fetchall()[0][0])
        if tables is None:
            tables = [r[0] for r in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'marts' order by 1").fetchall()]
        for table in tables:
            con.execute(f"copy (select * from {catalog}.marts.{quote(table)}) to "
                        f"'{sql_path(out_dir / f'{table}.parquet')}' ({PARQUET_OPTIONS})")
