"""Alerts to the data team: what went wrong, where to look, and nothing personal.

Every alert is composed here from counts, ids and check names only (never a row's content, a file's name or
an exception's quoted values), and its text passes through `scrub` before it leaves: quoted parts and runs
of 9 or more digits (ID numbers, phones) are removed. Each links the Airflow run (and its gate report).

Channels are Airflow connections (ids in the settings VAXCLEAN_ALERT_SMTP_CONN_ID / _WEBHOOK_CONN_ID):
- e-mail through the SMTP provider's hook: the connection's host, port, login, password and extras
  (`from_email`, `disable_tls`, `disable_ssl`, `timeout`, `retry_limit`) plus `to` (comma-separated);
- a webhook for chat tools: POST of JSON `{"text": ..., "title": ..., "kind": ..., "links": {...}}` (the
  `text` field is what Slack, Mattermost, Rocket.Chat and Google Chat incoming webhooks read) to the
  connection's extra `url`.
A channel whose connection does not exist is not configured (skipped); a channel that fails is logged and
the others still get the alert: an alert never fails the pipeline (`deliver`).

The compositions are plain functions (tested without Airflow); vaxclean.notifier wires them to Airflow's
notifiers and callbacks.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from vaxclean.config import settings
from vaxclean.personal_data import mask_text

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10
QUARANTINE_CHECK = "quarantine_share_per_source"  # vaxclean.gates.report.QUARANTINE_CHECK (no gates import here)


def scrub(text: str) -> str:
    """`text` as it may leave: vaxclean.personal_data.mask_text (quoted parts, long numbers, typed dates)."""
    return mask_text(text)


@dataclass
class Alert:
    """One alert: a kind (failure, gate, quarantine, approval, deadline, freshness), a title, lines and links."""

    kind: str
    title: str
    lines: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.title = scrub(self.title)
        self.lines = [scrub(line) for line in self.lines]

    def text(self) -> str:
        """Plain text: title, lines, then the links."""
        return "\n".join([f"[vaxclean] {self.title}", *self.lines, *(f"{k}: {v}" for k, v in self.links.items())])

    def html(self) -> str:
        """The same as HTML (for e-mail)."""
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines)
        links = "".join(f'<li><a href="{html.escape(v)}">{html.escape(k)}</a></li>' for k, v in self.links.items())
        return f"<h3>{html.escape(self.title)}</h3><ul>{items}</ul><ul>{links}</ul>"

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        return {"text": self.text(), "title": self.title, "kind": self.kind, "links": self.links}


def run_links(base_url: str | None, dag_id: str, run_id: str, task_id: str | None = None,
              report: str | None = None) -> dict[str, str]:
    """Links into the Airflow UI: the run, the task's log, the run's gate report (vaxclean.airflow_plugin)."""
    if not base_url:
        return {}
    base = base_url.rstrip("/")
    run = f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    links = {"run": run}
    if task_id:
        links["task"] = f"{run}/tasks/{quote(task_id, safe='')}"
    if report:
        links["gate report"] = f"{base}/vaxclean/reports/{quote(run_id, safe='')}/{quote(report, safe='')}"
    return links


# ----------------------------------------------------------------------------------- compositions


def failure_alert(*, dag_id: str, task_id: str | None, run_id: str, try_number: int | None,
                  exception: BaseException | None, base_url: str | None = None, reason: str | None = None) -> Alert:
    """A task failed for good (after its retries), or a run failed without a task failing (`task_id` None,
    `reason` e.g. a run timeout). A gate's failure lists its failing checks with counts."""
    if task_id is None:
        return Alert("failure", f"{dag_id} run failed", [f"Run {run_id} of {dag_id} failed: {reason or 'unknown'}."],
                     run_links(base_url, dag_id, run_id))
    lines = [f"Task {task_id} of {dag_id} failed" + (f" (try {try_number})" if try_number else "") + "."]
    report = getattr(exception, "report", None)
    if report is not None:  # vaxclean.gates.GateFailed: the checks, not the examples
        lines.append(f"The {report.layer} gate failed {len(report.failures)} check(s); nothing was published:")
        lines += [f"- {c.table}{'.' + c.column if c.column and c.column != c.table else ''}: {c.check}: "
                  f"{c.failed_rows:,} of {c.total_rows:,}" + (f" ({c.detail})" if c.detail else "")
                  for c in report.failures[:10]]
    elif exception is not None:
        first = str(exception).splitlines()[0] if str(exception) else ""
        lines.append(f"{type(exception).__name__}: {first[:200]}")
        # vaxclean.transform.dbt.DbtFailure (itself or the cause of the task's AirflowFailException): its nodes
        failures = getattr(exception, "failures", None) or getattr(exception.__cause__, "failures", None) or []
        lines += [f"- {f.get('status')}: {f.get('unique_id')}: {str(f.get('message', ''))[:160]}"
                  for f in failures[:10]]
    return Alert("failure", f"{dag_id}.{task_id} failed", lines,
                 run_links(base_url, dag_id, run_id, task_id, report.layer if report is not None else None))


