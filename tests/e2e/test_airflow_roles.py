"""The deployment's auth manager (FAB, as docker-compose.yml configures it) on a real api-server: the users
airflow-init creates from the environment (vaxclean.airflow_users) get their roles: the operator runs DAGs,
the viewer reads runs and gate reports but triggers nothing and sees no connection; a placeholder password
is refused before anything is created."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from vaxclean.cli import free_port
from vaxclean.config import DAGS_DIR, PROJECT_ROOT

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
USERS = {"AIRFLOW_UI_ADMIN_USER": "chief", "AIRFLOW_UI_ADMIN_PASSWORD": "admin-password-0123",
         "AIRFLOW_UI_OPERATOR_USER": "ops", "AIRFLOW_UI_OPERATOR_PASSWORD": "operator-password-0123",
         "AIRFLOW_UI_VIEWER_USER": "reader", "AIRFLOW_UI_VIEWER_PASSWORD": "viewer-password-0123"}


@pytest.fixture(scope="module")
def fab_airflow(tmp_path_factory):
    home = tmp_path_factory.mktemp("fab")
    port = free_port()
    env = {**os.environ, "AIRFLOW_HOME": str(home),
           "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR), "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__API_AUTH__JWT_SECRET": "roles-test-jwt-secret-0123456789",
           "VAXCLEAN_WAREHOUSE_DIR": str(home / "warehouse")}
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([AIRFLOW, "dags", "reserialize"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([AIRFLOW, "api-server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=(home / "api-server.log").open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(1)
        yield env, url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _users(env: dict[str, str], **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vaxclean.airflow_users"], env={**env, **USERS, **overrides},
                          capture_output=True, text=True)


def _token(url: str, user: str, password: str) -> dict[str, str]:
    response = requests.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=10)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_placeholder_password_is_refused_before_any_user_exists(fab_airflow):
    env, url = fab_airflow
    refused = _users(env, AIRFLOW_UI_VIEWER_PASSWORD="change-me-viewer-password")
    assert refused.returncode == 2 and "AIRFLOW_UI_VIEWER_PASSWORD is empty, a placeholder" in refused.stderr
    assert "change-me" not in refused.stderr
    assert requests.post(f"{url}/auth/token", json={"username": "chief", "password": USERS[
        "AIRFLOW_UI_ADMIN_PASSWORD"]}, timeout=10).status_code in (400, 401, 403)


def test_each_role_can_do_what_its_job_needs_and_no_more(fab_airflow):
    env, url = fab_airflow
    created = _users(env)
    assert created.returncode == 0, created.stderr
    assert "ops: created (Op)" in created.stdout and "reader: created (Viewer)" in created.stdout
    for secret in (USERS["AIRFLOW_UI_ADMIN_PASSWORD"], USERS["AIRFLOW_UI_VIEWER_PASSWORD"]):
        assert secret not in created.stdout + created.stderr
    operator = _token(url, "ops", USERS["AIRFLOW_UI_OPERATOR_PASSWORD"])
    viewer = _token(url, "reader", USERS["AIRFLOW_UI_VIEWER_PASSWORD"])
    trigger = {"logical_date": None}
    assert requests.post(f"{url}/api/v2/dags/watch_pipeline/dagRuns", json=trigger, headers=operator,
                         timeout=10).status_code == 200
    assert requests.post(f"{url}/api/v2/dags/watch_pipeline/dagRuns", json=trigger, headers=viewer,
                         timeout=10).status_code == 403
    assert requests.get(f"{url}/api/v2/dags/watch_pipeline/dagRuns", headers=viewer, timeout=10).status_code == 200
    assert requests.get(f"{url}/api/v2/connections", headers=viewer, timeout=10).status_code == 403
    assert requests.get(f"{url}/vaxclean/reports", headers=viewer, timeout=10).status_code == 200  # gate reports
    # run again (every start of the deployment): the users are updated, a changed password takes effect
    again = _users(env, AIRFLOW_UI_VIEWER_PASSWORD="a-new-viewer-password-42")
    assert again.returncode == 0 and "reader: updated (Viewer)" in again.stdout
    assert requests.post(f"{url}/auth/token", json={"username": "reader", "password": USERS[
        "AIRFLOW_UI_VIEWER_PASSWORD"]}, timeout=10).status_code in (400, 401, 403)
    _token(url, "reader", "a-new-viewer-password-42")
