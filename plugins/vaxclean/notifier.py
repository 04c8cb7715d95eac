"""The alerts of vaxclean.alerts as Airflow sees them: a notifier for failure callbacks and approval requests,
and the helpers the DAGs' tasks call to alert from inside a task (a gate's warnings, a new quarantine).

Imported by the DAG files (it needs Airflow); the compositions and channels are in vaxclean.alerts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseNotifier, conf

from vaxclean import alerts


def base_url() -> str | None:
    """The Airflow UI's address for links ([api] base_url), or None when it is not set."""
    return conf.get("api", "base_url", fallback=None) or None


def _ids(context: Any) -> tuple[str, str, str | None]:
    """dag_id, run_id and task_id (None in a DAG run's callback) of a callback's or a task's context."""
    ti = context.get("ti")
    if ti is not None:
        return ti.dag_id, ti.run_id, ti.task_id
    return context["dag"].dag_id, context["dag_run"].run_id, None


def task_defaults(retry_minutes: float = 2) -> dict:
    """Every DAG's default_args: vaxclean.orchestration.default_args plus the failure alert."""
    from vaxclean.orchestration import default_args

    return {**default_args(retry_minutes), "owner": "vaxclean-data-team", "on_failure_callback": [VaxcleanNotifier()]}


def approval_timeout() -> timedelta:
    """How long an approval request waits (VAXCLEAN_APPROVAL_TIMEOUT_HOURS: within the build's 3-hour run
    timeout, so that an unanswered request fails the run, is alerted, and the next build asks again with
    what arrived meanwhile)."""
    from vaxclean.config import settings

    return timedelta(hours=settings().approval_timeout_hours)


def run_failure_callbacks() -> list:
    """A DAG's own on_failure_callback: alerts a run that failed without a failing task (a run timeout); a
    task's failure is alerted by the task's callback."""
    return [VaxcleanNotifier("run_failure")]


class VaxcleanNotifier(BaseNotifier):
    """Sends a vaxclean alert for a task: `kind` "failure" (an `on_failure_callback`: what failed, a gate's
    failing checks) or "approval" (an ApprovalOperator's notifier: what waits for an accept, from the raw
    gate's summary in XCom)."""

    template_fields = ()

    def __init__(self, kind: str = "failure") -> None:
        super().__init__()
        self.kind = kind

    def notify(self, context: Any) -> None:
        dag_id, run_id, task_id = _ids(context)
        if self.kind == "run_failure":
            reason = context.get("reason")
            if reason == "task_failure":  # the failed task's own callback said it
                return
            alert = alerts.failure_alert(dag_id=dag_id, task_id=None, run_id=run_id, try_number=None, exception=None,
                                         reason=reason, base_url=base_url())
        elif self.kind == "approval":
            raw = context["ti"].xcom_pull(task_ids="gate_raw") or {}
            alert = alerts.approval_alert(raw, dag_id=dag_id, run_id=run_id, base_url=base_url())
        elif hasattr(context.get("exception"), "alert"):  # the task composed its own alert (or chose none)
            alert = context["exception"].alert
        else:
            alert = alerts.failure_alert(dag_id=dag_id, task_id=task_id, run_id=run_id,
                                         try_number=getattr(context["ti"], "try_number", None),
                                         exception=context.get("exception"), base_url=base_url())
        alerts.deliver(alert)


def alert_gate(summary: dict, context: Any) -> dict:
    """From a gate task: alert the gate's soft warnings (if any); returns what was sent."""
    dag_id, run_id, _ = _ids(context)
    return alerts.deliver(alerts.gate_alert(summary, dag_id=dag_id, run_id=run_id, base_url=base_url()))


def alert_publication(result: dict, context: Any) -> dict:
    """From the publish task: alert a publication that found the previous one unreadable."""
    dag_id, run_id, _ = _ids(context)
    return alerts.deliver(alerts.publication_alert(result, dag_id=dag_id, run_id=run_id, base_url=base_url()))


def alert_quarantine(source: str, result: dict, context: Any) -> dict:
    """From an intake task: alert a load that quarantined rows or files (if it did)."""
    from vaxclean.config import settings

    dag_id, run_id, task_id = _ids(context)
    return alerts.deliver(alerts.quarantine_alert(source, result, dag_id=dag_id, run_id=run_id, task_id=task_id,
                                                  core=source in settings().core_sources, base_url=base_url()))


class AlertingFailure(Exception):
    """A check that fails its task and carries its own alert (None when it is not news): the task's failure
    callback (VaxcleanNotifier) sends that alert instead of a generic one."""

    def __init__(self, message: str, alert: alerts.Alert | None) -> None:
        super().__init__(message)
        self.alert = alert


class PublicationLate(AlertingFailure):
    """Nothing published within the deadline (the alert: on the first check past it, then daily)."""


class SourcesStale(AlertingFailure):
    """A source is past its declared `error_after` (the alert: when a source got worse since the last check)."""


def check_publication_deadline(now: datetime | None = None) -> dict:
    """`watch_pipeline`'s task: raises PublicationLate (failing the task; its failure callback sends the
    deadline alert) when the current publication is older than VAXCLEAN_PUBLISH_DEADLINE_HOURS."""
    from vaxclean.build import last_published_at
    from vaxclean.config import settings

    cfg = settings()
    now = now or datetime.now(UTC)
    last = last_published_at(cfg.warehouse_dir)
    age = None if last is None else round((now - last).total_seconds() / 3600, 2)
    if age is not None and age > cfg.publish_deadline_hours:
        raise PublicationLate(f"nothing published for {age:.1f} h (deadline {cfg.publish_deadline_hours:g} h)",
                              alerts.deadline_alert(last, now, cfg.publish_deadline_hours, base_url()))
    return {"last_published_at": last.isoformat() if last else None, "age_hours": age,
            "deadline_hours": cfg.publish_deadline_hours}


def check_sources() -> dict:
    """`watch_pipeline`'s freshness task: `dbt source freshness` (vaxclean.transform.freshness); a source that
    turned stale is alerted; any source past its `error_after` fails the task (SourcesStale)."""
    from vaxclean.config import settings
    from vaxclean.transform.freshness import check_source_freshness

    report = check_source_freshness(settings().warehouse_dir)
    alert = alerts.freshness_alert(report, base_url())
    errors = [s["source"] for s in report["sources"] if s["status"] in ("error", "runtime error")]
    if errors:
        raise SourcesStale(f"sources past their error threshold: {', '.join(errors)}", alert)
    alerts.deliver(alert)
    return report
