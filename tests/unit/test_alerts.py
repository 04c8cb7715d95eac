"""Alerts (vaxclean.alerts, vaxclean.notifier): what they say, that they hold nothing personal, that they reach
a real SMTP server and webhook through Airflow connections, and that a channel down never fails the caller."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from vaxclean import alerts
from vaxclean.gates.report import CheckResult, GateFailed, GateReport

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
RAW_HELD = {
    "layer": "raw", "needs_acceptance": True, "checks": [],
    "quarantine": {
        "max_share": 0.05, "core_sources": ["platform", "population"], "blocking": ["population"],
        "sources": [{"source": "population", "loads": 1, "received": 1, "quarantined": 1, "blocking": True,
                     "why": "core source: 1 load(s) wholly quarantined"},
                    {"source": "hotline", "loads": 3, "received": 30, "quarantined": 1, "blocking": False, "why": ""}],
        "blocked_loads": [{"source": "population", "load_id": "L-pop-1", "received": 1, "quarantined": 1,
                           "reason": "not a readable Parquet file"}],
    },
}


def test_scrub_removes_quoted_values_and_long_digit_runs():
    assert alerts.scrub("bad 'Nguyễn Văn A' id 001234567890 phone 0912345678 at 2022-01-05") == \
        "bad '…' id … phone … at 2022-01-05"


def test_a_gate_failure_alert_names_the_checks_never_the_examples():
    report = GateReport(layer="raw", run_id="r1", database="raw", started_at="now")
    report.checks.append(CheckResult("population", "unique", "hard", "fail", 2, 1000, column="citizen_id",
                                     examples=[{"citizen_id": "0" * 12, "full_name": "Nguyễn Văn A"}]))
    alert = alerts.failure_alert(dag_id="build_warehouse", task_id="gate_raw", run_id="manual__x", try_number=1,
                                 exception=GateFailed(report), base_url="http://127.0.0.1:8080")
    text = alert.text()
    assert "population.citizen_id: unique: 2 of 1,000" in text and "The raw gate failed 1 check(s); nothing was published" in text
    assert "Nguyễn" not in text and "000000000000" not in text
    assert alert.links["gate report"] == "http://127.0.0.1:8080/vaxclean/reports/manual__x/raw"
    assert alert.links["task"].endswith("/dags/build_warehouse/runs/manual__x/tasks/gate_raw")


def test_an_exception_alert_loses_what_it_quotes():
    alert = alerts.failure_alert(dag_id="d", task_id="t", run_id="r", try_number=3,
                                 exception=ValueError("cannot parse 'Trần Thị B' 0987654321\nsecond line"))
    assert alert.lines == ["Task t of d failed (try 3).", "ValueError: cannot parse '…' …"]


def test_a_dbt_failure_alert_lists_the_failing_nodes():
    from vaxclean.transform.dbt import DbtFailure

    try:
        try:
            raise DbtFailure("build", [{"status": "fail", "unique_id": "test.vaxclean.unique_x",
                                        "message": "Could not convert 'Lê Văn C' to INT"}])
        except DbtFailure as failure:
            raise RuntimeError("dbt build failed") from failure
    except RuntimeError as error:
        alert = alerts.failure_alert(dag_id="d", task_id="build_staging", run_id="r", try_number=1, exception=error)
    assert alert.lines[-1] == "- fail: test.vaxclean.unique_x: Could not convert '…' to INT"


def test_a_gate_alert_lists_soft_warnings_but_not_the_quarantine_already_alerted():
    checks = [{"table": "stg_x", "column": "phone", "check": "share_valid", "status": "warn", "failed_rows": 30,
               "total_rows": 1000, "max_share": 0.05},
              {"table": "load_audit", "column": None, "check": "quarantine_share_per_source", "status": "warn",
               "failed_rows": 0, "total_rows": 3, "max_share": 0.05}]
    alert = alerts.gate_alert({"layer": "staging", "checks": checks}, dag_id="build_warehouse", run_id="r")
    assert alert is not None and alert.lines == ["The staging gate passed with 1 warning(s):",
                                                 "- stg_x.phone: share_valid: 30 of 1,000 (max 5.00%)"]
    assert alerts.gate_alert({"layer": "raw", "checks": checks[1:]}, dag_id="b", run_id="r") is None


def test_a_quarantine_alert_says_whether_the_province_still_publishes():
    assert alerts.quarantine_alert("hotline", {"files_quarantined": 0, "rows_quarantined": 0}, dag_id="d",
                                   run_id="r", task_id="t", core=False) is None
    minor = alerts.quarantine_alert("site_batches", {"files_quarantined": 1, "rows_quarantined": 1}, dag_id="d",
                                    run_id="r", task_id="t", core=False)
    assert minor.title == "site_batches: 1 file(s), 1 row(s) quarantined" and "rest of the province" in minor.text()
    core = alerts.quarantine_alert("platform", {"quarantined": 12, "load_id": "L9"}, dag_id="d", run_id="r",
                                   task_id="t", core=True)
    assert "Load L9." in core.lines and "holds publishing" in core.text()


def test_the_approval_request_says_what_blocks_and_what_each_answer_does():
    text = alerts.approval_text(RAW_HELD)
    assert "**population**: core source: 1 load(s) wholly quarantined" in text
    assert "population/L-pop-1: 1 of 1 rows (not a readable Parquet file)" in text
    assert "**Approve**" in text and "**Reject**" in text and "hotline" not in text
    alert = alerts.approval_alert(RAW_HELD, dag_id="build_warehouse", run_id="r1", base_url="http://h:1")
    assert alert.links["approve or reject"] == "http://h:1/dags/build_warehouse/runs/r1/required_actions"


@pytest.mark.parametrize(("age_hours", "sent"), [(25, False), (26.5, True), (28, False), (50.2, True), (51.5, False)])
def test_the_deadline_alert_goes_out_once_past_the_deadline_then_daily(age_hours, sent):
    alert = alerts.deadline_alert(NOW - timedelta(hours=age_hours), NOW, 26)
    assert (alert is not None) is sent
    assert alerts.deadline_alert(None, NOW, 26) is None  # never published: no reference time


def test_alerts_reach_a_real_smtp_server_and_webhook_through_airflow_connections(alert_receivers, monkeypatch):
    for name, value in alert_receivers.connections().items():
        monkeypatch.setenv(name, value)
    alert = alerts.approval_alert(RAW_HELD, dag_id="build_warehouse", run_id="r1", base_url="http://h:1")
    assert alerts.deliver(alert) == {"sent": ["vaxclean_alerts_smtp", "vaxclean_alerts_webhook"], "failed": []}
    (mail,) = alert_receivers.mails
    assert mail["subject"].startswith("[vaxclean] publishing held: population") and mail["to"] == "data-team@example.org"
    assert "population/L-pop-1" in mail["body"] and 'href="http://h:1/dags/build_warehouse/runs/r1/required_actions"' in mail["body"]
    (post,) = alert_receivers.posts
    assert post["kind"] == "approval" and post["text"].startswith("[vaxclean] publishing held")


def test_a_channel_down_is_logged_and_the_caller_goes_on(alert_receivers, monkeypatch, caplog):
    from vaxclean.cli import free_port

    closed = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_VAXCLEAN_ALERTS_SMTP", alert_receivers.connections()[
        "AIRFLOW_CONN_VAXCLEAN_ALERTS_SMTP"].replace(str(alert_receivers.smtp_port), str(closed)))
    secret_url = f"http://127.0.0.1:{closed}/services/T0SECRET/B0SECRET/xoxo-secret-token"
    monkeypatch.setenv("AIRFLOW_CONN_VAXCLEAN_ALERTS_WEBHOOK", f'{{"conn_type": "http", "extra": {{"url": "{secret_url}"}}}}')
    with caplog.at_level(logging.WARNING, logger="vaxclean.alerts"):
        result = alerts.deliver(alerts.Alert("failure", "t failed", ["x"]))
    assert result == {"sent": [], "failed": ["vaxclean_alerts_smtp", "vaxclean_alerts_webhook"]}
    logged = caplog.text
    assert "not delivered by vaxclean_alerts_webhook: RuntimeError: webhook unreachable" in logged
    assert "not delivered by vaxclean_alerts_smtp" in logged and "secret" not in logged


def test_no_channel_configured_is_said_once_per_alert(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_VAXCLEAN_ALERTS_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_VAXCLEAN_ALERTS_WEBHOOK", raising=False)
    with caplog.at_level(logging.WARNING, logger="vaxclean.alerts"):
        assert alerts.deliver(alerts.Alert("gate", "g", [])) == {"sent": [], "failed": []}
    assert "no alert channel is configured" in caplog.text


def test_the_publication_watch_fails_past_the_deadline_with_its_alert(monkeypatch):
    from vaxclean import build
    from vaxclean.notifier import PublicationLate, check_publication_deadline

    monkeypatch.setattr(build, "last_published_at", lambda _: NOW - timedelta(hours=3))
    assert check_publication_deadline(NOW)["age_hours"] == 3
    monkeypatch.setattr(build, "last_published_at", lambda _: NOW - timedelta(hours=26, minutes=20))
    with pytest.raises(PublicationLate) as late:
        check_publication_deadline(NOW)
    assert late.value.alert is not None and late.value.alert.title == "nothing published for 26 h"


def _sources_json(*statuses: tuple[str, str, float]) -> dict:
    return {"results": [{"unique_id": f"source.vaxclean.{name}", "status": status, "max_loaded_at": "2026-12-01T00:00:00",
                         "max_loaded_at_time_ago_in_s": hours * 3600,
                         "criteria": {"warn_after": {"count": 2, "period": "day"},
                                      "error_after": {"count": 7, "period": "day"}}}
                        for name, status, hours in statuses]}


def test_a_source_is_alerted_when_it_turns_stale_not_every_hour_it_stays_so():
    from vaxclean.transform.freshness import freshness_report

    fresh = freshness_report(_sources_json(("platform.immunizations", "pass", 3), ("feedback.tickets", "pass", 3)),
                             {}, NOW)
    assert fresh["worst"] == "pass" and fresh["worse"] == [] and alerts.freshness_alert(fresh) is None
    stale = freshness_report(_sources_json(("platform.immunizations", "pass", 4), ("feedback.tickets", "warn", 50)),
                             fresh, NOW)
    assert stale["worse"] == ["feedback.tickets"] and stale["sources"][0]["source"] == "feedback.tickets"
    alert = alerts.freshness_alert(stale, "http://h:1")
    assert alert.title == "sources stale: feedback.tickets"
    assert alert.lines[0] == "- feedback.tickets: warn, last load 50.0 h ago (warn after 2 day(s), error after 7 day(s))"
    assert alert.links == {"source freshness": "http://h:1/vaxclean/freshness"}
    still = freshness_report(_sources_json(("platform.immunizations", "pass", 5), ("feedback.tickets", "warn", 51)),
                             stale, NOW)
    assert still["worse"] == [] and still["worst"] == "warn"  # still stale: no second alert
    error = freshness_report(_sources_json(("platform.immunizations", "pass", 5), ("feedback.tickets", "error", 200)),
                             still, NOW)
    assert error["worse"] == ["feedback.tickets"] and error["worst"] == "error"
