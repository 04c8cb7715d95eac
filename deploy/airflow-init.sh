#!/usr/bin/env bash
# One-shot set-up that the other Airflow services wait for (docker-compose.yml: airflow-init).
# Runs as root so that it can hand the shared volumes to the Airflow user; refuses placeholder secrets
# (vaxclean.secrets_check), then:
#   1. checks the machine's resources (warns below what a province's build needs);
#   2. waits for the metadata database, then migrates it (idempotent);
#   3. creates or updates the UI's users, one per role (FAB auth manager: vaxclean.airflow_users).
# DAGs are created unpaused (AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False in docker-compose.yml); a DAG
# the data team paused stays paused across restarts.
# No pool: one DAG writes the warehouse (build_warehouse, max_active_runs=1), so DuckDB has one writer.
# The API and alert connections need no set-up here: they come from AIRFLOW_CONN_* environment variables.
set -euo pipefail

# nothing starts with a placeholder, empty or weak secret (one line names each; never a value)
python -m vaxclean.secrets_check airflow

airflow_uid="${AIRFLOW_UID:-50000}"

echo "airflow-init: preparing shared directories for uid ${airflow_uid}"
mkdir -p /opt/airflow/logs "${VAXCLEAN_WAREHOUSE_DIR:?must be set}/published" "${VAXCLEAN_LANDING_DIR:?must be set}"
# The warehouse and logs belong to Airflow; the landing directory belongs to whoever drops files into
# it and is left as it is (it only has to be readable by the Airflow user).
chown -R "${airflow_uid}:0" /opt/airflow/logs "${VAXCLEAN_WAREHOUSE_DIR}"
chmod -R g+rwX "${VAXCLEAN_WAREHOUSE_DIR}"

# A province's build (docs/scaling.md): 2 cores, a DuckDB memory limit of VAXCLEAN_DUCKDB_MEMORY_LIMIT
# (6 GB) plus Airflow, and the raw lake, warehouse and published versions on disk.
mem_gb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 1024 ))
cpus=$(nproc)
disk_gb=$(( $(df -Pk "${VAXCLEAN_WAREHOUSE_DIR}" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
echo "airflow-init: ${cpus} CPU(s), ${mem_gb} GB memory, ${disk_gb} GB free for the warehouse"
[ "${mem_gb}" -ge 8 ] || echo "airflow-init: WARNING: ${mem_gb} GB memory; a province's build needs 8 GB or more"
[ "${cpus}" -ge 2 ] || echo "airflow-init: WARNING: ${cpus} CPU; a province's build needs 2 or more"
[ "${disk_gb}" -ge 20 ] || echo "airflow-init: WARNING: ${disk_gb} GB free for the warehouse; keep 20 GB or more"

echo "airflow-init: airflow $(airflow version); waiting for the metadata database"
airflow db check --retry 30 --retry-delay 2
airflow db migrate

# the users of each role from AIRFLOW_UI_{ADMIN,OPERATOR,VIEWER}_{USER,PASSWORD} (passwords never on a command line)
python -m vaxclean.airflow_users

echo "airflow-init: done"
