"""The warehouse build, step by step: each function is one task of the `build_warehouse` DAG.

The layers are built by dbt into `<warehouse>/warehouse.duckdb` (one writer: the DAG runs one build at
a time), each followed by its pandera gate; publishing happens only after every gate has passed.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vaxclean.config import settings
from vaxclean.state import build_stamp_path, read_build_stamp, write_build_stamp

log = logging.getLogger(__name__)

# dbt selections per layer, in build order.
LAYER_SELECTORS: dict[str, list[str]] = {
    "staging": ["resource_type:seed", "path:models/staging"],
    "marts": ["path:models/intermediate", "path:models/marts"],
}


def _warehouse_dir() -> Path:
    return settings().warehouse_dir


def last_published_at(warehouse_dir: Path) -> datetime | None:
    """When the currently published marts were published (from their `ops.run_log`), or None."""
    import duckdb

    path = warehouse_dir / "published" / "marts.duckdb"
    if not path.exists():
        return None
    with duckdb.connect() as con:
        try:
            con.execute(f"attach '{path}' as pub (read_only)")
            (value,) = con.execute("select max(published_at) from pub.ops.run_log").fetchone()
        except duckdb.CatalogException:
            return None
        except duckdb.Error as error:  # an unreadable publication: as if none (the publisher replaces it)
            log.warning("the published file %s is unreadable (%s): checking every load", path, type(error).__name__)
            return None
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def apply_retention(run_id: str) -> dict:
    """The raw lake's retention (VAXCLEAN_RAW_RETENTION_DAYS, off by default), before the build reads it."""
    from vaxclean.retention import apply_retention as retain

    return retain(settings().raw_dir, settings().raw_retention_days)


def gate(layer: str, run_id: str, *, hold_for_acceptance: bool = False, report_name: str | None = None) -> dict:
    """Validate a layer with pandera; raises GateFailed (failing the task) with a readable report when it fails.

    The raw gate's quarantine check covers the loads since the last publish, minus those the data team
    accepted (vaxclean.gates.quarantine). With `hold_for_acceptance`, a raw gate that failed only because
    quarantined loads block publishing returns its summary (`needs_acceptance` true) instead of raising:
    the DAG then asks for an approval (`accept_quarantine`).
    """
    from vaxclean.gates import GateFailed, run_gate
    from vaxclean.raw.layout import init_raw

    since = None
    if layer == "raw":
        init_raw(settings().raw_dir)
        since = last_published_at(_warehouse_dir())
    started = time.monotonic()
    report = run_gate(layer, warehouse_dir=_warehouse_dir(), run_id=run_id, interval_start=since,
                      report_name=report_name, raise_on_failure=False)
    if not report.passed and not (hold_for_acceptance and report.needs_acceptance):
        raise GateFailed(report)
    summary = report.to_dict()
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


def accept_quarantine(run_id: str, raw_summary: dict, *, accepted_by: str, accepted_at: datetime | None = None,
                      note: str = "") -> dict:
    """Record the data team's accept of the loads that blocked the raw gate (`raw_summary`: the blocked gate's
    summary), then run the raw gate again (report `raw_accepted`), which now passes; returns its summary
    with the accept."""
    from vaxclean.gates.acceptance import blocked_loads, record_acceptance

    accept = record_acceptance(_warehouse_dir(), blocked_loads(raw_summary.get("quarantine", {})),
                               accepted_by=accepted_by, accepted_at=accepted_at, run_id=run_id, note=note)
    summary = gate("raw", run_id, report_name="raw_accepted")
    return summary | {"accept": accept}


# What the incremental models' rows were computed with: when any of it changes, rebuild them all.
CODE_INPUTS: dict[str, tuple[str, ...]] = {
    "staging": ("dbt_project.yml", "macros", "models/staging", "seeds"),
    # the dose chain also reads the Splink model and the Python that scores with it
    "marts": ("dbt_project.yml", "macros", "models", "seeds", "../plugins/vaxclean/linkage"),
}

