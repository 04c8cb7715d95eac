"""How much of a DuckDB file's incrementally maintained tables is deleted rows, and when to rewrite them.

An incremental build deletes the rows it re-derives (scattered: ~30 000 of 3.2 M per chain table) and
appends them again. At each checkpoint DuckDB's vacuum merges row groups that deletions left room in,
rewriting most of a table's row groups: ~1.3 s per wide chain table measured at 1.3 M people, ~3 s of an
incremental marts build, 0.7 s of patching the published file. The builds therefore run with vacuum off
(`max_vacuum_tasks = 0`: dbt_project/profiles.yml, the publisher's connection), and the deleted rows stay
in their row groups (scans skip them) until a layer's share of deleted rows reaches
COMPACT_DELETED_SHARE: then that build rewrites the tables whole (vaxclean.build: a full refresh of the
layer; vaxclean.publish: a full copy instead of a patch).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

# Deleted rows (of the rows stored) in a layer's tables above which a build rewrites them: a tenth of the
# 3.2 M dose records is ~10 incremental builds of 10 000 changes (R4: ~31 000 records each).
COMPACT_DELETED_SHARE = 0.10


def deleted_share(con: duckdb.DuckDBPyConnection, catalog: str, schemas: Iterable[str]) -> float:
    """The largest share of deleted rows among the tables of `schemas` in `catalog`: 1 - rows / rows stored
    (duckdb_tables().estimated_size counts the deleted rows until their row groups are rewritten); one
    query for every table."""
    schemas = list(schemas)
    tables = con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables() "
        f"where database_name = ? and schema_name in ({', '.join('?' * len(schemas))}) and estimated_size > 0",
        [catalog, *schemas]).fetchall()
    if not tables:
        return 0.0
    counts = " union all ".join(
        f"select 1 - count(*) / {stored} as share from "
        + ".".join('"' + part.replace('"', '""') + '"' for part in (catalog, schema, table))
        for schema, table, stored in tables)
    return float(con.execute(f"select max(share) from ({counts})").fetchall()[0][0])
