"""The vaxclean Airflow plugin: the gate reports of each DAG run (a tab on the run), the source-freshness
report and the dbt docs (Browse menu), served by the api-server (vaxclean.airflow_ui)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from vaxclean.airflow_ui import create_app


class VaxcleanUiPlugin(AirflowPlugin):
    name = "vaxclean_ui"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/vaxclean", "name": "vaxclean reports"}]
    # hrefs are relative to the UI's base URL; {RUN_ID} is filled in by the UI on a DAG run's page
    external_views = [
        {"name": "Gate reports", "href": "vaxclean/reports/{RUN_ID}", "destination": "dag_run",
         "url_route": "vaxclean_run_reports"},
        {"name": "Gate reports (all runs)", "href": "vaxclean/reports", "destination": "nav", "category": "browse",
         "url_route": "vaxclean_reports"},
        {"name": "Source freshness", "href": "vaxclean/freshness", "destination": "nav", "category": "browse",
         "url_route": "vaxclean_freshness"},
        {"name": "dbt docs", "href": "vaxclean/docs", "destination": "nav", "category": "browse",
         "url_route": "vaxclean_dbt_docs"},
    ]
