"""What runs inside Superset, in its own environment: `python -m vaxclean.bi.superset_admin <command>`.

Started by vaxclean.bi (`make bi`, the tests, the benchmark) with SUPERSET_CONFIG_PATH=bi/superset_config.py
and the plugins folder on PYTHONPATH. Every command is idempotent:

- `init`: the metadata database migrated, Superset's own roles and permissions synced (`superset db
  upgrade` + `superset init`, skipped when the Superset version already did them), an admin user;
- `import --assets bi/assets --bi-db published/bi.duckdb`: the assets (database, datasets, charts,
  dashboards: YAML in the repository) imported over what is there, by UUID (a second import changes
  nothing and duplicates nothing), the database pointed at the BI file, read-only and sandboxed; then the
  roles, row-level security and dashboard access (REVIEWER_DASHBOARDS for reviewers, every other one for
  the data team only);
- `export --assets bi/assets`: the assets as they are now (edits made in the UI) back into the folder;
- `users --csv users.csv --passwords out.csv`: users from a CSV, new ones with a generated password
  (written mode 0600);
- `time-charts`: every chart's query through Superset's own data path, timed (the benchmark's figures).

Roles: `vaxclean_reviewer` (the dashboards and their datasets; no SQL Lab, no upload, no other data),
`vaxclean_district_<code>` (nothing but row-level security: `district_code = '<code>'` on every dataset
a reviewer reads; one per district of the reference units), `vaxclean_data_team` (every BI dataset, SQL
Lab on the BI database only). A province reviewer has the reviewer role, a district reviewer also the
district's role.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import secrets
import statistics
import sys
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from vaxclean.bi.safety import check_bi_file

DATABASE_NAME = "vaxclean_bi"
# the database URI the committed assets carry: docker-compose mounts the published volume at /published
DB_URI_PLACEHOLDER = "duckdb:////published/bi.duckdb"
# read-only, and no file system access from SQL (no ATTACH of another file, no read_csv, no COPY, no extensions)
DB_EXTRA = {"engine_params": {"connect_args": {
    "read_only": True, "config": {"enable_external_access": False, "lock_configuration": True}}},
    "allows_virtual_table_explore": True, "disable_data_preview": False}
REVIEWER_ROLE = "vaxclean_reviewer"
DATA_TEAM_ROLE = "vaxclean_data_team"
DISTRICT_ROLE = "vaxclean_district_{code}"
RLS_PREFIX = "vaxclean district "
# the BI tables a reviewer may read: each has district_code, so row-level security applies to every row
REVIEWER_TABLES = ("complaint_tracking", "kpi_commune_daily", "kpi_province_summary", "person_vaccination",
                   "dose_reconciliation", "worklist_commune_daily")
# the dashboards reviewers open; every other dashboard (the data team's, and any made in the UI) is the data
# team's until it is added here, and a reviewer dashboard may only use datasets with row-level security
REVIEWER_DASHBOARDS = ("giai-quyet-phan-anh", "bang-dieu-hanh-tinh")
# Superset's own view menus a reviewer may not have, even through Gamma's defaults
REVIEWER_DENIED_MENUS = ("SQL Lab", "SQL Editor", "Saved Queries", "Query Search", "Upload a CSV",
                         "Upload Excel", "Upload a Columnar file", "Row Level Security", "List Users", "List Roles")
USER_KINDS = ("admin", "data_team", "province_reviewer", "district_reviewer")
STAMP = "vaxclean_init.json"


def _log(message: str) -> None:
    print(message, flush=True)


@contextmanager
def superset_app() -> Iterator[Any]:
    """Superset's Flask app with its context pushed (the configuration comes from SUPERSET_CONFIG_PATH)."""
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        yield app


@contextmanager
def as_admin() -> Iterator[Any]:
    from superset import security_manager
    from superset.utils.core import override_user

    admin = security_manager.find_user(username=os.environ.get("SUPERSET_ADMIN_USERNAME", "admin"))
    if admin is None:
        raise SystemExit("no admin user: run `init` first")
    with override_user(admin):
        yield admin


