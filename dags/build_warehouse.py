"""
### build_warehouse

Builds the warehouse whenever its raw inputs change (an asset event from any intake DAG), one build at
a time (DuckDB has one writer): raw gate → dbt staging (+ tests) → staging gate → dbt intermediate and
marts (+ tests) → marts gate → atomic publish of `published/marts.duckdb` (restricted), the BI layer
`published/bi.duckdb` (pseudonymised, for dashboards) and their Parquet → one worklist
XLSX per commune (`published/worklists/<district>/<commune>.xlsx`) and the write-back import files for
the health stations (`published/write_back/`) → `dbt docs generate` (`<warehouse>/dbt/target/`).
The raw gate checks the loads since the last publish: a load whose quarantined share is over the
threshold blocks publishing until it is looked at (trigger with conf `quarantine_checked_since` to accept
it). A failing gate fails its task with a report (also under `<warehouse>/gate_reports/<run_id>/`) and
nothing is published: BI tools keep reading the last good file.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, AssetAny, Param, dag, task

from vaxclean.orchestration import PUBLISHED_ASSET, RAW_ASSETS, default_args


@dag(
    schedule=AssetAny(*(Asset(name) for name in RAW_ASSETS.values())),
    start_date=pendulum.datetime(2021, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # one build at a time: a hung build must not hold back every later one
    dagrun_timeout=pendulum.duration(hours=3),
    doc_md=__doc__,
    tags=["vaxclean", "warehouse", "dbt", "quality"],
    default_args=default_args(retry_minutes=1),
    params={
        "quarantine_checked_since": Param(
            None, type=["null", "string"],
            description="ISO-8601: check quarantine shares of loads since then (default: the last publish); "
                        "set it to now to accept what is in quarantine after reading the reasons"),
    },
)
def build_warehouse():
    @task(retries=0)
    def gate_raw(run_id=None, params=None) -> dict:
        from vaxclean.build import gate

        return gate("raw", run_id, quarantine_checked_since=params.get("quarantine_checked_since"))

    @task
    def build_staging(run_id=None) -> dict:
        from vaxclean.build import build_layer_task

        return build_layer_task("staging", run_id)

    @task(retries=0)
    def gate_staging(run_id=None) -> dict:
        from vaxclean.build import gate

        return gate("staging", run_id)

    @task
    def build_marts(run_id=None) -> dict:
        from vaxclean.build import build_layer_task

        return build_layer_task("marts", run_id)

    @task(retries=0)
    def gate_marts(run_id=None) -> dict:
        from vaxclean.build import gate

        return gate("marts", run_id)

    @task(outlets=[Asset(PUBLISHED_ASSET)])
    def publish(raw: dict, staging: dict, staging_gate: dict, marts: dict, marts_gate: dict, run_id=None) -> dict:
        from vaxclean.build import publish_marts

        info = {"gates": {"raw": raw, "staging": staging_gate, "marts": marts_gate},
                "builds": {"staging": staging, "marts": marts}}
        return publish_marts(run_id, info)

    @task
    def export_commune_files(run_id=None) -> dict:
        from vaxclean.build import export_commune_files

        return export_commune_files(run_id)

    raw = gate_raw()
    staging = build_staging()
    staging_gate = gate_staging()
    marts = build_marts()
    marts_gate = gate_marts()
    raw >> staging >> staging_gate >> marts >> marts_gate
    @task
    def generate_docs(run_id=None) -> dict:
        from vaxclean.build import generate_docs

        return generate_docs(run_id)

    # after publishing, one at a time (each opens the warehouse file)
    publish(raw, staging, staging_gate, marts, marts_gate) >> export_commune_files() >> generate_docs()


build_warehouse()
