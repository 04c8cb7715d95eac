"""Operations through Airflow itself (an api-server and `airflow dags test` on one SQLite metadata database):
a build held by a core source's quarantine waits in Required Actions, the data team is alerted by e-mail and
webhook (local receivers), an approval through the REST API lets it publish and is recorded with who; a
population snapshot with a duplicate citizen still fails the build (staging's uniqueness test), and the failure
is alerted with the failing test; no alert and
no approval request holds a personal value of the scenario."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from vaxclean.cli import airflow_env, free_port

WINDOW = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


class Airflow:
    """An api-server on 127.0.0.1 and the environment of `airflow dags test` runs sharing its database."""

    def __init__(self, env: dict[str, str], port: int, home: Path) -> None:
        self.env, self.url, self.home = env, f"http://127.0.0.1:{port}", home
        self.headers: dict[str, str] = {}

    def login(self) -> None:
        password = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        token = requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": password},
                              timeout=10).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def api(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(method, f"{self.url}/api/v2{path}", headers=self.headers, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def dags_test(self, dag_id: str, log: Path) -> subprocess.Popen:
        return subprocess.Popen([AIRFLOW, "dags", "test", dag_id], env=self.env, stdout=log.open("ab"),
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, extract_and_load, monkeypatch_module, alert_receivers_module):
    from vaxclean.scenario import generate

    base = tmp_path_factory.mktemp("operations")
    scenario, warehouse, home = base / "scenario", base / "warehouse", base / "airflow_home"
    generate(scenario, people=300, seed=5)
    monkeypatch_module.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    monkeypatch_module.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    extract_and_load(scenario, warehouse / "raw", *WINDOW)
    port = free_port()
    env = airflow_env(airflow_home=home, scenario=scenario, warehouse=warehouse, api_url=None, token=None)
    env.update(alert_receivers_module.connections())
    env.update({"AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin"})
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([AIRFLOW, "api-server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=(base / "api-server.log").open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    af = Airflow(env, port, home)
    try:
        _wait(lambda: _healthy(af.url), 120, "the api-server")
        af.login()
        yield af, scenario, warehouse, base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok
    except requests.RequestException:
        return False


def _personal_values(scenario: Path) -> set[str]:
    """Names, ID numbers and phones of the scenario's population register."""
    values: set[str] = set()
    for part in (scenario / "population").rglob("*.parquet"):
        try:
            table = pq.read_table(part, columns=["full_name", "citizen_id", "old_id_number", "phone"])
        except pa.ArrowInvalid:  # the broken snapshot this module lands
            continue
        for column in table.columns:
            values |= {v for v in column.to_pylist() if v and len(v) >= 6}
    return values


def test_a_held_build_waits_for_approval_alerts_and_records_who_approved(airflow, alert_receivers_module):
    from vaxclean.orchestration import load_landing_source

    af, scenario, warehouse, base = airflow
    # an unreadable snapshot of the population register (a core source): the build must hold, not publish
    broken = scenario / "population" / "2022-12-31"
    broken.mkdir()
    (broken / "part-0.parquet").write_bytes(b"not a parquet file")
    assert load_landing_source("population")["files_quarantined"] == 1
    log = base / "held-run.log"
    run = af.dags_test("build_warehouse", log)
    try:
        details = _wait(lambda: af.api("GET", "/dags/build_warehouse/dagRuns/~/hitlDetails")["hitl_details"]
                        or run.poll() is not None and pytest.fail(log.read_text()[-3000:]), 240, "the approval request")
        (detail,) = details
        assert detail["task_instance"]["task_id"] == "approve_quarantine" and detail["options"] == ["Approve", "Reject"]
        assert "**population**: core source: 1 load(s) wholly quarantined" in detail["body"]
        assert not (warehouse / "published" / "marts.duckdb").exists()  # nothing published while held
        # the data team was told: e-mail and webhook, with a link to the run's Required Actions
        _wait(lambda: len(alert_receivers_module.posts) >= 1 and len(alert_receivers_module.mails) >= 1, 30,
              "the approval alert")
        post = next(p for p in alert_receivers_module.posts if p["kind"] == "approval")
        assert post["links"]["approve or reject"].startswith(f"{af.url}/dags/build_warehouse/runs/")
        ti = detail["task_instance"]
        af.api("PATCH", f"/dags/build_warehouse/dagRuns/{ti['dag_run_id']}/taskInstances/approve_quarantine/-1/"
               "hitlDetails", json={"chosen_options": ["Approve"]})
        assert run.wait(timeout=400) == 0, log.read_text()[-3000:]
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    accepts = json.loads((warehouse / "gate_reports" / "quarantine_accepted.json").read_text())["accepts"]
    (accept,) = accepts
    assert accept["accepted_by"] == "admin (admin)" and accept["run_id"] == ti["dag_run_id"]
    assert [load["source"] for load in accept["loads"]] == ["population"]
    assert (warehouse / "published" / "marts.duckdb").exists()
    raw_accepted = json.loads(next((warehouse / "gate_reports").glob("*/raw_accepted.json")).read_text())
    assert raw_accepted["passed"] and raw_accepted["quarantine"]["accepted"][0]["source"] == "population"
    texts = "\n".join(alert_receivers_module.texts() + [detail["body"]])
    assert not [v for v in _personal_values(scenario) if v in texts]


