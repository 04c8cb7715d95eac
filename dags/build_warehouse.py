"""
### build_warehouse

Builds the warehouse whenever its raw inputs change (an asset event from any intake DAG), one build at
a time (DuckDB has one writer): raw retention (off unless `VAXCLEAN_RAW_RETENTION_DAYS`) → raw gate → dbt staging (+ tests) → staging gate → dbt intermediate and
marts (+ tests) → marts gate → atomic publish of `published/marts.duckdb` (restricted), the BI layer
`published/bi.duckdb` (pseudonymised, for dashboards) and their Parquet → one worklist
XLSX per commune (`published/worklists/<district>/<commune>.xlsx`) and the write-back import files for
the health stations (`published/write_back/`) → `dbt docs generate` (`<warehouse>/dbt/target/`).

The raw gate is proportionate: a quarantined file is an incident of its source (alerted when loaded),
and the build publishes what passed. Only a systemic failure holds publishing: a core source (platform,
population) with a wholly quarantined load or over the limit, or any source over the limit on enough
rows. Then **approve_quarantine** waits in the *Required Actions* view (the data team is alerted):
*Approve* records the accept (who, when, which loads) and the build goes on without those rows; *Reject*
publishes nothing. A failing gate fails its task with a report (Gate reports view, and under
`<warehouse>/gate_reports/<run_id>/`) and nothing is published: BI tools keep reading the last good file.
Every task failure and every gate warning is alerted (vaxclean.alerts).
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Asset, AssetAny, dag, task

from vaxclean.notifier import VaxcleanNotifier, approval_timeout, run_failure_callbacks, task_defaults
from vaxclean.orchestration import PUBLISHED_ASSET, RAW_ASSETS


@dag(
    schedule=AssetAny(*(Asset(name) for name in RAW_ASSETS.values())),
    start_date=pendulum.datetime(2021, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # one build at a time: a hung build must not hold back every later one
    dagrun_timeout=pendulum.duration(hours=3),
    doc_md=__doc__,
    dag_display_name="Build warehouse: gates, dbt, publish",
    tags=["vaxclean", "warehouse", "dbt", "quality"],
    default_args=task_defaults(retry_minutes=1),
    on_failure_callback=run_failure_callbacks(),
)
def build_warehouse():
    @task
    def apply_retention(run_id=None) -> dict:
        from vaxclean.build import apply_retention

        return apply_retention(run_id)

    @task(retries=0)
    def gate_raw(run_id=None, ti=None) -> dict:
        from vaxclean.build import gate
        from vaxclean.notifier import alert_gate

        summary = gate("raw", run_id, hold_for_acceptance=True)
        alert_gate(summary, {"ti": ti})
        return summary

    @task.branch(retries=0)
    def quarantine_decision(raw: dict, ti=None) -> str:
        from vaxclean.alerts import approval_text

        if raw["needs_acceptance"]:
            ti.xcom_push(key="approval_text", value=approval_text(raw))
            return "approve_quarantine"
        return "raw_passed"

    approve_quarantine = ApprovalOperator(
        task_id="approve_quarantine",
        task_display_name="Approve quarantined loads",
        subject="Publishing is held: quarantined rows over a source's limit",
        body="{{ ti.xcom_pull(task_ids='quarantine_decision', key='approval_text') }}",
        notifiers=[VaxcleanNotifier("approval")],
        # within the run's timeout: an unanswered request fails the run (alerted); the next build asks again
        response_timeout=approval_timeout(),
    )

    @task(retries=0)
    def accept_quarantine(raw: dict, decision: dict, run_id=None) -> dict:
        from vaxclean.build import accept_quarantine
        from vaxclean.orchestration import parse_utc

        user = decision.get("responded_by_user") or {}
        who = f"{user.get('name') or '?'} ({user.get('id') or '?'})"
        # the response time as XCom gives it back (a datetime, or its ISO text)
        return accept_quarantine(run_id, raw, accepted_by=who, accepted_at=parse_utc(decision.get("responded_at")))

    @task(trigger_rule="none_failed_min_one_success")
    def build_staging(run_id=None) -> dict:
        from vaxclean.build import build_layer_task

        return build_layer_task("staging", run_id)

    @task(retries=0)
    def gate_staging(run_id=None, ti=None) -> dict:
        from vaxclean.build import gate
        from vaxclean.notifier import alert_gate

        summary = gate("staging", run_id)
        alert_gate(summary, {"ti": ti})
        return summary

    @task
    def build_marts(run_id=None) -> dict:
        from vaxclean.build import build_layer_task

        return build_layer_task("marts", run_id)

    @task(retries=0)
    def gate_marts(run_id=None, ti=None) -> dict:
        from vaxclean.build import gate
        from vaxclean.notifier import alert_gate

        summary = gate("marts", run_id)
        alert_gate(summary, {"ti": ti})
        return summary

    @task(outlets=[Asset(PUBLISHED_ASSET)])
    def publish(raw: dict, staging: dict, staging_gate: dict, marts: dict, marts_gate: dict, run_id=None,
                ti=None, outlet_events=None) -> dict:
        from vaxclean.build import publish_marts
        from vaxclean.notifier import alert_publication
        from vaxclean.orchestration import asset_extra

        accepted = ti.xcom_pull(task_ids="accept_quarantine")  # None unless the data team accepted loads
        info = {"gates": {"raw": accepted or raw, "staging": staging_gate, "marts": marts_gate},
                "builds": {"staging": staging, "marts": marts}}
        result = publish_marts(run_id, info)
        alert_publication(result, {"ti": ti})
        outlet_events[Asset(PUBLISHED_ASSET)].extra = asset_extra(result)  # the version and rows per mart
        return result

    @task
    def export_commune_files(run_id=None) -> dict:
        from vaxclean.build import export_commune_files

        return export_commune_files(run_id)

    @task
    def generate_docs(run_id=None) -> dict:
        from vaxclean.build import generate_docs

        return generate_docs(run_id)

    raw = gate_raw()
    apply_retention() >> raw  # before anything reads the raw lake
    decision = quarantine_decision(raw)
    raw_passed = EmptyOperator(task_id="raw_passed")
    accepted = accept_quarantine(raw, approve_quarantine.output)
    decision >> [approve_quarantine, raw_passed]
    staging = build_staging()
    [accepted, raw_passed] >> staging
    staging_gate = gate_staging()
    marts = build_marts()
    marts_gate = gate_marts()
    staging >> staging_gate >> marts >> marts_gate
    # after publishing, one at a time (each opens the warehouse file)
    publish(raw, staging, staging_gate, marts, marts_gate) >> export_commune_files() >> generate_docs()


build_warehouse()
