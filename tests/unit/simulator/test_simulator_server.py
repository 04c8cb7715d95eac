"""The simulator serves sources.md §1/§3: auth, window bounds, limit, cursor paging, order, faults, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from simulator_helpers import AUTH, TOKEN, read_versions

from vaxclean.simulator.server import SimulatorServer, serve_in_thread

IMM = "/api/v1/immunizations"
TICKETS = "/api/v1/tickets"


@pytest.fixture(scope="module")
def server(scenario: Path) -> Iterator[SimulatorServer]:
    with serve_in_thread(scenario, token=TOKEN) as running:
        yield running


def _get(server: SimulatorServer, path: str, headers: dict | None = None, **params: object) -> requests.Response:
    return requests.get(server.url + path, params=params, headers=AUTH if headers is None else headers, timeout=10)


def _all_pages(server: SimulatorServer, path: str, **params: object) -> tuple[list[dict], int]:
    items: list[dict] = []
    pages = 0
    cursor = None
    while True:
        response = _get(server, path, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["data"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def _expected(scenario: Path, rel: str, id_field: str, since: datetime, until: datetime) -> list[tuple[str, str]]:
    chosen = [v for v in read_versions(scenario / rel) if since <= v["at"] < until]
    chosen.sort(key=lambda v: (v["at"], v["record"][id_field]))
    return [(v["record"][id_field], v["record"]["updated_at"]) for v in chosen]


def test_health_needs_no_auth_and_counts_servable_lines(server: SimulatorServer, scenario: Path) -> None:
    response = requests.get(server.url + "/health", timeout=5)
    assert response.status_code == 200
    assert response.json()[IMM] == len(read_versions(scenario / "platform" / "immunizations.jsonl"))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_missing_or_wrong_token_is_401_json(server: SimulatorServer, headers: dict) -> None:
    response = _get(server, IMM, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


def test_pages_cover_the_window_once_in_order(server: SimulatorServer, scenario: Path) -> None:
    since, until = datetime(2021, 8, 5, tzinfo=UTC), datetime(2021, 8, 20, tzinfo=UTC)
    items, pages = _all_pages(server, IMM, updated_since="2021-08-05T00:00:00Z",
                              updated_until="2021-08-20T00:00:00+00:00", limit=137)
    expected = _expected(scenario, "platform/immunizations.jsonl", "record_id", since, until)
    assert [(r["record_id"], r["updated_at"]) for r in items] == expected
    assert pages == -(-len(expected) // 137)
    assert any(r["deleted"] for r in items) and len({r["record_id"] for r in items}) < len(items)


def test_records_are_served_as_written(server: SimulatorServer, scenario: Path) -> None:
    items, _ = _all_pages(server, IMM, limit=5000)
    lines = {json.dumps(v["record"], ensure_ascii=False) for v in read_versions(scenario / "platform/immunizations.jsonl")}
    assert {json.dumps(r, ensure_ascii=False) for r in items} == lines
    assert len(items) == len(lines)


def test_tickets_are_ordered_by_updated_at_then_ticket_id(server: SimulatorServer, scenario: Path) -> None:
    items, _ = _all_pages(server, TICKETS, limit=100)
    everything = _expected(scenario, "feedback/tickets.jsonl", "ticket_id", datetime.min.replace(tzinfo=UTC),
                           datetime.max.replace(tzinfo=UTC))
    assert [(r["ticket_id"], r["updated_at"]) for r in items] == everything


def test_since_is_inclusive_and_until_exclusive(server: SimulatorServer, scenario: Path) -> None:
    stamp = sorted(v["record"]["updated_at"] for v in read_versions(scenario / "platform/immunizations.jsonl"))[100]
    inclusive, _ = _all_pages(server, IMM, updated_since=stamp, updated_until="2030-01-01T00:00:00Z", limit=5000)
    exclusive, _ = _all_pages(server, IMM, updated_since="2000-01-01T00:00:00Z", updated_until=stamp, limit=5000)
    assert inclusive[0]["updated_at"] == stamp
    assert all(r["updated_at"] != stamp for r in exclusive)


def test_default_limit_is_1000(server: SimulatorServer) -> None:
    body = _get(server, IMM).json()
    assert len(body["data"]) == 1000 and body["next_cursor"]


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 5001}, {"limit": "ten"}, {"updated_since": "yesterday"},
    {"updated_since": "2021-09-01T00:00:00Z", "updated_until": "2021-08-01T00:00:00Z"}, {"cursor": "garbage!"},
])
def test_bad_parameters_are_400(server: SimulatorServer, params: dict) -> None:
    response = _get(server, IMM, **params)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_a_cursor_only_fits_its_own_window(server: SimulatorServer) -> None:
    cursor = _get(server, IMM, limit=10, updated_since="2021-08-01T00:00:00Z").json()["next_cursor"]
    assert _get(server, IMM, limit=10, updated_since="2021-08-01T00:00:00Z", cursor=cursor).status_code == 200
    assert _get(server, IMM, limit=10, updated_since="2021-08-02T00:00:00Z", cursor=cursor).status_code == 400


def test_missing_file_serves_an_empty_list(tmp_path: Path) -> None:
    with serve_in_thread(tmp_path, token=TOKEN) as empty:
        response = _get(empty, TICKETS)
    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}


def test_scripted_and_random_faults(scenario: Path) -> None:
    with serve_in_thread(scenario, token=TOKEN, retry_after=7, script=["429", "502", "ok"]) as faulty:
        first, second, third = (_get(faulty, IMM, limit=1) for _ in range(3))
        assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
        assert second.status_code == 502 and third.status_code == 200
        faulty.faults.rate_5xx = 1.0
        assert {_get(faulty, IMM, limit=1).status_code for _ in range(12)} <= {500, 502, 503}
        assert _get(faulty, TICKETS, headers={}).status_code == 401  # auth is checked before faults
        assert requests.get(faulty.url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_announces_itself_and_stops_on_signal(scenario: Path, signum: int) -> None:
    env = {**os.environ, "VAXCLEAN_SIMULATOR_TOKEN": "env-token"}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "vaxclean.simulator", "--scenario", str(scenario), "--port", "0", "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        response = requests.get(url + IMM, headers={"Authorization": "Bearer env-token"}, params={"limit": 1}, timeout=5)
        assert response.status_code == 200
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
