#!/usr/bin/env bash
# One-shot set-up that the other Airflow services wait for (docker-compose.yml: airflow-init).
# Runs as root so that it can hand the shared volumes to the Airflow user, then:
#   1. migrates the metadata database (idempotent);
#   2. writes the UI admin's password into the SimpleAuthManager passwords file.
# No pool: one DAG writes the warehouse (build_warehouse, max_active_runs=1), so DuckDB has one writer.
# The API connections need no set-up here: they come from AIRFLOW_CONN_* environment variables.
set -euo pipefail

airflow_uid="${AIRFLOW_UID:-50000}"
passwords_file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?must be set}"

echo "airflow-init: preparing shared directories for uid ${airflow_uid}"
mkdir -p /opt/airflow/logs "$(dirname "${passwords_file}")" \
    "${VAXCLEAN_WAREHOUSE_DIR:?must be set}/published" "${VAXCLEAN_LANDING_DIR:?must be set}"
# The warehouse, logs and auth directories belong to Airflow; the landing directory belongs to
# whoever drops files into it and is left as it is (it only has to be readable by the Airflow user).
chown -R "${airflow_uid}:0" /opt/airflow/logs "$(dirname "${passwords_file}")" "${VAXCLEAN_WAREHOUSE_DIR}"
chmod -R g+rwX "${VAXCLEAN_WAREHOUSE_DIR}"

echo "airflow-init: airflow $(airflow version)"
airflow db migrate

: "${AIRFLOW_UI_ADMIN_PASSWORD:?must be set}"
echo "airflow-init: setting the password of UI user ${AIRFLOW_UI_ADMIN_USER:?must be set}"
python - <<'PY'
import json
import os
from pathlib import Path

path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
text = path.read_text(encoding="utf-8") if path.exists() else ""
passwords = json.loads(text) if text.strip() else {}
passwords[os.environ["AIRFLOW_UI_ADMIN_USER"]] = os.environ["AIRFLOW_UI_ADMIN_PASSWORD"]
path.write_text(json.dumps(passwords) + "\n", encoding="utf-8")
PY
chown "${airflow_uid}:0" "${passwords_file}"
chmod 0640 "${passwords_file}"

echo "airflow-init: done"
