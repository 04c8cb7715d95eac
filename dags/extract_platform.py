"""
### extract_platform

Polls the vaccination platform API hourly for records updated in the run's data interval
(`updated_since` = interval start, or the end of the last extracted window after downtime;
`updated_until` = interval end) and writes them, as received, to the
raw layer (`raw/platform_immunizations/`, one file per interval, so a re-run replaces it).
Trigger with conf `{"updated_since": "...", "updated_until": "..."}` to backfill or replay a window.
Connection: `vaccination_platform` (host/port/schema, token in the password).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task

from vaxclean.notifier import task_defaults
from vaxclean.orchestration import RAW_ASSETS


@dag(
    # A data-interval timetable: each run asks for exactly [interval start, interval end).
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2021, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    dag_display_name="Extract: vaccination platform API",
    tags=["vaxclean", "extract", "api"],
    default_args=task_defaults(retry_minutes=2),
    params={
        "updated_since": Param(None, type=["null", "string"], description="ISO-8601 UTC; default: interval start"),
        "updated_until": Param(None, type=["null", "string"], description="ISO-8601 UTC; default: interval end"),
    },
)
def extract_platform():
    @task(outlets=[Asset(RAW_ASSETS["platform_immunizations"])])
    def extract_immunizations(data_interval_start=None, data_interval_end=None, params=None, ti=None,
                outlet_events=None) -> dict:
        from airflow.sdk import BaseHook

        from vaxclean.config import settings
        from vaxclean.notifier import alert_quarantine
        from vaxclean.orchestration import asset_extra, extract_api_window

        conn = BaseHook.get_connection(settings().platform_conn_id)
        result = extract_api_window(endpoint="immunizations", conn=conn, interval_start=data_interval_start,
                                    interval_end=data_interval_end, params=params)
        alert_quarantine("platform", result, {"ti": ti})  # rows the API sent that could not be read
        outlet_events[Asset(RAW_ASSETS["platform_immunizations"])].extra = asset_extra(result)  # the window's counts
        return result

    extract_immunizations()


extract_platform()