def layer_inputs(manifest: Any, layer: str) -> dict[str, tuple[str, ...]]:
    """The models of a layer that a build may skip, each with the raw tables (lake folders) it reads, from
    dbt's lineage: a model whose raw tables did not change since the layer's last successful build is not
    rebuilt (its table, tests and gate results stand). Staging: every table model (the incremental
    platform model finds its own changes). Marts: the models whose YAML says `rebuilt_only_with_its_sources`
    (the complaint linkage, the population's Splink features)."""
    from vaxclean.transform.dbt import raw_lineage

    skippable = {}
    for uid, node in manifest.nodes.items():
        if node.resource_type != "model":
            continue
        in_staging = node.original_file_path.startswith("models/staging/")
        if layer == "staging" and in_staging and node.config.materialized == "table" or (
                layer == "marts" and not in_staging and (node.config.meta or {}).get("rebuilt_only_with_its_sources")):
            skippable[node.name] = tuple(sorted(raw_lineage(manifest, uid)))
    return dict(sorted(skippable.items()))


def layer_relations(manifest: Any, layer: str) -> list[tuple[str, str]]:
    """The (schema, name) of every table or view a layer's build makes (its LAYER_SELECTORS, from the manifest)."""
    selectors = LAYER_SELECTORS[layer]
    kinds = {s.split(":", 1)[1] for s in selectors if s.startswith("resource_type:")}
    paths = tuple(s.split(":", 1)[1] + "/" for s in selectors if s.startswith("path:"))
    return sorted(
        (node.schema, node.alias) for node in manifest.nodes.values()
        if node.resource_type in ("model", "seed") and node.config.materialized != "ephemeral"
        and (node.resource_type in kinds or node.original_file_path.startswith(paths)))


def full_build_inputs(manifest: Any) -> tuple[str, ...]:
    """Raw tables whose change the dose chain's scopes do not follow (every match can change): the marts
    layer is rebuilt in full. Declared on the source (`full_build_when_changed`: the population)."""
    return tuple(sorted(source.identifier for source in manifest.sources.values()
                        if (source.meta or {}).get("full_build_when_changed")
                        or (source.config.meta or {}).get("full_build_when_changed")))


def code_fingerprint(dbt_project_dir: Path, layer: str = "staging") -> str:
    """SHA-256 over the files that decide how a layer's incremental models compute their rows."""
    digest = hashlib.sha256()
    for name in CODE_INPUTS[layer]:
        root = (dbt_project_dir / name).resolve()
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root.parent)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def raw_fingerprints(raw_dir: Path, tables: Iterable[str]) -> dict[str, str]:
    """Per raw table, a hash of its files' names and signatures (vaxclean.raw.layout.file_signature: a load
    adds files or renames new ones over old ones, never edits one in place)."""
    from vaxclean.raw.layout import file_signature, table_dir

    prints = {}
    for table in sorted(set(tables)):
        digest = hashlib.sha256()
        root = table_dir(raw_dir, table)
        for path in sorted(root.rglob("*.parquet")) if root.exists() else []:
            digest.update(f"{path.relative_to(root)}\0{file_signature(path)}\n".encode())
        prints[table] = digest.hexdigest()
    return prints


def chain_state_tables(manifest: Any) -> tuple[tuple[str, str], ...]:
    """(schema, table) of what a build of the dose chain leaves for the next one: the dbt source
    `previous_build` (dbt_project/models/intermediate/doses/_doses__sources.yml)."""
    return tuple(sorted((s.schema, s.identifier) for s in manifest.sources.values() if s.source_name == "previous_build"))


def _dose_chain_state_exists(warehouse_db: Path, tables: tuple[tuple[str, str], ...]) -> bool:
    """Whether the previous build left the chain state (`tables`) that an incremental build starts from."""
    import duckdb

    if not warehouse_db.exists() or not tables:
        return False
    with duckdb.connect(str(warehouse_db), read_only=True) as con:
        present = set(con.execute("select schema_name, table_name from duckdb_tables()").fetchall())
    return all(table in present for table in tables)


