"""HTTP server of the simulated platform and feedback APIs (sources.md §1 and §3).

`GET /api/v1/immunizations` and `GET /api/v1/tickets` with Bearer auth, `updated_since` (inclusive),
`updated_until` (exclusive), `limit` 1..5000 (default 1000) and an opaque `cursor`; `GET /health`
without auth. Faults (429 with Retry-After, 500/502/503, slow responses) are injected per request.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from vaxclean.simulator.store import EndpointStore, parse_utc, to_epoch_us

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000

# URL path -> (JSONL file relative to the scenario, id field)
ENDPOINTS: dict[str, tuple[str, str]] = {
    "/api/v1/immunizations": ("platform/immunizations.jsonl", "record_id"),
    "/api/v1/tickets": ("feedback/tickets.jsonl", "ticket_id"),
}

FAULT_KINDS = ("ok", "429", "500", "502", "503", "slow")


@dataclass
class Faults:
    """What goes wrong, per data request. Mutable while the server runs (tests change it).

    `script`: forced outcomes for the next data requests, consumed in order before the random draws
    (`ok`, `429`, `500`, `502`, `503`, `slow`). `fail_after`: after that many data pages served, every
    data request gets 503 (an upstream outage mid-extraction).
    """

    rate_429: float = 0.0
    retry_after: int = 1
    rate_5xx: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    seed: int = 0
    script: list[str] = field(default_factory=list)
    fail_after: int | None = None


class BadRequest(ValueError):
    """A query parameter is missing its form or range; answered with 400."""


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, scenario_dir: Path, host: str, port: int, token: str, faults: Faults) -> None:
        self.scenario_dir = Path(scenario_dir)
        self.token = token
        self.faults = faults
        self.stores = {
            path: EndpointStore(self.scenario_dir / rel, id_field) for path, (rel, id_field) in ENDPOINTS.items()
        }
        self.pages_served = 0
        self.requests_seen = 0
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._closing = False
        super().__init__((host, port), SimulatorHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def draw_fault(self) -> tuple[str, bool]:
        """(outcome, slow) for the next data request."""
        faults = self.faults
        with self._lock:
            self.requests_seen += 1
            if faults.script:
                outcome = faults.script.pop(0)
                return ("ok", True) if outcome == "slow" else (outcome, False)
            if faults.fail_after is not None and self.pages_served >= faults.fail_after:
                return "503", False
            draw = self._rng.random()
            if draw < faults.rate_429:
                outcome = "429"
            elif draw < faults.rate_429 + faults.rate_5xx:
                outcome = self._rng.choice(("500", "502", "503"))
            else:
                outcome = "ok"
            return outcome, self._rng.random() < faults.rate_slow

    def count_page(self) -> None:
        with self._lock:
            self.pages_served += 1

    def handle_error(self, request: object, client_address: object) -> None:
        if self._closing:  # a handler still running after shutdown (e.g. a slow response): expected
            log.debug("request still in flight at shutdown failed", exc_info=True)
        else:
            log.exception("request failed")

    def server_close(self) -> None:
        self._closing = True
        super().server_close()
        for store in self.stores.values():
            store.close()


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SimulatorServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        # Request lines carry only timestamps and cursors, still: debug level only.
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        try:
            self._route()
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away before the response was sent")

    def _route(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/health":
            self._send_json(200, {"status": "ok", **{p: len(s) for p, s in self.server.stores.items()}})
            return
        store = self.server.stores.get(parts.path)
        if store is None:
            self._send_json(404, {"error": "not_found"})
            return
        if not self._authorized():
            self._send_json(401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"})
            return
        outcome, slow = self.server.draw_fault()
        if slow:
            time.sleep(self.server.faults.slow_seconds)
        if outcome != "ok":
            self._send_fault(outcome)
            return
        try:
            body = _page_body(store, parse_qs(parts.query, keep_blank_values=True))
        except BadRequest as exc:
            self._send_json(400, {"error": "bad_request", "detail": str(exc)})
            return
        self.server.count_page()
        self._send(200, body)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        return hmac.compare_digest(header.encode(), f"Bearer {self.server.token}".encode())

    def _send_fault(self, outcome: str) -> None:
        if outcome == "429":
            retry_after = str(self.server.faults.retry_after)
            self._send_json(429, {"error": "rate_limited"}, {"Retry-After": retry_after})
        else:
            self._send_json(int(outcome), {"error": "upstream_unavailable"})

    def _send_json(self, status: int, payload: dict[str, object], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest(f"{name} given more than once")
    return values[0] or None


def _time_param(query: dict[str, list[str]], name: str) -> int | None:
    text = _single(query, name)
    if text is None:
        return None
    try:
        return to_epoch_us(parse_utc(text))
    except ValueError as exc:
        raise BadRequest(f"{name} is not an ISO-8601 timestamp") from exc


def _limit_param(query: dict[str, list[str]]) -> int:
    text = _single(query, "limit")
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError as exc:
        raise BadRequest("limit is not an integer") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be within 1..{MAX_LIMIT}")
    return limit


def encode_cursor(position: int, since_us: int | None, until_us: int | None) -> str:
    text = f"v1:{position}:{'' if since_us is None else since_us}:{'' if until_us is None else until_us}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, since_us: int | None, until_us: int | None) -> int:
    """The position a cursor resumes at; it must come from a query with the same window."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, position, since, until = text.split(":")
        valid = version == "v1" and since == ("" if since_us is None else str(since_us)) and until == (
            "" if until_us is None else str(until_us)
        )
        if valid:
            return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequest("cursor is not valid for this query")


def _page_body(store: EndpointStore, query: dict[str, list[str]]) -> bytes:
    since_us = _time_param(query, "updated_since")
    until_us = _time_param(query, "updated_until")
    if since_us is not None and until_us is not None and since_us > until_us:
        raise BadRequest("updated_since is after updated_until")
    limit = _limit_param(query)
    window = store.window(since_us, until_us)
    start = window.start
    cursor = _single(query, "cursor")
    if cursor is not None:
        start = decode_cursor(cursor, since_us, until_us)
        if not window.start <= start <= window.end:
            raise BadRequest("cursor is not valid for this query")
    end = min(start + limit, window.end)
    next_cursor = b"null" if end >= window.end else b'"' + encode_cursor(end, since_us, until_us).encode() + b'"'
    return b"".join((b'{"data":[', b",".join(store.page_items(start, end)), b'],"next_cursor":', next_cursor, b"}"))


def make_server(
    scenario_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str = "dev-token",
    **faults: object,
) -> SimulatorServer:
    """A bound (not yet serving) simulator; `faults` are the fields of `Faults`. Port 0 picks a free port."""
    return SimulatorServer(Path(scenario_dir), host, port, token, Faults(**faults))  # type: ignore[arg-type]


@contextlib.contextmanager
def serve_in_thread(
    scenario_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str = "dev-token",
    **faults: object,
) -> Iterator[SimulatorServer]:
    """Run a simulator in a background thread for the duration of the block (tests, local runs)."""
    server = make_server(scenario_dir, host, port, token=token, **faults)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
