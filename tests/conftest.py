"""Test-wide settings: Airflow never touches the developer's home, examples never load."""

from __future__ import annotations

import os
import tempfile

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="vaxclean-test-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# The BI layer's pseudonym key (vaxclean.publish.bi): a fixed test value, long enough to be accepted; the
# tests of a missing or short key unset or override it themselves.
TEST_PSEUDONYM_SECRET = "test-pseudonym-secret-0123456789abcdef"
os.environ.setdefault("VAXCLEAN_PSEUDONYM_SECRET", TEST_PSEUDONYM_SECRET)


# ------------------------------------------------------------------------ alert receivers (vaxclean.alerts)

import email.header  # noqa: E402
import json  # noqa: E402
import socketserver  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

import pytest  # noqa: E402


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (no TLS, no auth) to receive a message: each DATA block is kept, decoded."""

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test smtp\r\n")
        data, lines = False, []
        while line := self.rfile.readline():
            if data:
                if line in (b".\r\n", b".\n"):
                    message = email.message_from_bytes(b"".join(lines))
                    parts = [p.get_payload(decode=True).decode() for p in message.walk() if not p.is_multipart()]
                    self.server.messages.append({"subject": str(email.header.make_header(
                        email.header.decode_header(message["Subject"]))), "to": message["To"],
                        "body": "\n".join(parts)})
                    data, lines = False, []
                    self.wfile.write(b"250 OK\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.messages.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet
        return


@dataclass
class AlertReceivers:
    """A local SMTP server and a local webhook receiver, and the Airflow connections that point at them."""

    smtp_port: int
    webhook_url: str
    mails: list = field(default_factory=list)
    posts: list = field(default_factory=list)

    def connections(self) -> dict[str, str]:
        """AIRFLOW_CONN_* environment variables of the two alert channels."""
        return {
            "AIRFLOW_CONN_VAXCLEAN_ALERTS_SMTP": json.dumps({
                "conn_type": "smtp", "host": "127.0.0.1", "port": self.smtp_port,
                "extra": {"from_email": "vaxclean@example.org", "to": "data-team@example.org",
                          "disable_tls": True, "disable_ssl": True, "timeout": 5, "retry_limit": 0}}),
            "AIRFLOW_CONN_VAXCLEAN_ALERTS_WEBHOOK": json.dumps({"conn_type": "http",
                                                                "extra": {"url": self.webhook_url}}),
        }

    def texts(self) -> list[str]:
        """Everything received, as text."""
        return [m["subject"] + "\n" + m["body"] for m in self.mails] + [json.dumps(p, ensure_ascii=False)
                                                                          for p in self.posts]


def _alert_receivers():
    """Local alert channels: SMTP on a free port and an HTTP receiver, both on 127.0.0.1."""
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    web = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
    smtp.daemon_threads = web.daemon_threads = True
    receivers = AlertReceivers(smtp.server_address[1], f"http://127.0.0.1:{web.server_address[1]}/hooks/vaxclean")
    smtp.messages, web.messages = receivers.mails, receivers.posts
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (smtp, web)]
    for t in threads:
        t.start()
    yield receivers
    for s in (smtp, web):
        s.shutdown()
        s.server_close()


@pytest.fixture
def alert_receivers():
    """Local alert channels for one test (AlertReceivers)."""
    yield from _alert_receivers()


@pytest.fixture(scope="module")
def alert_receivers_module():
    """Local alert channels for a whole test module (AlertReceivers)."""
    yield from _alert_receivers()