# The schemas whose tables a layer's incremental builds delete rows from (vaxclean.transform.storage).
LAYER_SCHEMAS = {"staging": ("staging",), "marts": ("intermediate", "marts")}


def _deleted_share(layer: str, warehouse_db: Path) -> float:
    """The largest share of deleted rows still stored in the layer's tables (0 without a warehouse)."""
    import duckdb

    from vaxclean.transform.storage import deleted_share

    if not warehouse_db.exists():
        return 0.0
    with duckdb.connect(str(warehouse_db), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchall()[0][0]
        return deleted_share(con, catalog, LAYER_SCHEMAS[layer])


def _full_build_reason(layer: str, stamp: dict, code: str, warehouse_db: Path) -> str | None:
    """Why the layer's next build must be full whatever its inputs, or None: no successful build to continue,
    another code, or compaction (a table holds COMPACT_DELETED_SHARE deleted rows)."""
    from vaxclean.transform.storage import COMPACT_DELETED_SHARE

    if not stamp:
        return "no successful build to continue (first build, or the last one failed)"
    if stamp.get("code") != code:
        return "the code changed (models, macros, seeds or the linkage model)"
    share = _deleted_share(layer, warehouse_db)
    if share >= COMPACT_DELETED_SHARE:
        return f"compaction: {100 * share:.0f} % of a table's stored rows are deleted ones"
    return None


def _plan(layer: str, stamp: dict, inputs: dict[str, str], warehouse_db: Path, skippable: dict[str, tuple[str, ...]],
          full_build: tuple[str, ...], full_reason: str | None,
          state_tables: tuple[tuple[str, str], ...] = ()) -> tuple[bool, list[str], str]:
    """(full refresh?, models to exclude, why) for a layer, from `full_reason` (_full_build_reason) and what
    changed since its last successful build: `skippable` (layer_inputs), `full_build` (full_build_inputs)
    and `state_tables` (chain_state_tables) come from dbt's manifest."""
    if full_reason:
        return True, [], full_reason
    previous = stamp.get("inputs", {})
    unchanged = [model for model, tables in skippable.items() if all(previous.get(t) == inputs[t] for t in tables)]
    continues = f"continues build {stamp.get('build_id')}"
    if layer == "staging":
        # seeds are code (their fingerprint is in `code`): reloaded only with it
        return False, ["resource_type:seed", *unchanged], continues
    changed = [t for t in full_build if previous.get(t) != inputs[t]]
    if changed:
        return True, [], f"{', '.join(changed)} changed: every match can change"
    if not _dose_chain_state_exists(warehouse_db, state_tables):
        return True, [], "the previous build left no chain state"
    return False, unchanged, continues


def build_layer(layer: str, run_id: str) -> dict:
    """Run `dbt build` (models + their tests) for one layer, as incrementally as its inputs allow.

    Staging: a model whose raw tables did not change since the last successful staging build is skipped
    (the platform model is incremental itself). Marts: the dose chain is incremental by scope
    (dbt_project/macros/dose_chain.sql, docs/architecture.md) unless a source declared
    `full_build_when_changed` (the population) changed; the models declared `rebuilt_only_with_its_sources`
    are skipped when their raw tables did not change (layer_inputs: both from dbt's lineage). Either layer
    is fully refreshed when the code that computes its rows changed (dbt models, macros, seeds, the
    linkage model) or after a failed build (the stamp is written on success only).
    """
    from vaxclean.config import DBT_PROJECT_DIR
    from vaxclean.raw.layout import init_raw
    from vaxclean.transform.dbt import parse_manifest, run_dbt

    raw_dir = settings().raw_dir
    init_raw(raw_dir)
    started = time.monotonic()
    stamp_path = build_stamp_path(_warehouse_dir(), layer)
    stamp = read_build_stamp(_warehouse_dir(), layer)
    code = code_fingerprint(DBT_PROJECT_DIR, layer)
    warehouse_db = _warehouse_dir() / "warehouse.duckdb"
    full_reason = _full_build_reason(layer, stamp, code, warehouse_db)
    # what the layer reads, from dbt's lineage: parsed with the vars the build most likely runs with, and
    # handed to it (dbt re-parses the whole project when its vars change; a build that turns out full after
    # reading its inputs, a new population, parses again)
    likely_vars = {"build": {"incremental": full_reason is None}}
    manifest = parse_manifest(warehouse_dir=_warehouse_dir(), vars=likely_vars)
    skippable = layer_inputs(manifest, layer)
    full_build = full_build_inputs(manifest) if layer == "marts" else ()
    inputs = raw_fingerprints(raw_dir, [*full_build, *(t for tables in skippable.values() for t in tables)])
    on_spark = settings().engine == "spark"
    if on_spark:  # dbt_project/macros/engine/full_builds.sql
        full_refresh, excluded, why = True, [], "the Spark engine builds in full"
    else:
        full_refresh, excluded, why = _plan(layer, stamp, inputs, warehouse_db, skippable, full_build, full_reason,
                                            chain_state_tables(manifest))
    log.info("%s build for run %s: %s (%s)", layer, run_id, "full" if full_refresh else "incremental", why)
    # cautious: a test runs with the layer that builds all its parents (a mart test on a seed waits for the mart)
    args = ["build", "--select", *LAYER_SELECTORS[layer], "--indirect-selection", "cautious",
            # dbt unit tests check the models' logic on fixed inputs, not the data: they run in CI
            # (tests/dbt builds the project with them), not again on every production build
            "--exclude", "resource_type:unit_test", *excluded,
            # no manifest.json/run_results.json (0.4 s per build: serialising the manifest); the node timings
            # go to <warehouse>/dbt/node_timings.json, and generate_docs writes the manifest after publishing
            "--no-write-json"]
    if full_refresh:
        args.append("--full-refresh")
    stamp_path.unlink(missing_ok=True)  # a failed build leaves no stamp: the next one is full
    from vaxclean.permissions import private_umask, protect, restricted_group

    # the build record as dbt sees it (dbt_project/macros/dose_chain.sql): only the decision, so that the
    # vars, part of dbt's partial parse, stay the same from one incremental build to the next
    build_vars = {"build": {"incremental": not full_refresh}}
    with private_umask():  # the warehouse holds every personal value: owner and group only
        result = run_dbt(args, warehouse_dir=_warehouse_dir(), vars=build_vars,
                         manifest=manifest if build_vars == likely_vars else None)
        if on_spark:  # the gates and the publisher read the layer's tables in warehouse.duckdb on either engine
            from vaxclean.transform import spark

            result["mirrored"] = spark.mirror_to_duckdb(spark.session(_warehouse_dir()),
                                                        layer_relations(manifest, layer), _warehouse_dir())
    for path in (_warehouse_dir() / "warehouse.duckdb", _warehouse_dir() / "warehouse.duckdb.wal"):
        if path.exists():
            protect(path, restricted=True, group=restricted_group())
    # the gates read the build ids: a build that started from the tables a passed gate validated needs
    # only the rows it re-derived validated (vaxclean.gates)
    write_build_stamp(_warehouse_dir(), layer, {
        "code": code, "inputs": inputs, "run_id": run_id, "build_id": uuid.uuid4().hex,
        "previous_build_id": None if full_refresh else stamp.get("build_id"),
        "full_refresh": full_refresh, "why": why, "excluded": excluded,
        # the models built by dose-chain scope, as the manifest declares them (gates and publisher read them)
        "scoped_models": result.pop("scoped_models", {})})
    result["full_refresh"] = full_refresh
    result["why"] = why
    result["excluded"] = excluded
    result["seconds"] = round(time.monotonic() - started, 3)
    log.info("dbt build of %s for run %s: %s", layer, run_id, result)
    return result


def build_layer_task(layer: str, run_id: str) -> dict:
    """`build_layer` as an Airflow task: a deterministic dbt failure (a failing data test, a model's SQL error)
    fails the task without the retries meant for passing trouble (a lock, a full disk)."""
    from vaxclean.transform.dbt import DbtFailure

    try:
        return build_layer(layer, run_id)
    except DbtFailure as failure:
        if failure.is_deterministic:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(failure)) from failure
        raise


