from __future__ import annotations

import subprocess
import sys

import pytest

from vaxclean.config import PROJECT_ROOT

PIPELINE_PEOPLE, PIPELINE_SEED = 1500, 11


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """(scenario, warehouse, stdout) of `python -m vaxclean.cli run` (what `make run` does) on a small generated
    scenario: through Airflow, the simulator's APIs, the landing loaders, dbt, the gates and the publisher.
    Shared by the tests that read a whole run (the published marts, the BI layer, the logs, Superset)."""
    base = tmp_path_factory.mktemp("e2e")
    scenario, warehouse = base / "scenario", base / "warehouse"
    subprocess.run([sys.executable, "-m", "vaxclean.scenario", "generate", "--out", str(scenario),
                    "--people", str(PIPELINE_PEOPLE), "--seed", str(PIPELINE_SEED)], check=True, cwd=PROJECT_ROOT)
    proc = subprocess.run([sys.executable, "-m", "vaxclean.cli", "run", "--scenario", str(scenario),
                           "--warehouse", str(warehouse)], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return scenario, warehouse, proc.stdout


@pytest.fixture(scope="module")
def monkeypatch_module():
    """monkeypatch for module-scoped fixtures (environment of a whole built scenario)."""
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _state_tables(con, db: str) -> list[str]:
    """The tables and views of the intermediate and marts schemas, without what one build scored and
    re-derived (a scope, the rows its tests read: macros/dose_chain.sql)."""
    return [r[0] for r in con.execute(
        "select table_schema || '.' || table_name from information_schema.tables where table_catalog = ? "
        "and table_schema in ('intermediate', 'marts') and table_name not like 'int_dose_scopes_%' "
        "and table_name <> 'int_dose_records_scored' "
        "and not suffix(table_name, '__rederived') order by 1",
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


def _extract_and_load(scenario, raw, since, until, endpoints=("immunizations", "tickets"), load_files=True) -> None:
    """The scenario's APIs (the simulator) extracted over [since, until) into the raw lake, then, with
    `load_files`, its landed files (site batches, hotline, population, police returns) loaded."""
    from vaxclean.extract.api import extract_interval
    from vaxclean.load import load_hotline, load_police_returns, load_population, load_site_batches
    from vaxclean.simulator.server import serve_in_thread

    with serve_in_thread(scenario, token="t") as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for endpoint in endpoints:
            extract_interval(base_url=url, token="t", endpoint=endpoint, since=since, until=until, raw_dir=raw)
    if load_files:
        for loader in (load_site_batches, load_hotline, load_population, load_police_returns):
            loader(scenario, raw)


@pytest.fixture(scope="session")
def extract_and_load():
    """Extract a scenario's APIs and land its files into a raw lake, as the pipeline's DAGs do."""
    return _extract_and_load
