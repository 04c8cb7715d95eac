"""DAG integrity: every DAG file imports, is wired as the data team expects, and stays thin."""

from __future__ import annotations

import ast

import pytest

from vaxclean.config import DAGS_DIR
from vaxclean.orchestration import RAW_ASSETS

DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES) >= 4


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_id_is_file_stem_with_tags_retries_and_docs(dagbag, path):
    dag = dagbag.dags[path.stem]
    assert dag.tags and "vaxclean" in dag.tags
    assert dag.dag_display_name != dag.dag_id, "a display name the data team reads"
    assert all(t.owner == "vaxclean-data-team" for t in dag.tasks)
    assert dag.doc_md and len(dag.doc_md) > 80
    assert dag.catchup is False
    for t in dag.tasks:
        assert t.retries is not None
    assert any(t.retries >= 1 for t in dag.tasks)
    dag.topological_sort()  # raises on a cycle


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_no_heavy_imports_at_module_level(path):
    """Only airflow.sdk, the standard provider's operators, pendulum, vaxclean.orchestration and
    vaxclean.notifier (no I/O) at DAG parse time."""
    tree = ast.parse(path.read_text())
    allowed = {"__future__", "pendulum", "airflow.sdk", "vaxclean.orchestration", "vaxclean.notifier",
               "airflow.providers.standard.operators.empty", "airflow.providers.standard.operators.hitl"}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.module in allowed, f"{path.name} imports {node.module} at module level"
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= allowed, f"{path.name} imports at module level"


def test_schedules_match_the_data_teams_needs(dagbag):
    for dag_id in ("extract_platform", "extract_feedback"):
        timetable = dagbag.dags[dag_id].timetable
        # hourly polls with real data intervals: [start, end) is the API window
        assert type(timetable).__name__ == "CronDataIntervalTimetable", dag_id
        assert timetable.expression == "0 * * * *"
    assert dagbag.dags["load_landing"].timetable.expression == "*/15 * * * *"
    build = dagbag.dags["build_warehouse"]
    assert build.max_active_runs == 1, "DuckDB has one writer: one build at a time"
    assert {a.name for a in build.timetable.asset_condition.objects} == set(RAW_ASSETS.values())


def test_every_raw_asset_has_a_producer(dagbag):
    produced = set()
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            produced |= {o.name for o in getattr(t, "outlets", []) or []}
    assert set(RAW_ASSETS.values()) <= produced


def test_build_publishes_only_after_every_gate(dagbag):
    build = dagbag.dags["build_warehouse"]
    publish = build.get_task("publish")
    upstream = publish.get_flat_relative_ids(upstream=True)
    assert {"gate_raw", "gate_staging", "gate_marts", "build_staging", "build_marts"} <= upstream


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_every_task_has_a_timeout(dagbag, path):
    """A hung task fails instead of holding its DAG's only active run (build_warehouse: max_active_runs=1)."""
    for t in dagbag.dags[path.stem].tasks:
        assert t.execution_timeout is not None and t.execution_timeout.total_seconds() > 0, t.task_id


def test_the_build_has_a_run_timeout_and_gates_do_not_retry(dagbag):
    dag = dagbag.dags["build_warehouse"]
    assert dag.dagrun_timeout is not None and dag.max_active_runs == 1
    for task_id in ("gate_raw", "gate_staging", "gate_marts"):  # a failed gate fails the same way again
        assert dag.get_task(task_id).retries == 0


def test_a_deterministic_dbt_failure_is_not_retried():
    """build_layer_task turns a failing dbt test or model error into AirflowFailException (no retries); a
    lock on the warehouse file stays retryable."""
    from airflow.sdk.exceptions import AirflowFailException

    from vaxclean import build
    from vaxclean.transform.dbt import DbtFailure

    failing_test = DbtFailure("build", [{"unique_id": "test.vaxclean.primary_key_x", "status": "fail",
                                         "message": "Got 2 results, configured to fail if != 0"}])
    locked = DbtFailure("build", [{"unique_id": "model.vaxclean.x", "status": "error",
                                   "message": 'IO Error: Could not set lock on file "warehouse.duckdb"'}])
    assert failing_test.is_deterministic and not locked.is_deterministic
    clock_error = DbtFailure("build", [{"unique_id": "model.vaxclean.int_run_clocks_resolved", "status": "error",
                                        "message": "Runtime Error in model int_run_clocks_resolved (models/intermediate/"
                                                   "clock/int_run_clocks_resolved.sql)"}])
    assert clock_error.is_deterministic  # "clock" is no lock
    for failure, expected in ((failing_test, AirflowFailException), (locked, DbtFailure)):
        def fails(layer, run_id, failure=failure):
            raise failure

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(build, "build_layer", fails)
            with pytest.raises(expected):
                build.build_layer_task("marts", "r")


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_every_task_alerts_on_failure_and_has_a_timeout(dagbag, path):
    from vaxclean.notifier import VaxcleanNotifier

    dag = dagbag.dags[path.stem]
    for t in dag.tasks:
        if t.task_id == "approve_quarantine":  # waits for a person: bounded by its response timeout
            assert t.response_timeout is not None
            assert any(isinstance(n, VaxcleanNotifier) and n.kind == "approval" for n in t.notifiers)
            continue
        assert t.execution_timeout is not None, t.task_id
        callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
        assert any(isinstance(c, VaxcleanNotifier) for c in callbacks), t.task_id


def test_a_blocked_raw_gate_waits_for_an_approval_before_building(dagbag):
    """gate_raw → quarantine_decision → (approve_quarantine → accept_quarantine | raw_passed) → build_staging:
    staging runs after either path, and after no rejection (a rejected approval skips accept_quarantine)."""
    build = dagbag.dags["build_warehouse"]
    assert build.get_task("quarantine_decision").downstream_task_ids == {"approve_quarantine", "raw_passed"}
    assert build.get_task("approve_quarantine").downstream_task_ids == {"accept_quarantine"}
    staging = build.get_task("build_staging")
    assert staging.upstream_task_ids == {"accept_quarantine", "raw_passed"}
    assert staging.trigger_rule == "none_failed_min_one_success"
    assert build.get_task("gate_raw").retries == 0 and build.get_task("accept_quarantine").retries == 0
