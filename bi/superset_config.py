"""Superset's configuration for vaxclean (SUPERSET_CONFIG_PATH points here): everything from the environment.

`make bi` (vaxclean.bi) sets the environment for the embedded default: SQLite metadata and a secret key
generated once per Superset home (mode 0600); docker-compose sets it for the deployment (PostgreSQL
metadata, the key from the .env file). Superset refuses to start without SUPERSET_SECRET_KEY.

Security choices, and why:
- DASHBOARD_RBAC: a dashboard lists the roles that may open it (the data team's operations dashboard is
  not a reviewer's); row-level security restricts district reviewers to their district's rows.
- no caching of query results: a new publication of the BI layer is visible at the next query.
- file uploads off, SQL Lab only for roles granted it (never the reviewers), template processing off.
"""

from __future__ import annotations

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URI"]

FEATURE_FLAGS = {
    "DASHBOARD_RBAC": True,
    "ENABLE_TEMPLATE_PROCESSING": False,
    "ALERT_REPORTS": False,
}

# Vietnamese number format in charts: 1.234.567,8
D3_FORMAT = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]}
D3_TIME_FORMAT = {
    "dateTime": "%d/%m/%Y %H:%M:%S", "date": "%d/%m/%Y", "time": "%H:%M:%S",
    "periods": ["SA", "CH"],
    "days": ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"],
    "shortDays": ["CN", "T2", "T3", "T4", "T5", "T6", "T7"],
    "months": ["Tháng 1", "Tháng 2", "Tháng 3", "Tháng 4", "Tháng 5", "Tháng 6", "Tháng 7", "Tháng 8",
               "Tháng 9", "Tháng 10", "Tháng 11", "Tháng 12"],
    "shortMonths": ["Th1", "Th2", "Th3", "Th4", "Th5", "Th6", "Th7", "Th8", "Th9", "Th10", "Th11", "Th12"],
}

# Results are never cached: the BI layer is replaced by each publication, readers must see the new one.
# (Filter state and explore form data keep Superset's default: its metadata database, shared by the workers.)
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
RATELIMIT_STORAGE_URI = "memory://"

# Superset opens an analytics database per query (NullPool) and the BI database's URI is the fixed path
# published/bi.duckdb: a query after a publication opens the new file. A query that overlaps an open
# connection of its worker to the same path may still read the previous one (DuckDB shares an open file per
# path within a process).
PREVENT_UNSAFE_DB_CONNECTIONS = True
SQLLAB_CTAS_NO_LIMIT = False
ALLOWED_USER_CSV_SCHEMA_FUNC = None
CSV_EXTENSIONS: set[str] = set()
EXCEL_EXTENSIONS: set[str] = set()
COLUMNAR_EXTENSIONS: set[str] = set()

# The page is served on 127.0.0.1 by `make bi`, behind a proxy with TLS in a deployment.
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_COOKIE_SECURE", "false").lower() == "true"
TALISMAN_ENABLED = os.environ.get("SUPERSET_TALISMAN", "true").lower() == "true"
CONTENT_SECURITY_POLICY_WARNING = False
WTF_CSRF_ENABLED = True

APP_NAME = "vaxclean"
LOGO_TOOLTIP = "vaxclean: dữ liệu tiêm chủng COVID-19"
BABEL_DEFAULT_LOCALE = "en"
ROW_LIMIT = 50000
SQL_MAX_ROW = 100000
SUPERSET_WEBSERVER_TIMEOUT = 120
