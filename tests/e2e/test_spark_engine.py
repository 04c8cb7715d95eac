"""One dbt project, two engines: a generated scenario's raw lake built by DuckDB and by Spark (local mode,
dbt-spark's session method, Splink's SparkAPI) through the same steps (raw gate, staging, gate, marts, gate,
publish) gives the same marts, both ways (`except all`), and the same scores within 1e-6. A Spark build
killed mid-way leaves the last publication as it was, and the next build runs.

Intended differences, not compared (docs/scaling.md, "Spark"): fingerprints whose hash function is the
engine's own (a police return's `police_returns_hash`, a record's `phone_evidence_hash`, the linkage features'
`blocking_key_<n>`), and the
match scores themselves, which are compared within 1e-6."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

PEOPLE, SEED = 3000, 7
UNTIL = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)  # after every version of the generated history
SCORES = ("link_probability", "link_weight", "second_probability")
# columns holding an engine's own hash (a fingerprint compared only with itself) or a score (compared apart)
NOT_COMPARED = {"police_returns_hash", "police_return_hash", "phone_evidence_hash", *SCORES}


_BUILD = """
import json, sys
from vaxclean.build import build_layer, gate, publish_marts
run_id, out = sys.argv[1], sys.argv[2]
steps = {"gate_raw": gate("raw", run_id)}
for layer in ("staging", "marts"):  # in the DAG's order
    steps[f"build_{layer}"] = build_layer(layer, run_id)
    steps[f"gate_{layer}"] = gate(layer, run_id)
steps["publish"] = publish_marts(run_id, {})
open(out, "w").write(json.dumps(steps, default=str))
"""


def _environment(engine: str, warehouse: Path, scenario: Path) -> dict[str, str]:
    return {**os.environ, "VAXCLEAN_ENGINE": engine, "VAXCLEAN_WAREHOUSE_DIR": str(warehouse),
            "VAXCLEAN_LANDING_DIR": str(scenario)}


def _build(engine: str, warehouse: Path, scenario: Path, run_id: str) -> dict:
    """The DAG's build steps in a process of their own, as an Airflow task runs them (a Spark session and
    its metastore belong to one process at a time)."""
    out = warehouse.parent / f"{run_id}.json"
    done = subprocess.run([sys.executable, "-c", _BUILD, run_id, str(out)], env=_environment(engine, warehouse, scenario),
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"{engine} build {run_id} failed: {done.stderr[-3000:]}"
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def engines(tmp_path_factory, monkeypatch_module, extract_and_load):
    from vaxclean.scenario import generate

    base = tmp_path_factory.mktemp("engines")
    scenario = base / "scenario"
    generate(scenario, people=PEOPLE, seed=SEED)
    monkeypatch_module.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    warehouses = {"duckdb": base / "duckdb", "spark": base / "spark"}
    extract_and_load(scenario, warehouses["duckdb"] / "raw", dt.datetime(2020, 1, 1, tzinfo=dt.UTC), UNTIL)
    shutil.copytree(warehouses["duckdb"] / "raw", warehouses["spark"] / "raw")
    built = {}
    for engine, warehouse in warehouses.items():
        built[engine] = _build(engine, warehouse, scenario, f"{engine}-run")
    return {"warehouses": warehouses, "built": built, "scenario": scenario}


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> dict[str, list[str]]:
    rows = con.execute(
        "select table_schema || '.' || table_name, list(column_name order by ordinal_position) "
        "from information_schema.columns where table_catalog = ? and table_schema in ? group by all",
        [catalog, list(schemas)]).fetchall()
    return dict(rows)


def _differences(a_db: Path, b_db: Path, schemas: tuple[str, ...]) -> tuple[dict, dict]:
    """({table: (rows only in a, rows only in b)} for the tables that differ, {table: columns compared})."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a_db}' as a (read_only)")
        con.execute(f"attach '{b_db}' as b (read_only)")
        a_tables, b_tables = _tables(con, "a", schemas), _tables(con, "b", schemas)
        # DuckDB's incremental machinery keeps tables of its own (macros/dose_chain.sql, platform_staging.sql)
        machinery = {t for t in a_tables if t.endswith(("__since", "__rederived"))}
        assert sorted(set(a_tables) - machinery) == sorted(b_tables)
        differences, compared = {}, {}
        for table, columns in sorted(b_tables.items()):
            assert columns == a_tables[table], f"{table}: the columns differ"
            kept = [c for c in columns if c not in NOT_COMPARED and not c.startswith("blocking_key_")]
            select = ", ".join(f'"{c}"' for c in kept)
            only_a, only_b = con.execute(
                f"select (select count(*) from (select {select} from a.{table} except all select {select} from b.{table})),"
                f" (select count(*) from (select {select} from b.{table} except all select {select} from a.{table}))"
            ).fetchone()
            compared[table] = kept
            if only_a or only_b:
                differences[table] = (only_a, only_b)
        return differences, compared
    finally:
        con.close()