# ---------------------------------------------------------------------------------------------- init


def cmd_init(args: argparse.Namespace) -> int:
    """Migrate and sync Superset's metadata (once per Superset version) and make sure the admin exists."""
    home = Path(os.environ["SUPERSET_HOME"])
    with superset_app() as app:
        from flask_migrate import upgrade
        from superset import appbuilder, security_manager

        version = app.config.get("VERSION_STRING", "?")
        # which metadata database was migrated, without its URI (it may carry a password)
        metadata = hashlib.sha256(os.environ["SUPERSET_METADATA_URI"].encode()).hexdigest()[:16]
        stamp = home / STAMP
        done = json.loads(stamp.read_text()) if stamp.exists() else {}
        if done.get("version") != version or done.get("metadata") != metadata:
            started = time.monotonic()
            upgrade()
            appbuilder.add_permissions(update_perms=True)
            security_manager.sync_role_definitions()
            stamp.write_text(json.dumps({"version": version, "metadata": metadata}))
            _log(f"superset: metadata migrated and roles synced in {time.monotonic() - started:.1f}s")
        username = os.environ.get("SUPERSET_ADMIN_USERNAME", "admin")
        if security_manager.find_user(username=username) is None:
            password = os.environ.get("SUPERSET_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            security_manager.add_user(username, "Quản trị", "vaxclean", f"{username}@vaxclean.invalid",
                                      security_manager.find_role("Admin"), password=password)
            if args.passwords:
                _write_passwords(Path(args.passwords), {username: password})
            _log(f"superset: admin user {username} created")
    return 0


# -------------------------------------------------------------------------------------------- assets


def read_assets(folder: Path, bi_db: Path | None) -> dict[str, str]:
    """The asset folder as Superset's import bundle ({path: YAML text}); each file is parsed here first so
    that a broken one is named, and the database is pointed at `bi_db` (read-only, sandboxed)."""
    contents: dict[str, str] = {}
    for path in sorted(folder.rglob("*.yaml")):
        relative = path.relative_to(folder).as_posix()
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise SystemExit(f"asset {path}: not valid YAML ({error})") from None
        if not isinstance(config, dict):
            raise SystemExit(f"asset {path}: not a YAML mapping")
        if relative.startswith("databases/") and bi_db is not None:
            # the fixed path (a link to the current publication), not what it resolves to now: every query
            # opens it again and so reads the newest publication
            config["sqlalchemy_uri"] = f"duckdb:///{Path(bi_db).absolute()}"
            config["extra"] = DB_EXTRA
            config["allow_file_upload"] = False
            config["allow_dml"] = False
        contents[relative] = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    if "metadata.yaml" not in contents:
        raise SystemExit(f"asset folder {folder}: no metadata.yaml")
    return contents


def _validation_errors(error: Exception) -> str:
    """The files and fields an import refused, one per line."""
    messages = getattr(error, "normalized_messages", lambda: {})()
    lines = [f"  {name}: {json.dumps(problem, ensure_ascii=False)}" for name, problem in sorted(messages.items())]
    return "\n".join(lines) or f"  {error}"


def _wait_for(bi_db: Path, seconds: float) -> None:
    """Wait (a deployment's first start) until the pipeline has published a BI layer, at most `seconds`."""
    deadline, told = time.monotonic() + seconds, 0.0
    while not bi_db.exists() and time.monotonic() < deadline:
        if time.monotonic() - told > 300:
            _log(f"superset: waiting for the first publication of the BI layer at {bi_db}")
            told = time.monotonic()
        time.sleep(10)