def run_log_info(steps: dict) -> dict:
    """What `ops.run_log` keeps of a build from the DAG's step results ({"gates": {layer: gate summary},
    "builds": {layer: build result}}): seconds per step, each gate's verdict and counts, full or incremental."""
    gates, builds = steps.get("gates", {}), steps.get("builds", {})
    durations = {f"gate_{layer}": gate.get("seconds") for layer, gate in gates.items()}
    durations |= {f"build_{layer}": build.get("seconds") for layer, build in builds.items()}
    durations["total"] = round(sum(v for v in durations.values() if isinstance(v, int | float)), 3)
    return {
        "durations": durations,
        "gate_results": {layer: {"passed": gate.get("passed"), "failures": gate.get("failure_count"),
                                 "warnings": gate.get("warning_count"), "report": gate.get("report_path")}
                         for layer, gate in gates.items()},
        "counts": {f"{layer}_full_refresh": build.get("full_refresh") for layer, build in builds.items()}
        | {f"{layer}_rows": {t["table"]: t.get("table_rows") or t["rows"] for t in gate.get("tables", [])}
           for layer, gate in gates.items()},
    }


def _pseudonym_secret() -> str | None:
    """The BI layer's pseudonym key: the environment (vaxclean.config.pseudonym_secret), else the Airflow
    variable `vaxclean_pseudonym_secret` (when running as an Airflow task)."""
    from vaxclean.config import pseudonym_secret as from_environment

    secret = from_environment()
    if secret:
        return secret
    try:
        from airflow.sdk import Variable

        return Variable.get("vaxclean_pseudonym_secret", default=None)
    except Exception:  # noqa: BLE001 (outside a task, or no such variable: the publisher says what is missing)
        return None