def test_a_snapshot_with_a_duplicate_citizen_fails_the_build_and_is_alerted(airflow, alert_receivers_module):
    from vaxclean.orchestration import load_landing_source

    af, scenario, warehouse, base = airflow
    published = (warehouse / "published" / "marts.duckdb").resolve()
    latest = scenario / "population" / "2022-09-30" / "part-0.parquet"
    table = pq.read_table(latest)
    duplicated = scenario / "population" / "2022-10-31"
    duplicated.mkdir()
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), duplicated / "part-0.parquet")
    assert load_landing_source("population")["files_loaded"] == 1
    before = len(alert_receivers_module.posts)
    log = base / "duplicate-run.log"
    run = af.dags_test("build_warehouse", log)
    try:
        run.wait(timeout=300)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode != 0 and (warehouse / "published" / "marts.duckdb").resolve() == published
    alert = _wait(lambda: next((p for p in alert_receivers_module.posts[before:] if p["kind"] == "failure"), None),
                  30, "the failure alert")
    # the staging layer's uniqueness test (a snapshot lists each citizen once) stops the build
    assert alert["title"] == "build_warehouse.build_staging failed"
    assert "unique_combination_of_columns_stg_population__citizen_snapshots" in alert["text"]
    assert alert["links"]["task"].endswith("/tasks/build_staging")
    texts = "\n".join(alert_receivers_module.texts())
    assert not [v for v in _personal_values(scenario) if v in texts]
    shutil.rmtree(duplicated)


def test_reports_freshness_and_dbt_docs_are_served_inside_airflow(airflow):
    """The vaxclean plugin: the run's gate reports (a tab on every DAG run), the source freshness that
    watch_pipeline checks, and the dbt docs, behind Airflow's authentication."""
    af, scenario, warehouse, base = airflow
    plugins = af.api("GET", "/plugins")["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "vaxclean_ui"]
    assert {v["destination"] for v in plugin["external_views"]} == {"dag_run", "nav"}
    run = next(r for r in af.api("GET", "/dags/build_warehouse/dagRuns")["dag_runs"] if r["state"] == "success")
    assert requests.get(f"{af.url}/vaxclean/reports/{run['dag_run_id']}", timeout=10).status_code in (401, 403)
    page = requests.get(f"{af.url}/vaxclean/reports/{run['dag_run_id']}", headers=af.headers, timeout=10)
    assert page.status_code == 200 and "held for an approval" in page.text and "raw_accepted: " in page.text
    assert "Gate &#x27;marts&#x27;" in page.text or "Gate 'marts'" in page.text
    raw = requests.get(f"{af.url}/vaxclean/reports/{run['dag_run_id']}/raw_accepted?format=json",
                       headers=af.headers, timeout=10).json()
    assert raw["passed"] is True
    assert requests.get(f"{af.url}/vaxclean/reports/{run['dag_run_id']}/..%2f..%2fetc", headers=af.headers,
                        timeout=10).status_code == 404
    docs = requests.get(f"{af.url}/vaxclean/docs", headers=af.headers, timeout=30)
    assert docs.status_code == 200 and "dose_reconciliation" in docs.text  # the static docs embed the manifest

    log = base / "watch-run.log"
    watch = af.dags_test("watch_pipeline", log)
    assert watch.wait(timeout=300) == 0, log.read_text()[-3000:]
    freshness = requests.get(f"{af.url}/vaxclean/freshness", headers=af.headers, timeout=10)
    assert freshness.status_code == 200 and "platform.immunizations" in freshness.text
    report = json.loads((warehouse / "gate_reports" / "source_freshness.json").read_text())
    assert report["worst"] == "pass" and {s["source"] for s in report["sources"]} >= {
        "platform.immunizations", "feedback.tickets", "population.citizens", "site_batches.batch_rows"}