def cmd_import(args: argparse.Namespace) -> int:
    bi_db = Path(args.bi_db)
    _wait_for(bi_db, args.wait_seconds)
    tables = check_bi_file(bi_db)
    contents = read_assets(Path(args.assets), bi_db)
    with superset_app():
        from superset import db
        from superset.commands.exceptions import CommandInvalidError
        from superset.commands.importers.v1.assets import ImportAssetsCommand

        with as_admin():
            try:
                ImportAssetsCommand(contents).run()
            except CommandInvalidError as error:
                print(f"import of {args.assets} refused:\n{_validation_errors(error)}", file=sys.stderr)
                return 1
            except Exception as error:  # noqa: BLE001 (name what failed; the traceback is Superset's)
                print(f"import of {args.assets} failed: {type(error).__name__}: {error}", file=sys.stderr)
                return 1
            counts = _asset_counts()
            districts = _districts(bi_db)
            _roles_and_security(districts, tables)
            db.session.commit()
    _log(f"superset: assets imported from {args.assets} ({json.dumps(counts)}); "
         f"{len(districts)} district roles with row-level security")
    return 0


def _asset_counts() -> dict[str, int]:
    from superset import db
    from superset.connectors.sqla.models import SqlaTable
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard
    from superset.models.slice import Slice

    return {"databases": db.session.query(Database).count(), "datasets": db.session.query(SqlaTable).count(),
            "charts": db.session.query(Slice).count(), "dashboards": db.session.query(Dashboard).count()}


def _districts(bi_db: Path) -> dict[str, str]:
    """{district_code: name} of the reference units published in the BI layer."""
    import duckdb

    with duckdb.connect(str(Path(bi_db).absolute()), read_only=True) as con:
        return dict(con.execute("select distinct district_code, district_name from marts.ref_admin_units "
                                "order by 1").fetchall())


def _roles_and_security(districts: dict[str, str], tables: list[str]) -> None:
    """The vaxclean roles, their dataset permissions, one row-level security filter per district, and which
    roles may open which dashboard. Re-running replaces them (idempotent)."""
    from superset import db, security_manager
    from superset.connectors.sqla.models import RowLevelSecurityFilter, SqlaTable
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard
    from superset.utils.core import RowLevelSecurityFilterType

    missing = [t for t in REVIEWER_TABLES if f"marts.{t}" not in tables]
    if missing:
        raise SystemExit(f"the BI layer lacks {', '.join(missing)}: it is older than these dashboards")
    database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one()
    datasets = db.session.query(SqlaTable).filter_by(database_id=database.id).all()
    reviewer_sets = [d for d in datasets if d.table_name in REVIEWER_TABLES]
    gamma = security_manager.find_role("Gamma")
    sql_lab = security_manager.find_role("sql_lab")

    reviewer = security_manager.add_role(REVIEWER_ROLE)
    denied = set(REVIEWER_DENIED_MENUS)
    reviewer.permissions = [p for p in gamma.permissions if p.view_menu.name not in denied
                            and not p.permission.name.startswith("can_upload")]
    reviewer.permissions += [_datasource_permission(d) for d in reviewer_sets]

    team = security_manager.add_role(DATA_TEAM_ROLE)
    team.permissions = list({*gamma.permissions, *(sql_lab.permissions if sql_lab else [])})
    team.permissions += [_datasource_permission(d) for d in datasets]
    team.permissions.append(security_manager.add_permission_view_menu("database_access", database.perm))

    existing = {f.name: f for f in db.session.query(RowLevelSecurityFilter).all()}
    for code, name in districts.items():
        role = security_manager.add_role(DISTRICT_ROLE.format(code=code))
        role.permissions = []
        rls = existing.pop(RLS_PREFIX + code, None) or RowLevelSecurityFilter(name=RLS_PREFIX + code)
        rls.filter_type = RowLevelSecurityFilterType.REGULAR
        rls.clause = f"district_code = '{code}'"
        rls.group_key = "district"
        rls.description = f"Chỉ dữ liệu của {name}"
        rls.tables = reviewer_sets
        rls.roles = [role]
        db.session.add(rls)
    for stale in existing.values():
        if stale.name.startswith(RLS_PREFIX):
            db.session.delete(stale)

    admin = security_manager.find_role("Admin")
    protected = {d.id for d in reviewer_sets}
    for dashboard in db.session.query(Dashboard).all():
        if dashboard.slug in REVIEWER_DASHBOARDS:
            unprotected = sorted({chart.datasource.table_name for chart in dashboard.slices
                                  if chart.datasource_id not in protected})
            if unprotected:
                raise SystemExit(f"dashboard {dashboard.slug} is for reviewers but reads {', '.join(unprotected)}, "
                                 "which has no row-level security by district: not imported")
            dashboard.roles = [reviewer, team, admin]
        else:
            dashboard.roles = [team, admin]
    db.session.flush()