def publish_marts(run_id: str, steps: dict) -> dict:
    """Publish the validated marts and the BI layer atomically (DuckDB files + Parquet) with the run log."""
    from vaxclean.publish import publish

    return publish(warehouse_dir=_warehouse_dir(), run_id=run_id, run_info=run_log_info(steps),
                   secret=_pseudonym_secret())


def export_commune_files(run_id: str) -> dict:
    """After publishing: one worklist XLSX per commune and the write-back import files, beside the marts."""
    from vaxclean.permissions import protect, restricted_group
    from vaxclean.retention import remove_stale_temp_files
    from vaxclean.worklists import export_worklists, export_write_back

    warehouse = _warehouse_dir()
    published = warehouse / "published"
    started = time.monotonic()
    # half-written files of an export that was killed (personal data): this build is the folders' only writer
    stale = sum(remove_stale_temp_files(published / folder) for folder in ("worklists", "write_back"))
    result = {
        "temp_files_removed": stale,
        "worklists": export_worklists(warehouse_dir=warehouse, marts_db=published / "marts.duckdb", out_dir=published),
        "write_back": export_write_back(warehouse_dir=warehouse, out_dir=published),
    }
    for folder in ("worklists", "write_back"):  # personal data: owner and group only (the files already are)
        if (published / folder).exists():
            protect(published / folder, restricted=True, group=restricted_group())
    result["seconds"] = round(time.monotonic() - started, 3)
    log.info("commune files for run %s exported in %.1fs", run_id, result["seconds"])
    return result


def generate_docs(run_id: str) -> dict:
    """`dbt docs generate --static` as a run artifact (`<warehouse>/dbt/target/static_index.html`, one file with
    the catalog of every model: the dbt docs view of the Airflow UI serves it, vaxclean.airflow_ui)."""
    from vaxclean.transform.dbt import run_dbt

    started = time.monotonic()
    result = run_dbt(["docs", "generate", "--static"], warehouse_dir=_warehouse_dir())
    result["index"] = str(_warehouse_dir() / "dbt" / "target" / "static_index.html")
    result["seconds"] = round(time.monotonic() - started, 3)
    log.info("dbt docs for run %s in %.1fs", run_id, result["seconds"])
    return result
