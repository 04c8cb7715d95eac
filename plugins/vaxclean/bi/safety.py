"""Superset is only ever pointed at the BI layer: never at the restricted file, nor at any file with a
personal column (vaxclean.personal_data). Both environments use this check (stdlib + DuckDB)."""

from __future__ import annotations

import os
from pathlib import Path

from vaxclean.personal_data import PERSONAL_COLUMNS

RESTRICTED_NAME = "marts.duckdb"


class UnsafeDatabase(RuntimeError):
    """The file Superset would serve is not a BI layer without personal data."""


def check_bi_file(path: Path) -> list[str]:
    """Raise UnsafeDatabase unless `path` is a readable DuckDB file without personal columns that is not the
    restricted file (by name or by what it resolves to); return its tables (`schema.table`)."""
    path = Path(path)
    real = Path(os.path.realpath(path))
    if path.name == RESTRICTED_NAME or real.name == RESTRICTED_NAME:
        raise UnsafeDatabase(f"{path} is the restricted file (personal data): Superset serves the BI layer "
                             "published/bi.duckdb only")
    if not real.is_file():
        raise UnsafeDatabase(f"no BI layer at {path}: publish one first (`make run`)")
    import duckdb

    try:
        with duckdb.connect(str(real), read_only=True) as con:
            rows = con.execute("select schema_name, table_name, column_name from duckdb_columns() "
                               "where database_name = current_database()").fetchall()
    except duckdb.Error as error:
        raise UnsafeDatabase(f"{path} is not a readable DuckDB file ({type(error).__name__})") from None
    personal = sorted({f"{s}.{t}.{c}" for s, t, c in rows if c in PERSONAL_COLUMNS})
    if personal:
        raise UnsafeDatabase(f"{path} holds personal columns ({', '.join(personal[:5])}"
                             f"{' ...' if len(personal) > 5 else ''}): Superset serves the BI layer only")
    tables = sorted({f"{s}.{t}" for s, t, _ in rows})
    if "marts.dose_reconciliation" not in tables:
        raise UnsafeDatabase(f"{path} is not a BI layer (no marts.dose_reconciliation)")
    return tables