def gate_alert(summary: dict[str, Any], *, dag_id: str, run_id: str, base_url: str | None = None) -> Alert | None:
    """A gate passed with soft checks over their warning level (None when there are none). The raw gate's
    quarantine warning is not repeated here: every quarantine is alerted when it is loaded."""
    warnings = [c for c in summary.get("checks", []) if c["status"] == "warn" and c["check"] != QUARANTINE_CHECK]
    if not warnings:
        return None
    lines = [f"The {summary['layer']} gate passed with {len(warnings)} warning(s):"]
    lines += [f"- {c['table']}{'.' + c['column'] if c.get('column') and c['column'] != c['table'] else ''}: "
              f"{c['check']}: {c['failed_rows']:,} of {c['total_rows']:,}"
              + (f" (max {c['max_share']:.2%})" if c.get("max_share") is not None else "") for c in warnings[:15]]
    return Alert("gate", f"{summary['layer']} gate passed with warnings", lines,
                 run_links(base_url, dag_id, run_id, report=summary["layer"]))


def quarantine_alert(source: str, result: dict[str, Any], *, dag_id: str, run_id: str, task_id: str,
                     core: bool, base_url: str | None = None) -> Alert | None:
    """A load put rows or files in quarantine (None when it did not): an incident of its source. For a core
    source the next build will hold publishing until the data team accepts or fixes it."""
    files = int(result.get("files_quarantined") or 0)
    rows = int(result.get("rows_quarantined") or result.get("quarantined") or 0)
    if not (files or rows):
        return None
    what = ", ".join(p for p in (f"{files:,} file(s)" if files else "", f"{rows:,} row(s)" if rows else "") if p)
    lines = [f"{source}: {what} quarantined with their reasons (the raw layer's quarantine table)."]
    if result.get("load_id"):
        lines.append(f"Load {result['load_id']}.")
    lines.append("Core source: the next build holds publishing for an accept or a fix." if core else
                 "The rest of the province publishes; the quarantined rows wait for a corrected file.")
    return Alert("quarantine", f"{source}: {what} quarantined", lines,
                 run_links(base_url, dag_id, run_id, task_id))


def approval_text(raw_summary: dict[str, Any]) -> str:
    """The approval request's body (Markdown): the blocking sources, their loads and what accepting does."""
    quarantine = raw_summary.get("quarantine", {})
    lines = ["The raw gate holds publishing: quarantined rows pass the limit of a source "
             f"(max {quarantine.get('max_share', 0):.2%}; core sources {', '.join(quarantine.get('core_sources', []))}).",
             ""]
    for s in quarantine.get("sources", []):
        if s["blocking"]:
            lines.append(f"- **{s['source']}**: {s['why']} ({s['loads']:,} load(s) since the last publish)")
    loads = quarantine.get("blocked_loads", [])
    lines += ["", f"Loads to accept ({len(loads):,}):"]
    lines += [f"- {load['source']}/{load['load_id']}: {load['quarantined']:,} of {load['received']:,} rows "
              f"({load['reason'] or 'reason not found'})" for load in loads[:20]]
    if len(loads) > 20:
        lines.append(f"- ... and {len(loads) - 20:,} more (gate report)")
    lines += ["", "**Approve**: publish without those rows (they stay in quarantine with their reasons); the "
              "accept is recorded with your name. **Reject**: nothing is published; fix or replace the files and "
              "the next build asks again."]
    return scrub("\n".join(lines))


def approval_alert(raw_summary: dict[str, Any], *, dag_id: str, run_id: str, base_url: str | None = None) -> Alert:
    """Publishing waits for the data team's approval in Airflow's Required Actions view."""
    blocking = raw_summary.get("quarantine", {}).get("blocking", [])
    links = run_links(base_url, dag_id, run_id, report="raw")
    if base_url:
        links["approve or reject"] = f"{links['run']}/required_actions"
    return Alert("approval", f"publishing held: {', '.join(blocking)} over the quarantine limit",
                 [line for line in approval_text(raw_summary).splitlines() if line], links)


def deadline_alert(last_published: datetime | None, now: datetime, hours: float,
                   base_url: str | None = None) -> Alert | None:
    """Nothing published for `hours` (None when something was, or nothing ever was: no reference time).
    Sent on the first hourly check past the deadline and once a day after, so that a stale warehouse is
    reported without a message every hour."""
    if last_published is None:
        return None
    late = (now - last_published).total_seconds() / 3600 - hours
    if late < 0 or late % 24 >= 1:
        return None
    age = (now - last_published).total_seconds() / 3600
    return Alert("deadline", f"nothing published for {age:.0f} h",
                 [f"The last publication is of {last_published.isoformat(timespec='minutes')}; the deadline is "
                  f"{hours:g} h. Dashboards, worklists and write-back files are that old.",
                  "Look at the build_warehouse runs: failed, held for an approval, or not triggered."],
                 {"build runs": f"{base_url.rstrip('/')}/dags/build_warehouse/runs"} if base_url else {})


