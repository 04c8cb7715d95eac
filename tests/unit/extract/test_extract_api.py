"""API client retries and extraction of an interval into the raw layer (atomic, idempotent, audited)."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from extract_helpers import SINCE, TOKEN, UNTIL, content, expected_keys, raw_rows

from vaxclean.extract.api import extract_interval, split_page
from vaxclean.extract.client import (
    ApiClient,
    ApiRequestError,
    ApiUnavailableError,
    AuthError,
    RetryPolicy,
)
from vaxclean.simulator.server import serve_in_thread

PARAMS = {"updated_since": "2021-08-03T00:00:00Z", "updated_until": "2021-08-04T00:00:00Z", "limit": 10}


def _client(url: str, sleeps: list[float], *, token: str = TOKEN, timeout_s: float = 5.0, retries: int = 4) -> ApiClient:
    return ApiClient(url, token, timeout_s=timeout_s, retry=RetryPolicy(max_retries=retries, backoff_base_s=0.01),
                     sleep=sleeps.append)


def _extract(url: str, raw_dir: Path, **kwargs: object) -> dict:
    arguments = {"base_url": url, "token": TOKEN, "endpoint": "immunizations", "since": SINCE, "until": UNTIL,
                 "raw_dir": raw_dir, "page_limit": 250, "timeout_s": 5.0, "max_retries": 8, "backoff_base_s": 0.001}
    return extract_interval(**{**arguments, **kwargs})


# --- the client -----------------------------------------------------------------------------------------


def test_429_waits_at_least_retry_after(api_scenario: Path) -> None:
    with serve_in_thread(api_scenario, token=TOKEN, retry_after=1, script=["429"]) as server:
        client = ApiClient(server.url, TOKEN, retry=RetryPolicy(max_retries=2, backoff_base_s=0.01))
        started = time.monotonic()
        page = client.get_page("immunizations", PARAMS)
        assert time.monotonic() - started >= 1.0
    assert len(page.data) == 10 and client.retries_done == 1


def test_5xx_is_retried_with_growing_jittered_backoff(api_scenario: Path) -> None:
    sleeps: list[float] = []
    with serve_in_thread(api_scenario, token=TOKEN, script=["500", "502", "503"]) as server:
        page = _client(server.url, sleeps).get_page("immunizations", PARAMS)
    assert len(page.data) == 10
    assert len(sleeps) == 3
    for attempt, wait in enumerate(sleeps):
        ceiling = 0.01 * 2**attempt
        assert ceiling / 2 <= wait <= ceiling


def test_slow_response_within_timeout_is_not_retried_beyond_it_is(api_scenario: Path) -> None:
    sleeps: list[float] = []
    with serve_in_thread(api_scenario, token=TOKEN, slow_seconds=0.3, script=["slow"]) as server:
        assert len(_client(server.url, sleeps, timeout_s=3.0).get_page("immunizations", PARAMS).data) == 10
        assert sleeps == []
        server.faults.slow_seconds = 1.0
        server.faults.script.append("slow")
        assert len(_client(server.url, sleeps, timeout_s=0.3).get_page("immunizations", PARAMS).data) == 10
        assert len(sleeps) == 1


def test_401_raises_auth_error_without_retry_and_without_the_token(api_scenario: Path) -> None:
    sleeps: list[float] = []
    with serve_in_thread(api_scenario, token=TOKEN) as server:
        with pytest.raises(AuthError) as caught:
            _client(server.url, sleeps, token="s3cr3t-wrong").get_page("tickets", PARAMS)
    assert sleeps == []
    assert "tickets" in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_retries_exhausted_and_bad_requests_fail_clearly(api_scenario: Path) -> None:
    sleeps: list[float] = []
    with serve_in_thread(api_scenario, token=TOKEN, rate_5xx=1.0) as server:
        with pytest.raises(ApiUnavailableError, match="after 2 retries"):
            _client(server.url, sleeps, retries=2).get_page("immunizations", PARAMS)
        assert len(sleeps) == 2
        server.faults.rate_5xx = 0.0
        with pytest.raises(ApiRequestError, match="HTTP 400"):
            _client(server.url, sleeps).get_page("immunizations", {**PARAMS, "limit": 0})
    assert len(sleeps) == 2


def test_connection_refused_is_retried_then_fails() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(ApiUnavailableError, match="connection error"):
        _client(f"http://127.0.0.1:{port}", sleeps, retries=2).get_page("immunizations", PARAMS)
    assert len(sleeps) == 2


# --- one page's records ----------------------------------------------------------------------------------


def test_split_page_quarantines_what_cannot_be_keyed() -> None:
    good = '{"record_id": "R1", "updated_at": "2021-08-03T00:00:00Z", "deleted": true, "full_name": "Lê Thị C"}'
    items = [good.encode(), b'"text"', b"[1, 2]", b'{"updated_at": "2021-08-03T00:00:00Z"}',
             b'{"record_id": "R2"}', b'{"record_id": 7, "updated_at": "2021-08-03T00:00:00Z", "x": "\xff"}',
             b'{"record_id": 8, "updated_at": "2021-08-03T00:00:00Z"}']
    rows = split_page(items, "record_id")
    assert rows.ids == ["R1", "8"] and rows.positions == [0, 6] and rows.deleted == [True, None]
    assert rows.payloads[0].decode() == good
    assert [(p, reason) for p, reason, _ in rows.quarantine] == [
        (1, "not a JSON object"), (2, "not a JSON object"), (3, "no record_id"), (4, "no updated_at"),
        (5, "not valid UTF-8")]


# --- extraction of an interval ---------------------------------------------------------------------------


def test_clean_extraction_loads_the_window_with_metadata_quarantine_and_audit(api_scenario: Path, tmp_path: Path) -> None:
    with serve_in_thread(api_scenario, token=TOKEN) as server:
        result = _extract(server.url, tmp_path)
    expected = expected_keys(api_scenario)
    path = Path(result["path"])
    assert path == tmp_path / "platform_immunizations" / "since=20210803T000000Z__until=20210825T000000Z.parquet"
    assert result["received"] == sum(expected.values()) and result["quarantined"] == 2
    assert result["loaded"] == result["received"] - 2 and result["pages"] == -(-result["received"] // 250)
    json.dumps(result)  # XCom-safe
    rows = raw_rows(path, drop=())
    assert {f"{r['record_id']}|{r['updated_at']}" for r in rows} == {k for k in expected if not k.startswith("None|")}
    lines = set((api_scenario / "platform" / "immunizations.jsonl").read_text(encoding="utf-8").splitlines())
    assert all(r["payload"] in lines for r in rows)
    assert {r["_load_id"] for r in rows} == {"platform_immunizations:2021-08-03T00:00:00+00:00:2021-08-25T00:00:00+00:00"}
    assert {(r["_interval_start"], r["_interval_end"]) for r in rows} == {(SINCE, UNTIL)}
    assert sorted((r["_page"], r["_row_in_page"]) for r in rows)[:2] == [(0, 0), (0, 1)]
    assert any(r["deleted"] for r in rows)
    quarantine = pq.read_table(tmp_path / "quarantine" / "platform").to_pylist()
    assert sorted(q["reason"] for q in quarantine) == ["no record_id", "no record_id"]
    audit = pq.read_table(tmp_path / "load_audit" / "platform").to_pylist()
    assert [(a["received"], a["loaded"], a["quarantined"]) for a in audit] == [(result["received"], result["loaded"], 2)]


def test_faults_load_exactly_what_a_clean_run_loads(api_scenario: Path, tmp_path: Path) -> None:
    with serve_in_thread(api_scenario, token=TOKEN) as server:
        clean = _extract(server.url, tmp_path / "clean")
    faults = {"rate_429": 0.2, "retry_after": 0, "rate_5xx": 0.2, "rate_slow": 0.1, "slow_seconds": 0.05, "seed": 5}
    with serve_in_thread(api_scenario, token=TOKEN, **faults) as server:
        faulty = _extract(server.url, tmp_path / "faulty")
    assert faulty["retries"] > 3
    assert content(faulty["path"]) == content(clean["path"])
    assert (faulty["received"], faulty["loaded"], faulty["quarantined"]) == (
        clean["received"], clean["loaded"], clean["quarantined"])


def test_rerun_of_an_interval_rewrites_the_same_file(api_scenario: Path, tmp_path: Path) -> None:
    with serve_in_thread(api_scenario, token=TOKEN) as server:
        first = _extract(server.url, tmp_path)
        before = raw_rows(first["path"])
        second = _extract(server.url, tmp_path)
    assert second["path"] == first["path"]
    assert raw_rows(second["path"]) == before
    assert sorted(p.name for p in (tmp_path / "platform_immunizations").iterdir()) == [
        "_empty.parquet", Path(first["path"]).name]
    assert len(list((tmp_path / "load_audit" / "platform").iterdir())) == 1


def test_failure_mid_extract_leaves_no_partial_file_and_rerun_loads_everything_once(
    api_scenario: Path, tmp_path: Path
) -> None:
    with serve_in_thread(api_scenario, token=TOKEN) as server:
        good = _extract(server.url, tmp_path)
    previous = Path(good["path"]).read_bytes()
    (tmp_path / "good.parquet").write_bytes(previous)
    with serve_in_thread(api_scenario, token=TOKEN, fail_after=3) as server:
        with pytest.raises(ApiUnavailableError):
            _extract(server.url, tmp_path, max_retries=2)
        assert server.pages_served == 3
    table_dir = tmp_path / "platform_immunizations"
    assert Path(good["path"]).read_bytes() == previous
    assert not [p for p in table_dir.iterdir() if p.name.endswith(".tmp")]
    with serve_in_thread(api_scenario, token=TOKEN) as server:
        rerun = _extract(server.url, tmp_path)
    rows = raw_rows(rerun["path"])
    assert len(rows) == good["loaded"]
    assert content(rerun["path"]) == content(tmp_path / "good.parquet")
    assert len({(r["_page"], r["_row_in_page"]) for r in rows}) == len(rows)


def test_failure_on_a_first_run_leaves_no_file(api_scenario: Path, tmp_path: Path) -> None:
    with serve_in_thread(api_scenario, token=TOKEN, fail_after=1) as server:
        with pytest.raises(ApiUnavailableError):
            _extract(server.url, tmp_path, max_retries=1)
    assert [p.name for p in (tmp_path / "platform_immunizations").iterdir()] == ["_empty.parquet"]
    assert not (tmp_path / "load_audit" / "platform").exists()


def test_tickets_and_an_empty_window(api_scenario: Path, tmp_path: Path) -> None:
    with serve_in_thread(api_scenario, token=TOKEN) as server:
        tickets = _extract(server.url, tmp_path, endpoint="tickets", since=datetime(2021, 1, 1),
                           until=datetime(2022, 1, 1), page_limit=5000)
        empty = _extract(server.url, tmp_path, since=datetime(2020, 1, 1, tzinfo=UTC),
                         until=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=1))
    ticket_rows = raw_rows(tickets["path"])
    assert tickets["table"] == "feedback_tickets" and tickets["loaded"] == len(ticket_rows) > 300
    assert "deleted" not in ticket_rows[0] and ticket_rows[0]["ticket_id"].startswith("TK")
    assert (empty["received"], empty["pages"], pq.read_table(empty["path"]).num_rows) == (0, 1, 0)
    with pytest.raises(ValueError, match="empty interval"):
        _extract("http://127.0.0.1:1", tmp_path, since=UNTIL, until=SINCE)


# --- a window that changes while it is paged -----------------------------------------------------------


class _ShiftingApi:
    """An API with an offset cursor over a window ordered by (updated_at, record_id), on 127.0.0.1; on the
    first `shifts` reads it inserts a version at the window's start right after serving page 0 (what a
    record edited or made visible while paging does to an offset cursor)."""

    def __init__(self, shifts: int) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        self.records = [{"record_id": f"R{i}", "updated_at": f"2021-08-03T10:0{i}:00Z", "vaccinated_on": "2021-08-03"}
                        for i in range(1, 7)]
        self.shifts, self.reads = shifts, 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                offset = int(parse_qs(urlparse(self.path).query).get("cursor", ["0"])[0])
                if offset == 0:
                    api.reads += 1
                page = api.records[offset:offset + 2]
                if offset == 0 and api.reads <= api.shifts:
                    api.records.insert(0, {"record_id": f"R0-{api.reads}", "updated_at": "2021-08-03T10:00:00Z",
                                           "vaccinated_on": "2021-08-03"})
                following = offset + 2 if offset + 2 < len(api.records) else None
                body = json.dumps({"data": page, "next_cursor": None if following is None else str(following)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> _ShiftingApi:
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_window_that_changes_under_the_cursor_is_read_again(tmp_path: Path) -> None:
    with _ShiftingApi(shifts=1) as api:
        result = _extract(api.url, tmp_path / "raw", page_limit=2)
    assert api.reads == 2  # the first read saw a version twice (R1 on pages 0 and 1): read again
    ids = [r["record_id"] for r in raw_rows(result["path"])]
    assert ids == ["R0-1", "R1", "R2", "R3", "R4", "R5", "R6"] and result["received"] == 7


def test_a_window_that_keeps_changing_fails_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VAXCLEAN_API_WINDOW_ATTEMPTS", "3")
    with _ShiftingApi(shifts=10) as api, pytest.raises(ApiRequestError, match="changed under the cursor in each of 3"):
        _extract(api.url, tmp_path / "raw", page_limit=2)
    assert api.reads == 3
    assert not list((tmp_path / "raw").rglob("since=*.parquet"))
