"""
### watch_publication

Hourly: alerts the data team when nothing has been published for `VAXCLEAN_PUBLISH_DEADLINE_HOURS`
(default 26: a daily rhythm plus two hours). Builds are triggered by new inputs; when they fail, wait for
an approval, or are never triggered (an intake stopped), dashboards, worklists and write-back files
silently age. The alert goes out on the first check past the deadline and once a day after; the task
fails then too, so the run shows red in the grid.
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
)
def watch_publication():
    @task
    def check_publication_age() -> dict:
        from vaxclean.notifier import check_publication_deadline

        return check_publication_deadline()

    check_publication_age()


watch_publication()