def publication_alert(result: dict[str, Any], *, dag_id: str, run_id: str, base_url: str | None = None) -> Alert | None:
    """A publication that found the previous published file unreadable (None otherwise): it published as if
    there were none, so its run log and the incremental patch of the marts restarted from nothing."""
    if not result.get("previous_unreadable"):
        return None
    return Alert("publish", "the previous publication was unreadable",
                 ["The published restricted file could not be opened (truncated or overwritten by hand?): this run "
                  f"published version {result.get('version')} as if there had been none; the run log before it is "
                  "lost. Check who or what writes under published/."], run_links(base_url, dag_id, run_id))


def freshness_alert(report: dict[str, Any], base_url: str | None = None) -> Alert | None:
    """Sources that turned stale (worse than at the previous check) as their `freshness` declares (None when
    none did). vaxclean.transform.freshness writes the report."""
    worse = set(report.get("worse", []))
    if not worse:
        return None
    lines = [f"- {s['source']}: {s['status']}, last load {s['hours_since_load']} h ago (warn after "
             f"{s['warn_after'] or '-'}, error after {s['error_after'] or '-'})" for s in report["sources"]
             if s["source"] in worse]
    lines.append("Nothing new arrives from these sources: check the extraction DAGs, the landing folder and the "
                 "upstream system.")
    return Alert("freshness", f"sources stale: {', '.join(sorted(worse))}", lines,
                 {"source freshness": f"{base_url.rstrip('/')}/vaxclean/freshness"} if base_url else {})


# ------------------------------------------------------------------------------------------ delivery


Channel = Callable[[Alert], None]


def deliver(alert: Alert | None, channels: Iterable[tuple[str, Channel]] | None = None) -> dict[str, list[str]]:
    """Send `alert` to every channel (default: those configured as Airflow connections); a channel that fails
    is logged (masked) and skipped. Returns {"sent": [...], "failed": [...]} by channel name."""
    result: dict[str, list[str]] = {"sent": [], "failed": []}
    if alert is None:
        return result
    for name, send in (configured_channels() if channels is None else channels):
        try:
            send(alert)
        except Exception as error:  # noqa: BLE001 - an alert must never fail the pipeline
            log.warning("alert '%s' not delivered by %s: %s: %s", alert.title, name, type(error).__name__,
                        scrub(str(error).splitlines()[0] if str(error) else "")[:200])
            result["failed"].append(name)
        else:
            result["sent"].append(name)
    if not result["sent"] and not result["failed"]:
        cfg = settings()
        log.warning("alert '%s' not sent: no alert channel is configured (connections %s, %s)", alert.title,
                    cfg.alert_smtp_conn_id, cfg.alert_webhook_conn_id)
    log.info("alert [%s] %s: sent to %s", alert.kind, alert.title, result["sent"] or "nobody")
    return result


def configured_channels() -> list[tuple[str, Channel]]:
    """The channels whose Airflow connection exists."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    channels: list[tuple[str, Channel]] = []
    cfg = settings()
    for conn_id, make in ((cfg.alert_smtp_conn_id, smtp_channel), (cfg.alert_webhook_conn_id, webhook_channel)):
        try:
            conn = Connection.get(conn_id)
        except AirflowNotFoundException:
            continue
        try:
            channels.append((conn_id, make(conn_id, conn)))
        except ValueError as error:  # configured wrongly: said in the log, the other channels still alerted
            log.warning("alert channel %s not usable: %s", conn_id, error)
    return channels


def smtp_channel(conn_id: str, conn: Any) -> Channel:
    """E-mail to the connection's extra `to` through the SMTP provider's hook."""
    to = [a.strip() for a in str(conn.extra_dejson.get("to", "")).split(",") if a.strip()]
    if not to:
        raise ValueError(f"connection {conn_id}: no recipients (extra `to`)")

    def send(alert: Alert) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=conn_id) as hook:
            hook.send_email_smtp(to=to, subject=f"[vaxclean] {alert.title}", html_content=alert.html(),
                                 from_email=hook.from_email)

    return send


def webhook_channel(conn_id: str, conn: Any) -> Channel:
    """POST of the alert's JSON to the connection's extra `url`."""
    url = conn.extra_dejson.get("url") or (conn.host if conn.host and "://" in conn.host else None)
    if not url:
        raise ValueError(f"connection {conn_id}: no webhook URL (extra `url`)")

    def send(alert: Alert) -> None:
        import requests

        # errors say what happened, never the URL (a chat webhook's URL holds its secret)
        try:
            response = requests.post(url, json=alert.payload(), timeout=WEBHOOK_TIMEOUT_S)
        except requests.RequestException as error:
            raise RuntimeError(f"webhook unreachable ({type(error).__name__})") from None
        if response.status_code >= 400:
            raise RuntimeError(f"webhook answered HTTP {response.status_code}")

    return send
