"""The BI layer: `published/bi.duckdb` (schema `marts`) and `published/bi/parquet/<mart>.parquet`.

What BI tools, reviewers and dashboards read (contract: shared/contracts/marts.md, "The BI layer"). It is
derived, in the same publication as the restricted file and after the same gates, from the restricted
file being published, by one rule set declared here:

- every mart except `commune_worklist` (its counts are the mart `worklist_commune_daily`);
- no personal column (`vaxclean.personal_data.PERSONAL_COLUMNS`, the one list) leaves: `citizen_id` becomes
  `citizen_key`, a keyed pseudonym (HMAC-SHA256 with the pseudonym secret, 128 bits as 32 hex digits):
  the same for a citizen in every mart and every run with the same secret, not reversible without it;
  the other personal columns are dropped;
- readable as BI tools need it: `district_name` / `commune_name` beside the codes, `<code>_label` (the
  Vietnamese label of ref_code_labels) beside each coded column, list columns also as text (`<list>_text`,
  and `<list>_label` for coded lists);
- the reference tables `ref_admin_units` and `ref_code_labels`, and `pipeline_runs` (the publications of
  the run log, one row each: durations and gate outcomes).

The file is built whole, or, after an incremental build whose restricted file was patched, patched the
same way: the previous version's BI file (built by the same rules and secret, `ops.bi_build`) with the
re-derived rows of the scoped marts replaced and the other marts rebuilt.

The secret never reaches a file, a log or a query text: it is turned into the two HMAC pads, passed to
DuckDB as query parameters.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import duckdb

from vaxclean.personal_data import PERSONAL_COLUMNS
from vaxclean.publish.duckdb_files import quote as _quote
from vaxclean.publish.duckdb_files import sql_path as _sql_path

log = logging.getLogger(__name__)

BI_DB = "bi.duckdb"
BI_DIR = "bi"  # <version>/bi/parquet/<mart>.parquet
EXCLUDED_MARTS = frozenset({"commune_worklist"})
# a personal column published as its keyed pseudonym (every other personal column is dropped)
PSEUDONYMS = {"citizen_id": "citizen_key"}
KEY_HEX_DIGITS = 32
MIN_SECRET_CHARS = 32
REFERENCE_TABLES = ("ref_admin_units", "ref_code_labels")
# coded columns and the ref_code_labels domain of their codes: for every mart, then per mart
LABELLED_COLUMNS: dict[str, str] = {
    "match_status": "match_status", "match_method": "match_method", "police_result": "police_result",
}
LABELLED_BY_MART: dict[str, dict[str, str]] = {
    "dose_reconciliation": {"source": "dose_source", "issues": "issue"},
    "complaint_tracking": {"source": "complaint_source", "channel": "complaint_channel",
                           "category": "complaint_category", "status": "complaint_status", "sla_state": "sla_state",
                           "linked_match_statuses": "match_status"},
    "worklist_verification_history": {"source": "dose_source", "outcome": "verification_outcome",
                                      "rejection_reason": "return_rejection"},
    "data_quality_site_weekly": {"source": "dose_source"},
    "intake_quarantine_daily": {"reason_code": "quarantine_reason"},
    "vaccination_sites": {"site_kind": "site_kind", "kind_source": "site_kind_source", "evidence": "site_evidence"},
}
PIPELINE_RUNS_SQL = """
select
    run_id,
    published_at,
    interval_start,
    interval_end,
    cast(durations->>'$.gate_raw' as double) as gate_raw_s,
    cast(durations->>'$.build_staging' as double) as build_staging_s,
    cast(durations->>'$.gate_staging' as double) as gate_staging_s,
    cast(durations->>'$.build_marts' as double) as build_marts_s,
    cast(durations->>'$.gate_marts' as double) as gate_marts_s,
    cast(durations->>'$.total' as double) as build_s,
    cast(gate_results->>'$.raw.passed' as boolean) as gate_raw_passed,
    cast(gate_results->>'$.staging.passed' as boolean) as gate_staging_passed,
    cast(gate_results->>'$.marts.passed' as boolean) as gate_marts_passed,
    cast(coalesce(gate_results->>'$.raw.warnings', '0') as integer)
        + cast(coalesce(gate_results->>'$.staging.warnings', '0') as integer)
        + cast(coalesce(gate_results->>'$.marts.warnings', '0') as integer) as gate_warnings,
    cast(counts->>'$.marts_full_refresh' as boolean) as is_full_build,
    cast(mart_rows->>'$.dose_reconciliation' as bigint) as dose_records
