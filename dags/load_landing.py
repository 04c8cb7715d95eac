"""
### load_landing

Watches the landing directory (`VAXCLEAN_LANDING_DIR`) every 15 minutes and loads what is new into the
raw layer: offline site batches, hotline call logs, population snapshots and police returns.
Files are registered by path and SHA-256: a file seen before is not loaded again, a changed file is
a new version, an unreadable file or row goes to quarantine with its reason and is alerted. A source with nothing
new is skipped, so the warehouse build is triggered only by real changes.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from vaxclean.notifier import task_defaults
from vaxclean.orchestration import RAW_ASSETS


def _load(source: str, asset: str) -> dict:
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowSkipException

    from vaxclean.notifier import alert_quarantine
    from vaxclean.orchestration import asset_extra, load_landing_source

    context = get_current_context()
    result = load_landing_source(source)
    alert_quarantine(source, result, context)  # a quarantined file or row: an incident
    if not result.get("files_loaded"):
        raise AirflowSkipException(f"{source}: nothing new in the landing directory")
    context["outlet_events"][Asset(asset)].extra = asset_extra(result)  # the load's counts on the asset event
    return result


@dag(
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2021, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    dag_display_name="Load: landing files",
    tags=["vaxclean", "extract", "files"],
    default_args=task_defaults(retry_minutes=1),
)
def load_landing():
    @task(outlets=[Asset(RAW_ASSETS["site_batch_rows"])])
    def load_site_batches() -> dict:
        return _load("site_batches", RAW_ASSETS["site_batch_rows"])

    @task(outlets=[Asset(RAW_ASSETS["hotline_calls"])])
    def load_hotline() -> dict:
        return _load("hotline", RAW_ASSETS["hotline_calls"])

    @task(outlets=[Asset(RAW_ASSETS["population"])])
    def load_population() -> dict:
        return _load("population", RAW_ASSETS["population"])

    @task(outlets=[Asset(RAW_ASSETS["police_returns"])])
    def load_police_returns() -> dict:
        return _load("police_returns", RAW_ASSETS["police_returns"])

    load_site_batches()
    load_hotline()
    load_population()
    load_police_returns()


load_landing()
