"""What the data team reads inside the Airflow UI, so that nobody needs the server's file system: the gate
reports of each run (a tab on every DAG run), the source-freshness report and the dbt docs (the Browse menu).

A FastAPI app that the Airflow plugin `plugins/vaxclean_ui.py` mounts under `/vaxclean` on the api-server.
Every page needs a signed-in user who may read build_warehouse's runs (Airflow's own auth: the UI's cookie
or a bearer token). Pages render the reports' text, escaped; the reports hold no personal data (masked
examples: vaxclean.gates.report), the dbt docs describe models and columns, not rows.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from vaxclean.config import settings
from vaxclean.raw.layout import safe_name
from vaxclean.state import gate_reports_dir

REPORT_NAME = re.compile(r"^[a-z_]{1,40}$")
RUNS_LISTED = 50
STYLE = ("body{font-family:system-ui,sans-serif;margin:1rem 1.5rem;color:#1f2937}pre{background:#f3f4f6;padding:.8rem;"
         "overflow:auto;font-size:12.5px}table{border-collapse:collapse}td,th{border-bottom:1px solid #e5e7eb;"
         "padding:.25rem .6rem;text-align:left}.fail{color:#b91c1c}.warn{color:#b45309}.pass{color:#15803d}")


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                        f"<style>{STYLE}</style></head><body><h2>{html.escape(title)}</h2>{body}</body></html>")


def _run_dir(run_id: str) -> Path:
    return gate_reports_dir(settings().warehouse_dir) / safe_name(run_id)


def _reports(run_dir: Path) -> list[str]:
    """The report names of a run folder, in build order."""
    order = {"raw": 0, "raw_accepted": 1, "staging": 2, "marts": 3}
    names = [p.stem for p in run_dir.glob("*.json") if REPORT_NAME.match(p.stem)]
    return sorted(names, key=lambda n: (order.get(n, 9), n))


def _verdict(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "<span class='fail'>unreadable</span>"
    if data.get("passed"):
        warnings = data.get("warning_count", 0)
        return f"<span class='{'warn' if warnings else 'pass'}'>passed" + (f", {warnings} warning(s)" if warnings else "") + "</span>"
    if data.get("needs_acceptance"):
        return "<span class='warn'>held for an approval</span>"
    return f"<span class='fail'>failed ({data.get('failure_count', '?')} check(s))</span>"


def create_app() -> FastAPI:
    """The app, every route behind Airflow's authentication and the right to read build_warehouse's runs."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    guard = Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.RUN,
                                        param_dag_id="build_warehouse"))
    app = FastAPI(title="vaxclean reports", dependencies=[guard], docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/reports", response_class=HTMLResponse)
    def runs() -> HTMLResponse:
        root = gate_reports_dir(settings().warehouse_dir)
        folders = sorted((p for p in root.iterdir() if p.is_dir() and _reports(p)), key=lambda p: p.stat().st_mtime,
                         reverse=True)[:RUNS_LISTED] if root.is_dir() else []
        rows = "".join(
            f"<tr><td><a href='reports/{html.escape(p.name)}'>{html.escape(p.name)}</a></td><td>"
            + ", ".join(f"{html.escape(n)}: {_verdict(p / f'{n}.json')}" for n in _reports(p)) + "</td></tr>"
            for p in folders)
        return _page("Gate reports", f"<table><tr><th>run</th><th>gates</th></tr>{rows}</table>" if rows
                     else "<p>No gate report yet.</p>")

    @app.get("/reports/{run_id}", response_class=HTMLResponse)
    def run_reports(run_id: str) -> HTMLResponse:
        run_dir = _run_dir(run_id)
        names = _reports(run_dir) if run_dir.is_dir() else []
        if not names:
            return _page(f"Gate reports of {run_id}", "<p>This run wrote no gate report (not a build, or it "
                         "stopped before its first gate).</p>")
        parts = [f"<h3>{html.escape(n)}: {_verdict(run_dir / f'{n}.json')}</h3>"
                 f"<pre>{html.escape((run_dir / f'{n}.txt').read_text(encoding='utf-8', errors='replace'))}</pre>"
                 for n in names if (run_dir / f"{n}.txt").exists()]
        return _page(f"Gate reports of {run_id}", "".join(parts))

    @app.get("/reports/{run_id}/{name}")
    def report(run_id: str, name: str, format: str = "text"):  # noqa: A002 - the query parameter's name
        if not REPORT_NAME.match(name):
            raise HTTPException(404, "no such report")
        path = _run_dir(run_id) / f"{name}.{'json' if format == 'json' else 'txt'}"
        if not path.is_file():
            raise HTTPException(404, "no such report")
        if format == "json":
            return JSONResponse(json.loads(path.read_text(encoding="utf-8")))
        return _page(f"{name} gate of {run_id}", f"<pre>{html.escape(path.read_text(encoding='utf-8'))}</pre>")

    @app.get("/freshness", response_class=HTMLResponse)
    def freshness() -> HTMLResponse:
        from vaxclean.transform.freshness import previous_report

        data = previous_report(settings().warehouse_dir)
        if not data:
            return _page("Source freshness", "<p>Not checked yet (watch_pipeline runs hourly).</p>")
        rows = "".join(
            f"<tr><td>{html.escape(s['source'])}</td><td class='{html.escape(s['status'].split()[-1])}'>"
            f"{html.escape(s['status'])}</td><td>{html.escape(str(s['max_loaded_at']))}</td>"
            f"<td>{s['hours_since_load']}</td><td>{html.escape(str(s['warn_after']))}</td>"
            f"<td>{html.escape(str(s['error_after']))}</td></tr>" for s in data["sources"])
        return _page("Source freshness", f"<p>Checked {html.escape(data['checked_at'])}.</p><table><tr><th>source"
                     "</th><th>status</th><th>newest load</th><th>hours since</th><th>warn after</th><th>error after"
                     f"</th></tr>{rows}</table>")

    @app.get("/docs")
    def dbt_docs():
        index = settings().warehouse_dir / "dbt" / "target" / "static_index.html"
        if not index.is_file():
            return _page("dbt docs", "<p>Not generated yet: the build's last task (generate_docs) writes them.</p>")
        return FileResponse(index, media_type="text/html")

    return app