def test_both_engines_pass_every_gate_and_publish(engines):
    for engine in ("duckdb", "spark"):
        steps = engines["built"][engine]
        for gate in ("gate_raw", "gate_staging", "gate_marts"):
            assert steps[gate]["passed"], (engine, gate, steps[gate])
        assert (engines["warehouses"][engine] / "published" / "marts.duckdb").exists()
    assert engines["built"]["spark"]["build_marts"]["full_refresh"] is True
    assert engines["built"]["spark"]["build_marts"]["mirrored"]


def test_the_gate_reports_say_the_same_on_both_engines(engines):
    """The gates read the same tables (the Spark build's, mirrored into warehouse.duckdb): the same tables,
    rows, checks and verdicts, timings aside."""
    def verdicts(engine: str, layer: str) -> dict:
        report = json.loads((engines["warehouses"][engine] / "gate_reports" / f"{engine}-run" / f"{layer}.json")
                            .read_text())
        return {"tables": sorted((t["table"], t["rows"], t["hard_checks"], t["soft_checks"]) for t in report["tables"]),
                "checks": sorted((c["table"], c["check"], c["status"], c["failed_rows"], c["total_rows"])
                                 for c in report["checks"]),
                "passed": report["passed"], "failures": report["failure_count"], "warnings": report["warning_count"]}

    for layer in ("raw", "staging", "marts", "published_marts"):
        assert verdicts("spark", layer) == verdicts("duckdb", layer), layer
    assert verdicts("spark", "marts")["tables"]


def test_every_table_is_equal_on_both_engines(engines):
    warehouses = engines["warehouses"]
    differences, compared = _differences(warehouses["duckdb"] / "warehouse.duckdb",
                                         warehouses["spark"] / "warehouse.duckdb",
                                         ("staging", "intermediate", "marts"))
    assert differences == {}
    assert len([t for t in compared if t.startswith("marts.")]) >= 10
    assert "citizen_id" in compared["marts.person_vaccination"]


def test_the_published_marts_are_equal_on_both_engines(engines):
    warehouses = engines["warehouses"]
    differences, compared = _differences(warehouses["duckdb"] / "published" / "marts.duckdb",
                                         warehouses["spark"] / "published" / "marts.duckdb", ("marts",))
    assert differences == {}
    assert compared


def test_the_scores_are_equal_within_a_millionth(engines):
    warehouses = engines["warehouses"]
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouses['duckdb'] / 'warehouse.duckdb'}' as a (read_only)")
        con.execute(f"attach '{warehouses['spark'] / 'warehouse.duckdb'}' as b (read_only)")
        table = "intermediate.int_dose_records_scored"
        counts = con.execute(f"select (select count(*) from a.{table}), (select count(*) from b.{table}), "
                             f"(select count(*) from a.{table} join b.{table} using (dose_record_key))").fetchone()
        worst = con.execute(
            "select " + ", ".join(f"max(abs(coalesce(a.{c}, 0) - coalesce(b.{c}, 0)))" for c in SCORES) +
            f" from a.{table} as a join b.{table} as b using (dose_record_key)").fetchone()
    finally:
        con.close()
    assert counts[0] == counts[1] == counts[2] > 0
    assert max(worst) < 1e-6, dict(zip(SCORES, worst, strict=True))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_killed_spark_build_leaves_the_publication_and_the_next_build_runs(engines):
    """The Spark session (the build's process and its JVM) killed while the marts build: the publication is
    untouched, nothing half-built is published, and a new build on the same warehouse succeeds."""
    warehouse, scenario = engines["warehouses"]["spark"], engines["scenario"]
    published = warehouse / "published" / "marts.duckdb"
    before = _sha256(published)
    code = "from vaxclean.build import build_layer; build_layer('marts', 'killed-run')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=_environment("spark", warehouse, scenario),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_at = None
    try:
        deadline = time.monotonic() + 300
        # kill once the build writes Spark tables (its JVM started, models running)
        tables = warehouse / "spark" / "tables" / "intermediate.db"
        started = time.time()
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.stat().st_mtime > started for p in tables.glob("*")):
                killed_at = time.time()
                break
            time.sleep(0.5)
        assert proc.poll() is None and killed_at, "the build ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert _sha256(published) == before
    again = _build("spark", warehouse, scenario, "after-kill")
    assert again["gate_marts"]["passed"]
    assert _sha256(published) != before  # published again, from a whole build
