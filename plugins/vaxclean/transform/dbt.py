"""Run the dbt project in-process (dbtRunner) against a warehouse directory.

The project and its committed profiles.yml live in `vaxclean.config.DBT_PROJECT_DIR`; everything a run
writes (target/, logs/, the warehouse file) goes under the warehouse directory, so the repository
stays clean and parallel runs on different warehouses do not collide.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vaxclean.config import DBT_PROJECT_DIR, settings
from vaxclean.personal_data import mask_text

log = logging.getLogger(__name__)

_FAILED = {"error", "fail", "runtime error"}


# Failures that can pass on a retry: the warehouse file held by another process, a full disk, memory.
# (Whole phrases: a bare "lock" also matched the clock model's name and "block".)
_TRANSIENT = ("Could not set lock", "No space left", "Out of Memory", "OutOfMemory", "Resource temporarily")


class DbtFailure(RuntimeError):
    """dbt ran but some nodes failed (or dbt itself could not run)."""

    def __init__(self, command: str, failures: list[dict[str, str]], message: str = "") -> None:
        self.command = command
        self.failures = failures
        self.message = message
        lines = [f"dbt {command} failed" + (f": {message}" if message else "")]
        lines += [f"  {f['status']}: {f['unique_id']}: {f['message']}" for f in failures]
        super().__init__("\n".join(lines))

    @property
    def is_deterministic(self) -> bool:
        """Whether running again on the same inputs fails the same way (a data test that fails, a model's
        SQL error): a retry only delays the alert. A lock, a full disk or memory can pass."""
        texts = [self.message, *(f.get("message", "") for f in self.failures)]
        return bool(self.failures) and not any(marker in text for text in texts for marker in _TRANSIENT)


@contextmanager
def _environment(warehouse_dir: Path) -> Iterator[None]:
    """VAXCLEAN_WAREHOUSE_DIR (read by profiles.yml and the sources) set for the duration of the run."""
    saved = os.environ.get("VAXCLEAN_WAREHOUSE_DIR")
    os.environ["VAXCLEAN_WAREHOUSE_DIR"] = str(warehouse_dir)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("VAXCLEAN_WAREHOUSE_DIR", None)
        else:
            os.environ["VAXCLEAN_WAREHOUSE_DIR"] = saved


def _release_warehouse() -> None:
    """dbt-duckdb keeps its DuckDB connection open in the process after a run; close it so the file can be
    opened (read-only, or with another configuration), copied or published by the same process."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing cached
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None and hasattr(environment, "close"):
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def _on_engine(args: list[str], target_dir: str, warehouse_dir: Path, *, start: bool) -> tuple[list[str], str]:
    """The command on the configured engine (VAXCLEAN_ENGINE): on Spark the profile's `spark` target, with its
    own artifacts (a manifest holds one adapter's macros) and, when the command runs models (`start`), the
    local session started and the raw lake registered first. A command naming its target keeps it."""
    if settings().engine != "spark" or "--target" in args:
        return args, target_dir
    if start:
        from vaxclean.transform import spark

        spark.prepare(warehouse_dir)  # the session dbt-spark's session method finds
    return [*args, "--target", "spark"], f"{target_dir}_spark"


def _cli_args(args: list[str], warehouse_dir: Path, vars: Mapping[str, Any] | None,
              target_dir: str = "target") -> list[str]:
    dbt_dir = warehouse_dir / "dbt"
    full = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(dbt_dir / target_dir),
        "--log-path", str(dbt_dir / "logs"),
        # dbt's own console and file logs are off: its events reach Python logging masked (_log_event)
        "--log-level", "none", "--log-level-file", "none",
    ]
    if vars:
        full += ["--vars", json.dumps(dict(vars), default=str)]
    return full


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_dbt_log = logging.getLogger("vaxclean.dbt")


