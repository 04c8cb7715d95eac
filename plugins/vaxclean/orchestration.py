"""What the DAGs share, kept free of Airflow imports so that it is testable on its own.

Asset names: each intake task emits an event on its raw table's asset when it loaded something new;
the warehouse build DAG is scheduled on any of them, so it runs whenever its raw inputs change.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

RAW_ASSETS: dict[str, str] = {
    "platform_immunizations": "vaxclean_raw_platform_immunizations",
    "feedback_tickets": "vaxclean_raw_feedback_tickets",
    "site_batch_rows": "vaxclean_raw_site_batch_rows",
    "hotline_calls": "vaxclean_raw_hotline_calls",
    "population": "vaxclean_raw_population",
    "police_returns": "vaxclean_raw_police_returns",
}
PUBLISHED_ASSET = "vaxclean_published_marts"


def default_args(retry_minutes: float = 2) -> dict:
    """Task defaults of every DAG: retries from VAXCLEAN_TASK_RETRIES (default 2; `make run` sets 0 to fail
    fast), and a timeout from VAXCLEAN_TASK_TIMEOUT_MINUTES (default 60, far above a province's build:
    docs/scaling.md; a hung task must not hold the DAG's one active run for ever)."""
    return {"retries": int(os.environ.get("VAXCLEAN_TASK_RETRIES") or 2),
            "retry_delay": timedelta(minutes=retry_minutes), "retry_exponential_backoff": True,
            "execution_timeout": timedelta(minutes=float(os.environ.get("VAXCLEAN_TASK_TIMEOUT_MINUTES") or 60))}


ASSET_EXTRA_KEYS = ("load_id", "files_found", "files_loaded", "files_quarantined", "rows_loaded", "rows_quarantined",
                    "received", "loaded", "quarantined", "pages", "version", "mart_rows")


def asset_extra(result: dict) -> dict:
    """What an asset event carries from a load, an extraction or a publication: its counts and ids (the
    Assets view shows them per event; a build's log names which events triggered it)."""
    return {k: result[k] for k in ASSET_EXTRA_KEYS if result.get(k) is not None}


def parse_utc(value: str | datetime | None) -> datetime | None:
    """An ISO-8601 string or datetime as an aware UTC datetime (naive input is taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def extraction_window(
    interval_start: datetime | None,
    interval_end: datetime | None,
    updated_since: str | None = None,
    updated_until: str | None = None,
) -> tuple[datetime, datetime]:
    """The `[since, until)` window an extraction run asks the API for.

    Scheduled runs use their data interval (extended back to the last extracted window after downtime,
    see `extract_api_window`); a run triggered with `updated_since`/`updated_until`
    (a backfill or a replay of history) uses those. A manual run with an empty interval falls back
    to the hour before its logical end, like a scheduled run at that time.
    """
    end = parse_utc(updated_until) or parse_utc(interval_end) or datetime.now(UTC)
    start = parse_utc(updated_since) or parse_utc(interval_start)
    if start is None or start >= end:
        start = end - timedelta(hours=1)
    return start, end


def api_base_url(*, host: str | None, port: int | None, schema: str | None, extra: dict | None = None) -> str:
    """Base URL of an HTTP API from an Airflow connection's fields (`extra.base_url` wins)."""
    if extra and extra.get("base_url"):
        return str(extra["base_url"]).rstrip("/")
    if not host:
        raise ValueError("the API connection has no host")
    if "://" in host:
        base = host
    else:
        base = f"{schema or 'http'}://{host}"
    return f"{base}:{port}".rstrip("/") if port else base.rstrip("/")


def raw_watermark(table_dir: Path, *, before: datetime) -> datetime | None:
    """The newest end of an extracted window (`since=..__until=<ts>.parquet`) at or before `before`.

    Windows ending later (a replay of history, or this very run's own earlier attempt) do not count,
    so a re-run of an interval asks for the same window again and rewrites the same file.
    """
    latest = None
    for path in table_dir.glob("since=*__until=*.parquet"):
        stamp = path.stem.split("__until=", 1)[1]
        try:
            until = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        if until <= before and (latest is None or until > latest):
            latest = until
    return latest


def scheduled_window(since: datetime, until: datetime, *, watermark: datetime | None, lookback: timedelta,
                     resweep: timedelta) -> datetime:
    """The start a scheduled extraction asks from, for its data interval `[since, until)`: back to the end of
    the last extracted window after downtime (`watermark`), then `lookback` earlier, so that a record that
    became visible after its hour ran (with an older `updated_at`) is read by the next run; the run whose
    window ends at midnight UTC goes back `resweep` (a daily re-sweep). Records read twice are one version
    in staging (newest version per record, stg_platform__immunizations / stg_feedback__tickets)."""
    if watermark is not None and watermark < since:
        since = watermark
    since -= lookback
    if resweep and until.astimezone(UTC).time() == datetime.min.time():
        since = min(since, until - resweep)
    return since


def extract_api_window(
    *,
    endpoint: str,
    conn: object,
    interval_start: datetime | None,
    interval_end: datetime | None,
    params: dict | None,
) -> dict:
    """The body of an API extraction task: the connection's URL and token, the window, one raw file.

    `conn` is anything with an Airflow connection's attributes (host, port, schema, password,
    extra_dejson), so that this runs and is tested without Airflow. A run triggered with `updated_since`
    asks for exactly that window; a scheduled one for `scheduled_window`.
    """
    from vaxclean.config import settings
    from vaxclean.extract.api import ENDPOINTS, extract_interval

    params = params or {}
    cfg = settings()
    since, until = extraction_window(interval_start, interval_end, params.get("updated_since"),
                                     params.get("updated_until"))
    if not params.get("updated_since"):
        since = scheduled_window(
            since, until, watermark=raw_watermark(cfg.raw_dir / ENDPOINTS[endpoint].table, before=since),
            lookback=timedelta(minutes=cfg.api_lookback_minutes), resweep=timedelta(days=cfg.api_resweep_days))
    base_url = api_base_url(host=getattr(conn, "host", None), port=getattr(conn, "port", None),
                            schema=getattr(conn, "schema", None), extra=getattr(conn, "extra_dejson", None))
    return extract_interval(base_url=base_url, token=getattr(conn, "password", None) or "", endpoint=endpoint,
                            since=since, until=until, raw_dir=cfg.raw_dir)


LANDING_LOADERS: dict[str, str] = {
    "site_batches": "vaxclean.load:load_site_batches",
    "hotline": "vaxclean.load:load_hotline",
    "population": "vaxclean.load:load_population",
    "police_returns": "vaxclean.load:load_police_returns",
}


def load_landing_source(source: str) -> dict:
    """Load one landing-file source into the raw layer; returns the loader's counts."""
    import importlib

    from vaxclean.config import settings

    module_name, func_name = LANDING_LOADERS[source].split(":")
    loader = getattr(importlib.import_module(module_name), func_name)
    cfg = settings()
    return loader(cfg.landing_dir, cfg.raw_dir)