from {run_log}
"""


class PseudonymSecretError(RuntimeError):
    """The pseudonym secret is missing or too short: the BI layer (and so the publication) cannot be made."""


def check_secret(secret: str | None) -> str:
    if not secret:
        raise PseudonymSecretError(
            "no pseudonym secret: set VAXCLEAN_PSEUDONYM_SECRET (or VAXCLEAN_PSEUDONYM_SECRET_FILE, or the Airflow "
            "variable vaxclean_pseudonym_secret) to a random value of at least "
            f"{MIN_SECRET_CHARS} characters, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`; "
            "nothing was published")
    if len(secret) < MIN_SECRET_CHARS:
        raise PseudonymSecretError(
            f"the pseudonym secret has {len(secret)} characters, fewer than {MIN_SECRET_CHARS}: a short key makes "
            "the citizen keys guessable; nothing was published")
    return secret


def _pads(secret: str) -> dict[str, bytes]:
    """HMAC-SHA256's inner and outer pads of the key (RFC 2104): the only form the secret reaches DuckDB in."""
    key = secret.encode("utf-8")
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return {"bi_ipad": bytes(b ^ 0x36 for b in key), "bi_opad": bytes(b ^ 0x5C for b in key)}


def citizen_key_sql(column: str) -> str:
    """SQL of HMAC-SHA256(secret, column) as 32 hex digits; needs the parameters of `_pads`."""
    return (f"left(sha256($bi_opad || unhex(sha256($bi_ipad || encode(cast({column} as varchar))))), "
            f"{KEY_HEX_DIGITS})")


def citizen_key(secret: str, citizen_id: str) -> str:
    """The same pseudonym in Python (tests, support): HMAC-SHA256 hex, first 32 digits."""
    import hmac

    return hmac.new(secret.encode("utf-8"), citizen_id.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_HEX_DIGITS]


def _secret_id(secret: str) -> str:
    """Names the secret without revealing it: keys built with another secret are never mixed."""
    return citizen_key(secret, "vaxclean-bi-secret-id")


# ------------------------------------------------------------------------------------------ projection


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? order by column_index", [catalog, schema, table]).fetchall()]


def projection_sql(mart: str, columns: list[tuple[str, str]], source: str) -> str:
    """The select that turns a restricted mart (`source`, aliased t) into its BI table."""
    labelled = {**LABELLED_COLUMNS, **LABELLED_BY_MART.get(mart, {})}
    names = {name for name, _ in columns}
    domains: dict[str, str] = {}
    selected, added = [], []
    for name, data_type in columns:
        if name in PSEUDONYMS:
            selected.append(f"{citizen_key_sql('t.' + _quote(name))} as {_quote(PSEUDONYMS[name])}")
            continue
        if name in PERSONAL_COLUMNS:
            continue
        selected.append(f"t.{_quote(name)}")
        is_list = data_type.endswith("[]")
        domain = labelled.get(name)
        if domain:
            alias = f"labels_{len(domains)}"
            domains.setdefault(domain, alias)
            alias = domains[domain]
            if is_list:
                added.append(f"array_to_string(list_transform(t.{_quote(name)}, lambda code: "
                             f"coalesce({alias}.labels[code], code)), '; ') as {_quote(name + '_label')}")
            else:
                added.append(f"coalesce({alias}.labels[t.{_quote(name)}], t.{_quote(name)}) as {_quote(name + '_label')}")
        if is_list:
            added.append(f"array_to_string(t.{_quote(name)}, ', ') as {_quote(name + '_text')}")
    joins = []
    if "district_code" in names and "district_name" not in names:
        added.append("districts.district_name")
        joins.append("left join (select distinct district_code, district_name from wh.reference.ref_admin_units) "
                     "as districts on t.district_code = districts.district_code")
    if "commune_code" in names and "commune_name" not in names:
        added.append("communes.commune_name")
        joins.append("left join wh.reference.ref_admin_units as communes on t.commune_code = communes.commune_code")
    for domain, alias in domains.items():
        joins.append(f"cross join (select map(list(code), list(label_vi)) as labels from wh.reference.ref_code_labels "
                     f"where domain = '{domain}') as {alias}")
    return f"select {', '.join(selected + added)} from {source} as t {' '.join(joins)}"


def _bi_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = 'src' and schema_name = 'marts' order by 1"
    ).fetchall() if r[0] not in EXCLUDED_MARTS]


# --------------------------------------------------------------------------------------------- build