def _datasource_permission(dataset: Any) -> Any:
    from superset import security_manager

    return security_manager.add_permission_view_menu("datasource_access", dataset.get_perm())


def asset_file_name(name: str, config: dict[str, Any]) -> str:
    """A stable file name for an exported asset (Superset's own carries the database id, which differs from
    one Superset to the next): databases/<name>, datasets/<database>/<table>, charts/<name>,
    dashboards/<slug>, in ASCII."""
    kind = name.split("/", 1)[0]
    if kind == "databases":
        stem = config["database_name"]
    elif kind == "datasets":
        return f"datasets/{name.split('/')[1]}/{_ascii(config['table_name'])}.yaml"
    elif kind == "charts":
        stem = config["slice_name"]
    elif kind == "dashboards":
        stem = config.get("slug") or config["dashboard_title"]
    else:
        return name
    return f"{kind}/{_ascii(stem)}.yaml"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def cmd_export(args: argparse.Namespace) -> int:
    """Write the assets as Superset holds them now into the folder (replacing its YAML files)."""
    folder = Path(args.assets)
    with superset_app(), as_admin():
        from superset.commands.export.assets import ExportAssetsCommand

        files = {name: content() for name, content in ExportAssetsCommand().run()}
    exported: dict[str, str] = {}
    for name, text in sorted(files.items()):
        config = yaml.safe_load(text)
        if name == "metadata.yaml":
            config = {"version": "1.0.0", "type": "assets"}  # without the export's time: no diff per export
        elif name.startswith("databases/"):
            config["sqlalchemy_uri"] = DB_URI_PLACEHOLDER  # the machine's path never reaches the repository
            config["extra"] = DB_EXTRA
        elif name.startswith("charts/") and config.get("query_context"):
            # one spelling of the saved query (Superset re-serialises it on import): no diff per round trip
            config["query_context"] = json.dumps(json.loads(config["query_context"]), sort_keys=True,
                                                 ensure_ascii=False, separators=(",", ":"))
        target = asset_file_name(name, config)
        if target in exported:
            raise SystemExit(f"two assets would be written to {target}: give them different names")
        exported[target] = yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=120)
    for old in folder.rglob("*.yaml"):
        old.unlink()
    for target, text in exported.items():
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _log(f"superset: {len(exported)} asset files written to {folder}")
    return 0


# --------------------------------------------------------------------------------------------- users


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    """Append username,password lines to a file only its owner can read (`-`: print them, e.g. from a
    container whose files nobody keeps)."""
    if str(path) == "-":
        writer = csv.writer(sys.stdout)
        writer.writerows([["username", "password"], *passwords.items()])
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if handle.tell() == 0:
            writer.writerow(["username", "password"])
        for username, password in passwords.items():
            writer.writerow([username, password])


