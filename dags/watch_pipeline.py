"""
### watch_pipeline

Hourly watch of what the data team cannot see from one run:

- **check_publication_age**: nothing published for `VAXCLEAN_PUBLISH_DEADLINE_HOURS` (26 h: a daily rhythm
  plus two hours). Builds run when inputs change; when they fail, wait for an approval, or are never
  triggered (an intake stopped), dashboards, worklists and write-back files silently age. Alerted on the
  first check past the deadline and once a day after; the task fails while it lasts.
- **check_source_freshness**: `dbt source freshness` on the raw sources (the thresholds each source declares
  in dbt_project/models/staging/*/_*__sources.yml). A source that turns stale is alerted; one past its
  `error_after` fails the task. Report: the *Source freshness* view (vaxclean plugin).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from vaxclean.notifier import task_defaults


@dag(
    schedule="30 * * * *",
    start_date=pendulum.datetime(2021, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["vaxclean", "operations", "alerts"],
    default_args=task_defaults(retry_minutes=5),
    dag_display_name="Watch: publication age and source freshness",
)
def watch_pipeline():
    @task(task_display_name="Publication age")
    def check_publication_age() -> dict:
        from vaxclean.notifier import check_publication_deadline

        return check_publication_deadline()

    @task(task_display_name="Source freshness")
    def check_source_freshness() -> dict:
        from vaxclean.notifier import check_sources

        return check_sources()

    check_publication_age()
    check_source_freshness()


watch_pipeline()
