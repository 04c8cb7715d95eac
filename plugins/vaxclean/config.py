"""Configuration: every setting comes from an environment variable, with its default here.

| variable | default | meaning |
|---|---|---|
| VAXCLEAN_LANDING_DIR | ./var/landing | where file sources land (site_batches/, hotline/, population/, police_returns/) |
| VAXCLEAN_WAREHOUSE_DIR | ./var/warehouse | raw/ Parquet lake, warehouse.duckdb, published/ |
| VAXCLEAN_PLATFORM_CONN_ID | vaccination_platform | Airflow connection of the platform API (token in the password) |
| VAXCLEAN_FEEDBACK_CONN_ID | feedback_portal | Airflow connection of the feedback portal API |
| VAXCLEAN_API_PAGE_LIMIT | 5000 | page size asked of the APIs |
| VAXCLEAN_API_TIMEOUT_S | 30 | per-request timeout |
| VAXCLEAN_API_MAX_RETRIES | 6 | retries of a 429/5xx/timeout before the task fails |
| VAXCLEAN_API_LOOKBACK_MINUTES | 120 | every scheduled extraction also asks again for this much before its window: a record that became visible late, with an older `updated_at`, is still extracted (staging keeps each record's newest version once) |
| VAXCLEAN_API_RESWEEP_DAYS | 3 | the run whose window ends at midnight UTC asks again for this many days (0: no re-sweep) |
| VAXCLEAN_API_WINDOW_ATTEMPTS | 3 | reads of a window whose pages changed under the cursor before the task fails |
| VAXCLEAN_MAX_FILE_MB | 64 | a landed file larger than this is quarantined unread (a province's site batch is a few MB) |
| VAXCLEAN_MAX_XLSX_CELLS | 5000000 | an XLSX whose first sheet spans more cells (rows × columns, from A1) is quarantined unread |
| VAXCLEAN_MAX_XLSX_EXPANDED_MB | 512 | an XLSX that decompresses to more than this is quarantined unread (a zip bomb) |
| VAXCLEAN_QUARANTINE_MAX_SHARE | 0.05 | raw gate: share of a source's rows since the last publish allowed in quarantine |
| VAXCLEAN_QUARANTINE_MIN_ROWS | 500 | raw gate: a source other than a core one blocks publishing only over this many rows since the last publish (below it, a quarantined file is an incident: alerted, not blocking) |
| VAXCLEAN_CORE_SOURCES | platform,population | sources that block publishing on any wholly quarantined load or a share over the limit |
| VAXCLEAN_POPULATION_MAX_LOSS_SHARE | 0.05 | a new population snapshot listing this share fewer citizens than the previous one is quarantined (a partial export), not made the register |
| VAXCLEAN_ALERT_SMTP_CONN_ID | vaxclean_alerts_smtp | Airflow connection of the alert e-mail (SMTP; recipients in extra `to`); absent = no e-mail |
| VAXCLEAN_ALERT_WEBHOOK_CONN_ID | vaxclean_alerts_webhook | Airflow connection of the chat webhook (extra `url`); absent = no webhook |
| VAXCLEAN_PUBLISH_DEADLINE_HOURS | 26 | alert when nothing has been published for this long (`watch_pipeline`) |
| VAXCLEAN_APPROVAL_TIMEOUT_HOURS | 2 | how long a held build waits for the data team's approval (within the 3 h run timeout) |
| VAXCLEAN_RAW_RETENTION_DAYS | (off) | remove raw personal data older than this: quarantined rows' raw text, population snapshots but the newest (vaxclean.retention) |
| VAXCLEAN_TASK_RETRIES | 2 | retries of a failed Airflow task (not of a deterministic failure: a gate, a dbt test or model error) |
| VAXCLEAN_TASK_TIMEOUT_MINUTES | 60 | execution timeout of every Airflow task |
| VAXCLEAN_ENGINE | duckdb | `spark`: dbt builds on the profile's `spark` target (vaxclean.transform.spark) |
| VAXCLEAN_SPARK_MASTER | local[2] | the local Spark session's master (profile method `session`) |
| VAXCLEAN_SPARK_DRIVER_MEMORY | 4g | driver memory of the local Spark session |
| VAXCLEAN_SPARK_SHUFFLE_PARTITIONS | 8 | spark.sql.shuffle.partitions of the local session (adaptive execution coalesces) |
| VAXCLEAN_DUCKDB_THREADS | 2 | DuckDB threads for the build |
| VAXCLEAN_DUCKDB_MEMORY_LIMIT | 6GB | DuckDB memory limit for the build |
| VAXCLEAN_PSEUDONYM_SECRET | (none: required) | key of the BI layer's citizen pseudonyms (HMAC), at least 32 characters; or |
| VAXCLEAN_PSEUDONYM_SECRET_FILE | (none) | a file holding it (e.g. a Docker secret); else the Airflow variable `vaxclean_pseudonym_secret` |
| VAXCLEAN_RESTRICTED_GROUP | (the process's group) | group that may read the restricted file, worklists and write-back files |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DAGS_DIR = PROJECT_ROOT / "dags"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value else default


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _env(name, default)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    platform_conn_id: str
    feedback_conn_id: str
    api_page_limit: int
    api_timeout_s: float
    api_max_retries: int
    api_lookback_minutes: float
    api_resweep_days: float
    api_window_attempts: int
    max_file_mb: float
    max_xlsx_cells: int
    max_xlsx_expanded_mb: float
    quarantine_max_share: float
    quarantine_min_rows: int
    core_sources: frozenset[str]
    population_max_loss_share: float
    alert_smtp_conn_id: str
    alert_webhook_conn_id: str
    publish_deadline_hours: float
    approval_timeout_hours: float
    raw_retention_days: float | None
    engine: str  # duckdb | spark
    spark_master: str
    spark_driver_memory: str
    spark_shuffle_partitions: int
    duckdb_threads: int
    duckdb_memory_limit: str
    restricted_group: str  # a group name or number; "" = the group the process creates files with

    @property
    def raw_dir(self) -> Path:
        return self.warehouse_dir / "raw"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"


def pseudonym_secret() -> str | None:
    """The BI layer's pseudonym key: VAXCLEAN_PSEUDONYM_SECRET, else the content of the file named by
    VAXCLEAN_PSEUDONYM_SECRET_FILE (stripped), else None. Never part of Settings (whose repr may be logged);
    vaxclean.publish.bi.check_secret refuses a missing or short one."""
    value = os.environ.get("VAXCLEAN_PSEUDONYM_SECRET", "").strip()
    if value:
        return value
    path = os.environ.get("VAXCLEAN_PSEUDONYM_SECRET_FILE", "").strip()
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as error:
            raise RuntimeError(f"VAXCLEAN_PSEUDONYM_SECRET_FILE={path}: cannot read it ({error.strerror})") from None
    return None


def settings() -> Settings:
    """Read the settings now (not at import time), so tests and tasks can set the environment."""
    return Settings(
        landing_dir=Path(_env("VAXCLEAN_LANDING_DIR", str(PROJECT_ROOT / "var" / "landing"))).resolve(),
        warehouse_dir=Path(_env("VAXCLEAN_WAREHOUSE_DIR", str(PROJECT_ROOT / "var" / "warehouse"))).resolve(),
        platform_conn_id=_env("VAXCLEAN_PLATFORM_CONN_ID", "vaccination_platform"),
        feedback_conn_id=_env("VAXCLEAN_FEEDBACK_CONN_ID", "feedback_portal"),
        api_page_limit=int(_env("VAXCLEAN_API_PAGE_LIMIT", "5000")),
        api_timeout_s=float(_env("VAXCLEAN_API_TIMEOUT_S", "30")),
        api_max_retries=int(_env("VAXCLEAN_API_MAX_RETRIES", "6")),
        api_lookback_minutes=float(_env("VAXCLEAN_API_LOOKBACK_MINUTES", "120")),
        api_resweep_days=float(_env("VAXCLEAN_API_RESWEEP_DAYS", "3")),
        api_window_attempts=int(_env("VAXCLEAN_API_WINDOW_ATTEMPTS", "3")),
        max_file_mb=float(_env("VAXCLEAN_MAX_FILE_MB", "64")),
        max_xlsx_cells=int(_env("VAXCLEAN_MAX_XLSX_CELLS", "5000000")),
        max_xlsx_expanded_mb=float(_env("VAXCLEAN_MAX_XLSX_EXPANDED_MB", "512")),
        quarantine_max_share=float(_env("VAXCLEAN_QUARANTINE_MAX_SHARE", "0.05")),
        quarantine_min_rows=int(_env("VAXCLEAN_QUARANTINE_MIN_ROWS", "500")),
        core_sources=frozenset(s.strip() for s in _env("VAXCLEAN_CORE_SOURCES", "platform,population").split(",")
                               if s.strip()),
        population_max_loss_share=float(_env("VAXCLEAN_POPULATION_MAX_LOSS_SHARE", "0.05")),
        alert_smtp_conn_id=_env("VAXCLEAN_ALERT_SMTP_CONN_ID", "vaxclean_alerts_smtp"),
        alert_webhook_conn_id=_env("VAXCLEAN_ALERT_WEBHOOK_CONN_ID", "vaxclean_alerts_webhook"),
        publish_deadline_hours=float(_env("VAXCLEAN_PUBLISH_DEADLINE_HOURS", "26")),
        approval_timeout_hours=float(_env("VAXCLEAN_APPROVAL_TIMEOUT_HOURS", "2")),
        raw_retention_days=float(_env("VAXCLEAN_RAW_RETENTION_DAYS", "0")) or None,
        engine=_choice("VAXCLEAN_ENGINE", "duckdb", ("duckdb", "spark")),
        spark_master=_env("VAXCLEAN_SPARK_MASTER", "local[2]"),
        spark_driver_memory=_env("VAXCLEAN_SPARK_DRIVER_MEMORY", "4g"),
        spark_shuffle_partitions=int(_env("VAXCLEAN_SPARK_SHUFFLE_PARTITIONS", "8")),
        duckdb_threads=int(_env("VAXCLEAN_DUCKDB_THREADS", "2")),
        duckdb_memory_limit=_env("VAXCLEAN_DUCKDB_MEMORY_LIMIT", "6GB"),
        restricted_group=_env("VAXCLEAN_RESTRICTED_GROUP", "").strip(),
    )
