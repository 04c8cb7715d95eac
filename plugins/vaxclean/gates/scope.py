"""What the staging and marts gates read after an incremental build (`gate_scope`), and what a passing gate
records for the next one (`validated_state`).

After an incremental build that started from the tables the layer's last passed gate validated (the
build stamps' build ids, `<warehouse>/gate_reports/<layer>_validated.json`: vaxclean.state), a gate reads
only the rows the build re-derived: the platform records extracted since that gate, the staging models
the build did not skip, the dose chain's scope in the scoped marts. The rows outside the scope are
unchanged: an incremental build deletes and inserts only its scope's rows. The small marts are read whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from vaxclean.gates.connection import quote
from vaxclean.schemas.staging import STAGING_MODELS
from vaxclean.state import read_validated_build

PLATFORM_STAGING = "stg_platform__immunizations"  # re-derived rows: last_extracted_at after the gate's watermark


@dataclass(frozen=True)
class GateScope:
    """What a gate reads after an incremental build that started from the tables the layer's last passed
    gate validated: of the tables in `rows` only the rows the build re-derived (an SQL condition), none of
    the tables in `skipped` (the build did not touch them), the other tables whole."""

    since_build: str
    rows: dict[str, str]
    skipped: frozenset[str] = frozenset()
    # tables of `rows` whose re-derived rows the build also kept in a table of their own (relation)
    kept: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """What was read and whose validation the rest relies on, for the report's `scope`."""
        parts = [f"rows re-derived in {', '.join(sorted(self.rows))}"] if self.rows else []
        if self.kept:
            parts[-1] += f" (read where the build kept them: {', '.join(sorted(self.kept))})"
        if self.skipped:
            parts.append(f"{len(self.skipped)} tables not rebuilt ({', '.join(sorted(self.skipped))})")
        return f"{'; '.join(parts) or 'whole tables'}; the rest passed the gate of build {self.since_build}"


def scoped_marts(stamp: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The marts the layer's last build built by dose-chain scope, as their YAML declares it (the build
    stamp's `scoped_models`, from dbt's manifest: vaxclean.transform.dbt.scoped_models)."""
    return {name: declared for name, declared in stamp.get("scoped_models", {}).items()
            if declared["relation"].split(".")[0] == "marts"}


def kept_rederived_rows(con: duckdb.DuckDBPyConnection, catalog: str, stamp: dict[str, Any]) -> dict[str, str]:
    """{mart: relation or select} of the scoped marts whose re-derived rows the last incremental dbt build kept
    (intermediate.<model>__rederived, dbt_project/macros/dose_chain.sql; the rows scoped_mart_rows selects),
    in the warehouse attached as `catalog`. A projection view's rows: its model's kept rows as the view's
    columns and types."""
    db = quote(catalog)
    present = {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = 'intermediate' "
        "and suffix(table_name, '__rederived')", [catalog]).fetchall()}
    kept = {}
    for mart, declared in scoped_marts(stamp).items():
        schema, table = declared["kept"].split(".")
        if table not in present:
            continue
        relation = f"{db}.{quote(schema)}.{quote(table)}"
        if "projection_of" in declared:
            view_schema, view = declared["relation"].split(".")
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? "
                "and table_name = ? order by column_index", [catalog, view_schema, view]).fetchall()
            relation = f"(select {', '.join(f'cast({quote(c)} as {t}) as {quote(c)}' for c, t in columns)} from {relation})"
        kept[mart] = relation
    return kept


def scoped_mart_keys(stamp: dict[str, Any], catalog: str | None = None) -> dict[str, tuple[str, str]]:
    """The scoped marts (`scoped_marts`), each with its key expression and the select of the keys its last
    build re-derived; `catalog`: the warehouse's name where it is attached."""
    db = f"{quote(catalog)}." if catalog else ""
    return {mart: (declared["key"], f"select {declared['scope_key']} from {db}{declared['scope']}")
            for mart, declared in scoped_marts(stamp).items()}


def scoped_mart_rows(stamp: dict[str, Any], catalog: str | None = None) -> dict[str, str]:
    """scoped_mart_keys as the condition selecting the rows each scoped mart's last build re-derived."""
    return {mart: f"{key} in ({keys})" for mart, (key, keys) in scoped_mart_keys(stamp, catalog).items()}


def gate_scope(layer: str, warehouse_dir: Path, stamp: dict[str, Any], version: str) -> GateScope | None:
    """The rows to validate when the layer's last build (its `stamp`) was incremental and started from the very
    tables the layer's last passed gate validated under the same checks (build ids); else None (validate
    everything). The rows outside the scope are then unchanged: an incremental build deletes and inserts
    only its scope's rows (the dose chain's scopes, the changed platform records)."""
    validated = read_validated_build(warehouse_dir, layer)
    previous = stamp.get("previous_build_id")
    if (stamp.get("full_refresh", True) or not previous or validated.get("build_id") != previous
            or validated.get("checks_version") != version):
        return None
    if layer == "marts":
        return GateScope(previous, scoped_mart_rows(stamp))
    watermark = validated.get("watermarks", {}).get(PLATFORM_STAGING)
    if watermark is None:
        return None
    return GateScope(previous, {PLATFORM_STAGING: f"last_extracted_at > '{watermark}'::timestamp"},
                     frozenset(m for m in stamp.get("excluded", ()) if m in STAGING_MODELS))


def validated_state(layer: str, con: duckdb.DuckDBPyConnection, stamp: dict[str, Any], version: str) -> dict[str, Any]:
    """What a passing gate records for the next one (`gate_scope`): the build it validated (`stamp`), and for
    staging the newest platform extraction it saw."""
    state: dict[str, Any] = {"build_id": stamp.get("build_id"), "checks_version": version}
    if layer == "staging":
        try:
            (newest,) = con.execute(f"select max(last_extracted_at)::varchar from staging.{PLATFORM_STAGING}").fetchall()[0]
        except duckdb.Error:
            newest = None
        state["watermarks"] = {PLATFORM_STAGING: newest} if newest is not None else {}
    return state