def _log_event(event: Any) -> None:
    """dbt's events (what it would print) to the `vaxclean.dbt` logger, masked: an error quotes the value a
    model failed on (vaxclean.personal_data.mask_text). Debug events are dropped."""
    level = _LEVELS.get(event.info.level, logging.INFO)
    if level > logging.DEBUG and event.info.msg:
        _dbt_log.log(level, "%s", mask_text(str(event.info.msg)))


NODE_TIMINGS = "node_timings.json"  # under <warehouse>/dbt/: each node of the last run, slowest first


def _status(node_result: Any) -> str:
    return str(getattr(node_result.status, "value", node_result.status))


def _summarise(command: str, result: Any) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    node_results = getattr(result, "results", None) or []
    for node_result in node_results:
        status = _status(node_result)
        statuses[status] += 1
        if status in _FAILED:
            node = getattr(node_result, "node", None)
            failures.append({
                "unique_id": getattr(node, "unique_id", "?"),
                "status": status,
                # DuckDB quotes the value a model failed on: masked before it reaches a log, XCom or an alert
                "message": mask_text(" | ".join(line.strip() for line in (node_result.message or "").splitlines()
                                                if line.strip()))[:600],
            })
    return {"command": command, "nodes": len(node_results), "statuses": dict(statuses), "failures": failures}


def _node_timings(result: Any) -> list[dict[str, Any]]:
    """Per node of a run: its id (without `<type>.`), status and execution seconds, slowest first."""
    timings = []
    for node_result in getattr(result, "results", None) or []:
        node = getattr(node_result, "node", None)
        timings.append({"node": str(getattr(node, "unique_id", "?")).split(".", 1)[-1],
                        "status": _status(node_result),
                        "seconds": round(float(getattr(node_result, "execution_time", 0) or 0), 3)})
    return sorted(timings, key=lambda n: -n["seconds"])


def scoped_models(result: Any) -> dict[str, dict[str, str]]:
    """The models of a run that declare a dose-chain scope in their meta (dbt_project/macros/dose_chain.sql),
    as the manifest says: {model: {"relation": "<schema>.<alias>", "key": SQL of a row's key,
    "scope": "<schema>.<alias>" of the scope model, "scope_key": its column, "kept": where the run kept the
    re-derived rows}}. A projection view (meta dose_scope_projection_of) gets its model's scope and
    `projection_of`: its kept rows are that model's, read as the view's columns."""
    nodes = {getattr(r.node, "name", None): r.node for r in getattr(result, "results", None) or []
             if getattr(r.node, "resource_type", None) == "model"}

    def relation(node: Any) -> str:
        return f"{node.schema}.{node.alias}"

    declared: dict[str, dict[str, str]] = {}
    for name, node in nodes.items():
        meta = node.config.meta or {}
        of = meta.get("dose_scope_projection_of")
        source = nodes.get(of) if of else node
        scope = (source.config.meta or {}).get("dose_scope") if source is not None else None
        if not scope or scope["scope"] not in nodes:
            continue
        declared[name] = {
            "relation": relation(node),
            "key": meta.get("dose_scope_key", "dose_record_key") if of else scope.get("key", "dose_record_key"),
            "scope": relation(nodes[scope["scope"]]),
            "scope_key": scope.get("scope_key", "dose_record_key"),
            "kept": f"intermediate.{source.alias}__rederived",
        } | ({"projection_of": relation(source)} if of else {})
    return declared


def parse_manifest(*, warehouse_dir: Path, vars: Mapping[str, Any] | None = None) -> Any:
    """dbt's manifest of the project (a partial parse when nothing changed since the last one), for deciding
    a build from dbt's own lineage; pass it to `run_dbt` with the same vars so the build does not parse
    again."""
    from dbt.cli.main import dbtRunner

    warehouse_dir = Path(warehouse_dir).resolve()
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    with _environment(warehouse_dir):
        args, target_dir = _on_engine(["parse", "--no-write-json"], "target", warehouse_dir, start=False)
        try:
            outcome = dbtRunner(callbacks=[_log_event]).invoke(_cli_args(args, warehouse_dir, vars, target_dir))
        finally:
            _release_warehouse()
    if not outcome.success:
        raise DbtFailure("parse", [], str(outcome.exception or "parse failed"))
    return outcome.result