def build_bi(bi_db: Path, *, restricted_db: Path, warehouse_db: Path, secret: str,
             previous_bi: Path | None = None, scopes: Mapping[str, tuple[str, str]] | None = None,
             threads: int = 2, memory_limit: str = "6GB") -> dict[str, object]:
    """Write the BI file `bi_db` from the restricted file `restricted_db` (being published) and the
    warehouse's reference tables. With `previous_bi` and `scopes` ({mart: (key expression, select of the keys
    the build re-derived in the warehouse attached as wh)}), patch the previous BI file instead when it was
    built by these rules with this secret. Returns {"mart_rows", "patched", "timings"}."""
    check_secret(secret)
    params = _pads(secret)
    started = time.perf_counter()
    build_id = _build_id(warehouse_db, secret)
    patched = False
    if previous_bi is not None and scopes is not None and _previous_build_id(previous_bi) == build_id:
        shutil.copyfile(previous_bi, bi_db)
        patched = True
    con = duckdb.connect(str(bi_db))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set threads = {int(threads)}")
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("set max_vacuum_tasks = 0")  # a patch's deleted rows: compacted by the next full build
        con.execute(f"attach '{_sql_path(restricted_db)}' as src (read_only)")
        con.execute(f"attach '{_sql_path(warehouse_db)}' as wh (read_only)")
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists ops")
        rows = {}
        for mart in _bi_marts(con):
            columns = _columns(con, "src", "marts", mart)
            source = f"src.marts.{_quote(mart)}"
            scope = scopes.get(mart) if patched and scopes else None
            target = f"marts.{_quote(mart)}"
            if scope is not None:
                key, keys = scope
                bi_key, bi_keys = (PSEUDONYMS[key], f"select {citizen_key_sql('k')} from ({keys}) as scope(k)") \
                    if key in PSEUDONYMS else (key, keys)
                _execute(con, f"delete from {target} where {bi_key} in ({bi_keys})", params)
                rederived = f"(select * from {source} where {key} in ({keys}))"
                _execute(con, f"insert into {target} by name {projection_sql(mart, columns, rederived)}", params)
            else:
                _execute(con, f"create or replace table {target} as {projection_sql(mart, columns, source)}", params)
            rows[mart] = int(con.execute(f"select count(*) from {target}").fetchall()[0][0])
        for table in REFERENCE_TABLES:
            con.execute(f"create or replace table marts.{table} as select * from wh.reference.{table}")
            rows[table] = int(con.execute(f"select count(*) from marts.{table}").fetchall()[0][0])
        con.execute("create or replace table marts.pipeline_runs as "
                    + PIPELINE_RUNS_SQL.format(run_log="src.ops.run_log") + " order by published_at")
        rows["pipeline_runs"] = int(con.execute("select count(*) from marts.pipeline_runs").fetchall()[0][0])
        _check(con, rows)
        con.execute("create or replace table ops.bi_build as select ? as build_id, now() as built_at", [build_id])
        con.execute("detach src")
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    return {"mart_rows": rows, "patched": patched, "timings": {"bi_s": round(time.perf_counter() - started, 3)}}


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, bytes]) -> None:
    """Run a statement with the HMAC pads when it computes keys (DuckDB refuses unused parameters)."""
    con.execute(sql, dict(params) if "$bi_" in sql else None)


class BiLayerMismatch(RuntimeError):
    """The BI layer does not hold exactly the restricted marts' rows, or holds a personal column."""


def _check(con: duckdb.DuckDBPyConnection, rows: Mapping[str, int]) -> None:
    """Every mart has the restricted mart's row count; no table has a column named as a personal one (the
    projection drops them by name: this catches a projection that lets one through)."""
    problems = []
    for mart, count in rows.items():
        if mart in REFERENCE_TABLES or mart == "pipeline_runs":
            continue
        (expected,) = con.execute(f"select count(*) from src.marts.{_quote(mart)}").fetchall()[0]
        if expected != count:
            problems.append(f"{mart}: {count} rows, the restricted mart has {expected}")
    for table, column in con.execute(
            "select table_name, column_name from duckdb_columns() where database_name = current_database()"
    ).fetchall():
        if column in PERSONAL_COLUMNS:
            problems.append(f"{table}.{column} is a personal column")
    if problems:
        raise BiLayerMismatch("the BI layer is not what the rules make of the restricted marts: "
                              + "; ".join(problems) + ": nothing was published")


def _build_id(warehouse_db: Path, secret: str) -> str:
    """What the BI rows are computed with: this module and the list of personal columns, the labels and units,
    the secret (by its id). A patch starts only from a BI file made by the same."""
    from vaxclean import personal_data

    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(Path(personal_data.__file__).read_bytes())
    digest.update(_secret_id(secret).encode())
    with duckdb.connect(str(warehouse_db), read_only=True) as con:
        for table in REFERENCE_TABLES:
            (value,) = con.execute(f"select sum(hash(t)) from reference.{table} as t").fetchall()[0]
            digest.update(f"{table}:{value}".encode())
    return digest.hexdigest()[:16]


def _previous_build_id(previous_bi: Path) -> str | None:
    try:
        with duckdb.connect(str(previous_bi), read_only=True) as con:
            return con.execute("select build_id from ops.bi_build").fetchall()[0][0]
    except (duckdb.Error, IndexError):
        return None
