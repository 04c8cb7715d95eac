from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def monkeypatch_module():
    """monkeypatch for module-scoped fixtures (environment of a whole built scenario)."""
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _state_tables(con, db: str) -> list[str]:
    """The tables of the intermediate and marts schemas, without what one build scored and planned."""
    return [r[0] for r in con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = ? "
        "and schema_name in ('intermediate', 'marts') and table_name not like 'int_dose_scopes_%' "
        "and table_name not in ('int_dose_records_scored', 'int_dose_builds_planned') order by 1",
        [db]).fetchall()]


def _compare_builds(incremental_db, full_db) -> tuple[list[str], list[str], dict[str, tuple[int, int]]]:
    """(tables of the full build, tables of the incremental one, {table: (rows only in the incremental,
    rows only in the full)} for the tables that differ, `except all` both ways)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental_db}' as inc (read_only)")
        con.execute(f"attach '{full_db}' as full_build (read_only)")
        tables, incremental_tables = _state_tables(con, "full_build"), _state_tables(con, "inc")
        differences = {}
        for table in tables:
            a, b = f"inc.{table}", f"full_build.{table}"
            extra, missing = con.execute(f"select (select count(*) from (from {a} except all from {b})), "
                                         f"(select count(*) from (from {b} except all from {a}))").fetchone()
            if extra or missing:
                differences[table] = (extra, missing)
        return tables, incremental_tables, differences
    finally:
        con.close()


@pytest.fixture(scope="session")
def compare_builds():
    """Compare an incremental build's warehouse with a full build's, table by table."""
    return _compare_builds