def raw_lineage(manifest: Any, unique_id: str) -> set[str]:
    """The raw tables (lake folders: the `raw` sources' identifiers) a node reads, directly or through its
    parents, by dbt's lineage."""
    tables: set[str] = set()
    seen: set[str] = set()
    pending = [unique_id]
    while pending:
        uid = pending.pop()
        if uid in seen:
            continue
        seen.add(uid)
        if uid in manifest.sources:
            source = manifest.sources[uid]
            if source.schema == "raw":
                tables.add(source.identifier)
        elif uid in manifest.nodes:
            pending.extend(getattr(manifest.nodes[uid].depends_on, "nodes", ()))  # a seed depends on macros only
    return tables


def run_dbt(args: list[str], *, warehouse_dir: Path, vars: Mapping[str, Any] | None = None,
            manifest: Any = None, target_dir: str = "target") -> dict[str, Any]:
    """Run `dbt <args>` in-process on `warehouse_dir`; return counts per status (XCom-sized). `manifest`
    (parse_manifest with the same vars) spares dbt its parse. `target_dir`: dbt's artifacts under
    `<warehouse>/dbt/` (a command that runs beside a build keeps its own).

    Raises DbtFailure listing the failing nodes when dbt reports failure.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when a build runs

    warehouse_dir = Path(warehouse_dir).resolve()
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    command = " ".join(args[:1]) or "dbt"
    with _environment(warehouse_dir):
        # settings() is read now so the DuckDB knobs in profiles.yml see the same defaults as config.py
        knobs = settings()
        os.environ.setdefault("VAXCLEAN_DUCKDB_THREADS", str(knobs.duckdb_threads))
        os.environ.setdefault("VAXCLEAN_DUCKDB_MEMORY_LIMIT", knobs.duckdb_memory_limit)
        args, target_dir = _on_engine(args, target_dir, warehouse_dir, start=True)
        cli_args = _cli_args(args, warehouse_dir, vars, target_dir)
        log.info("dbt %s on %s", command, warehouse_dir)
        try:
            outcome = dbtRunner(manifest=manifest, callbacks=[_log_event]).invoke(cli_args)
        finally:
            _release_warehouse()
    summary = _summarise(command, outcome.result) | {"scoped_models": scoped_models(outcome.result)}
    if "--no-write-json" in args:  # no run_results.json: the node timings alone, for the logs and benchmarks
        timings = warehouse_dir / "dbt" / NODE_TIMINGS
        timings.parent.mkdir(parents=True, exist_ok=True)
        timings.write_text(json.dumps({"command": " ".join(args), "nodes": _node_timings(outcome.result)}, indent=0))
    if not outcome.success:
        message = mask_text(str(outcome.exception)) if outcome.exception else ""
        raise DbtFailure(command, summary["failures"], message)
    log.info("dbt %s: %s", command, summary["statuses"])
    return summary


def parse(*, warehouse_dir: Path) -> dict[str, Any]:
    """`dbt parse`: the project compiles (Jinja, refs, yml); returns the node counts of the manifest."""
    from dbt.cli.main import dbtRunner

    warehouse_dir = Path(warehouse_dir).resolve()
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    with _environment(warehouse_dir):
        try:
            outcome = dbtRunner(callbacks=[_log_event]).invoke(_cli_args(["parse"], warehouse_dir, None))
        finally:
            _release_warehouse()
    if not outcome.success:
        raise DbtFailure("parse", [], str(outcome.exception or "parse failed"))
    manifest = outcome.result
    kinds: Counter[str] = Counter(node.resource_type for node in manifest.nodes.values())
    return {
        "command": "parse",
        "nodes": {str(getattr(k, "value", k)): v for k, v in kinds.items()},
        "sources": len(manifest.sources),
        "macros": sum(1 for m in manifest.macros.values() if m.package_name == "vaxclean"),
    }