def cmd_users(args: argparse.Namespace) -> int:
    """Create or update users from a CSV: username, first_name, last_name, email, kind, district_code."""
    with open(args.csv, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    problems = []
    for number, row in enumerate(rows, start=2):
        kind = (row.get("kind") or "").strip()
        if not (row.get("username") or "").strip():
            problems.append(f"line {number}: no username")
        if kind not in USER_KINDS:
            problems.append(f"line {number}: kind {kind!r} is not one of {', '.join(USER_KINDS)}")
        if kind == "district_reviewer" and not (row.get("district_code") or "").strip():
            problems.append(f"line {number}: a district reviewer needs a district_code")
    if problems:
        print(f"{args.csv}:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    created: dict[str, str] = {}
    with superset_app():
        from superset import db, security_manager

        for row in rows:
            username, kind = row["username"].strip(), row["kind"].strip()
            roles = _roles_of(kind, (row.get("district_code") or "").strip())
            if any(role is None for role in roles):
                print(f"{args.csv}: user {username}: role missing (import the assets first: district "
                      f"{row.get('district_code')!r} unknown?)", file=sys.stderr)
                return 2
            user = security_manager.find_user(username=username)
            if user is None:
                password = secrets.token_urlsafe(12)
                user = security_manager.add_user(username, row.get("first_name") or username,
                                                 row.get("last_name") or "-",
                                                 row.get("email") or f"{username}@vaxclean.invalid", roles,
                                                 password=password)
                if not user:
                    print(f"{args.csv}: user {username} could not be created", file=sys.stderr)
                    return 1
                created[username] = password
            else:
                user.roles = roles
                user.active = True
        db.session.commit()
    if created:
        _write_passwords(Path(args.passwords), created)
    _log(f"superset: {len(rows)} users ({len(created)} new, passwords in {args.passwords})")
    return 0


def _roles_of(kind: str, district: str) -> list[Any]:
    from superset import security_manager

    names = {"admin": ["Admin"], "data_team": [DATA_TEAM_ROLE], "province_reviewer": [REVIEWER_ROLE],
             "district_reviewer": [REVIEWER_ROLE, DISTRICT_ROLE.format(code=district)]}[kind]
    return [security_manager.find_role(name) for name in names]


# ------------------------------------------------------------------------------------------- timings


def cmd_time_charts(args: argparse.Namespace) -> int:
    """Run every chart's saved query (its query_context) through Superset's data path `repeat` times, without
    a cache; print one JSON object: seconds per chart and the p50/p95 over all runs."""
    timings: dict[str, list[float]] = {}
    with superset_app(), as_admin():
        from superset import db
        from superset.charts.schemas import ChartDataQueryContextSchema
        from superset.commands.chart.data.get_data_command import ChartDataCommand
        from superset.models.slice import Slice

        for chart in db.session.query(Slice).order_by(Slice.slice_name).all():
            if not chart.query_context:
                continue
            body = json.loads(chart.query_context)
            body["force"] = True
            for _ in range(args.repeat):
                context = ChartDataQueryContextSchema().load(body)
                started = time.perf_counter()
                result = ChartDataCommand(context).run()
                elapsed = time.perf_counter() - started
                errors = [q.get("error") for q in result["queries"] if q.get("error")]
                if errors:
                    print(f"chart {chart.slice_name!r}: {errors[0]}", file=sys.stderr)
                    return 1
                timings.setdefault(chart.slice_name, []).append(round(elapsed, 4))
    every = sorted(t for values in timings.values() for t in values)
    summary = {
        "charts": len(timings), "runs": len(every),
        "p50_s": round(statistics.median(every), 4) if every else None,
        "p95_s": round(every[min(len(every) - 1, int(0.95 * len(every)))], 4) if every else None,
        "max_s": every[-1] if every else None,
        "per_chart_median_s": {name: round(statistics.median(v), 4) for name, v in sorted(timings.items())},
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vaxclean.bi.superset_admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init")
    p.add_argument("--passwords", help="where to write the admin's generated password (mode 0600)")
    p.set_defaults(func=cmd_init)
    p = sub.add_parser("import")
    p.add_argument("--assets", required=True)
    p.add_argument("--bi-db", required=True)
    p.add_argument("--wait-seconds", type=float, default=0, help="wait this long for a first publication")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("export")
    p.add_argument("--assets", required=True)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("users")
    p.add_argument("--csv", required=True)
    p.add_argument("--passwords", required=True, help="file for the new users' passwords (mode 0600), or -")
    p.set_defaults(func=cmd_users)
    p = sub.add_parser("time-charts")
    p.add_argument("--repeat", type=int, default=3)
    p.set_defaults(func=cmd_time_charts)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", line_buffering=True)
    sys.exit(main())
