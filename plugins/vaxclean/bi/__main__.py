"""`make bi`: Superset on the BI layer, as code. `python -m vaxclean.bi serve|setup|export|users|time-charts`.

- `serve` (`make bi`): publishes the demo first if the warehouse has no BI layer yet, sets Superset up
  (`setup`) and serves it on 127.0.0.1 until Ctrl-C (which stops every process it started);
- `setup`: Superset's home `<warehouse>/superset/` (SQLite metadata, a secret key generated once, mode
  0600), its metadata migrated, the assets of `bi/assets/` imported (the database pointed read-only at
  `published/bi.duckdb`, never the restricted file), roles with row-level security, the users of
  `bi/demo_users.csv` (passwords in `<warehouse>/superset/passwords.csv`, mode 0600);
- `export` (`make bi-export`): the dashboards, charts and datasets as edited in the UI back into `bi/assets/`;
- `users --csv FILE` (`make bi-users CSV=...`): users from a CSV (username, first_name, last_name, email,
  kind: admin | data_team | province_reviewer | district_reviewer, district_code);
- `time-charts`: every chart's query timed through Superset (the benchmark uses it).

Superset runs from its own environment (`.venv-bi`, `make bi-setup` installs it from `bi/requirements.txt`):
its pins conflict with Airflow's.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from vaxclean import cli
from vaxclean.bi.safety import UnsafeDatabase, check_bi_file
from vaxclean.config import PROJECT_ROOT
from vaxclean.permissions import owner_only_secret

BI_DIR = PROJECT_ROOT / "bi"
ASSETS_DIR = BI_DIR / "assets"
DEMO_USERS = BI_DIR / "demo_users.csv"
DEFAULT_PORT = 8088


def bi_python() -> Path:
    """The Superset environment's interpreter (VAXCLEAN_BI_PYTHON, else .venv-bi of the repository)."""
    path = Path(os.environ.get("VAXCLEAN_BI_PYTHON") or PROJECT_ROOT / ".venv-bi" / "bin" / "python")
    if not path.exists():
        raise SystemExit(f"no Superset environment at {path}: `make bi-setup` installs it")
    return path


# What a Superset process gets of this environment (an allow-list: the pipeline's secrets, the pseudonym key
# and the API tokens, never reach Superset, whatever they are called)
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SUPERSET_METADATA_URI", "SUPERSET_SECRET_KEY",
             "SUPERSET_ADMIN_USERNAME", "SUPERSET_ADMIN_PASSWORD", "SUPERSET_COOKIE_SECURE", "SUPERSET_TALISMAN")


def superset_env(home: Path) -> dict[str, str]:
    """The environment of every Superset process: its configuration, home, metadata and secret key, and the
    few variables of PASSED_ON."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    env = {k: v for k, v in os.environ.items() if k in PASSED_ON}
    env.update({
        "SUPERSET_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(BI_DIR / "superset_config.py"),
        "SUPERSET_SECRET_KEY": (os.environ.get("SUPERSET_SECRET_KEY")
                                or owner_only_secret(home / "secret_key", lambda: secrets.token_urlsafe(48))),
        "SUPERSET_METADATA_URI": os.environ.get("SUPERSET_METADATA_URI") or f"sqlite:///{home / 'superset.db'}",
        "FLASK_APP": "superset",
        "PYTHONPATH": str(PROJECT_ROOT / "plugins"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def admin(home: Path, *args: str, log_file: Path | None = None) -> str:
    """Run a vaxclean.bi.superset_admin command in the Superset environment; returns its output. Raises
    SystemExit with the command's own explanation when it fails."""
    command = [str(bi_python()), "-m", "vaxclean.bi.superset_admin", *args]
    result = subprocess.run(command, env=superset_env(home), capture_output=True, text=True, check=False)
    if log_file is not None:
        with open(log_file, "a", encoding="utf-8") as log:
            log.write(f"$ superset_admin {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        why = [line for line in result.stderr.splitlines() if line.strip()][-12:]
        raise SystemExit(f"superset_admin {args[0]} failed (exit {result.returncode}):\n" + "\n".join(why))
    return result.stdout


def setup(warehouse: Path, *, assets: Path = ASSETS_DIR, users: Path | None = DEMO_USERS) -> Path:
    """Superset's home for this warehouse, ready to serve its BI layer; returns the home."""
    bi_db = warehouse / "published" / "bi.duckdb"
    check_bi_file(bi_db)
    home = warehouse / "superset"
    log_file = home / "setup.log"
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    passwords = home / "passwords.csv"
    steps = [["init", "--passwords", str(passwords)], ["import", "--assets", str(assets), "--bi-db", str(bi_db)]]
    if users is not None:
        steps.append(["users", "--csv", str(users), "--passwords", str(passwords)])
    for step in steps:  # what each step did, in a line; Superset's own chatter goes to the set-up log
        print("\n".join(line for line in admin(home, *step, log_file=log_file).splitlines()
                        if line.startswith("superset:")))
    print(f"superset: ready in {time.monotonic() - started:.1f}s (home {home})")
    return home


def start(home: Path, port: int, log_file: Path) -> subprocess.Popen:
    """gunicorn serving Superset on 127.0.0.1:<port>, in a process group of its own (stopped as one)."""
    gunicorn = bi_python().with_name("gunicorn")
    out = open(log_file, "ab")  # noqa: SIM115 (kept open for the server's lifetime)
    return subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread",
         "--threads", "4", "--timeout", "120", "--limit-request-line", "0", "--limit-request-field_size", "0",
         "superset.app:create_app()"],
        env=superset_env(home), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def port_is_free(port: int) -> bool:
    """Whether a server could listen on the port now. Probed as servers bind (SO_REUSEADDR): a connection
    of the stopped server left in TIME_WAIT does not keep a new server off the port, a listening socket does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse).resolve()
    if not (warehouse / "published" / "bi.duckdb").exists():
        print(f"no BI layer in {warehouse}/published yet: running the pipeline first (as `make run`)")
        code = cli.main(["run", "--warehouse", str(warehouse), "--people", str(args.people), "--seed", str(args.seed)])
        if code:
            return code
    try:
        home = setup(warehouse)
    except UnsafeDatabase as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{args.port}"
    if not port_is_free(args.port):
        print(f"error: port {args.port} of 127.0.0.1 is in use (another Superset?): `make bi BI_PORT=<port>`",
              file=sys.stderr)
        return 2
    proc = start(home, args.port, home / "superset.log")
    # Ctrl-C, SIGTERM and SIGHUP stop the server and every process it started
    cli.stop_on_signals()
    try:
        cli.wait_ready(f"{url}/health", proc, name="Superset", timeout_s=180)
        print(f"""
Superset on {url} (the BI layer {warehouse}/published/bi.duckdb, read-only)
  log in with a user of bi/demo_users.csv; passwords: {home / 'passwords.csv'} (only you can read it)
  dashboards: {url}/dashboard/list/
  a new publication of the BI layer shows at the next query; Ctrl-C stops Superset""")
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as failed:  # Superset did not come up: its log says why
        print(f"error: {failed}; see {home / 'superset.log'}", file=sys.stderr)
        return 1
    finally:
        cli.stop(proc, timeout_s=10)


def cmd_setup(args: argparse.Namespace) -> int:
    try:
        setup(Path(args.warehouse).resolve())
    except UnsafeDatabase as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    home = Path(args.warehouse).resolve() / "superset"
    if not (home / "secret_key").exists() and not os.environ.get("SUPERSET_METADATA_URI"):
        raise SystemExit(f"no Superset home at {home}: run `make bi` and edit there first")
    print(admin(home, "export", "--assets", str(Path(args.assets).resolve())), end="")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    home = Path(args.warehouse).resolve() / "superset"
    passwords = Path(args.passwords or home / "passwords.csv").resolve()
    print(admin(home, "users", "--csv", str(Path(args.csv).resolve()), "--passwords", str(passwords)), end="")
    return 0


def cmd_time_charts(args: argparse.Namespace) -> int:
    home = Path(args.warehouse).resolve() / "superset"
    output = admin(home, "time-charts", "--repeat", str(args.repeat))
    print(json.dumps(json.loads(output.strip().splitlines()[-1]), ensure_ascii=False, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vaxclean.bi", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {"serve": cmd_serve, "setup": cmd_setup, "export": cmd_export, "users": cmd_users,
                "time-charts": cmd_time_charts}
    for name, func in commands.items():
        p = sub.add_parser(name)
        p.add_argument("--warehouse", default=str(PROJECT_ROOT / "var" / "warehouse"))
        p.set_defaults(func=func)
    sub.choices["serve"].add_argument("--port", type=int, default=DEFAULT_PORT)
    sub.choices["serve"].add_argument("--people", type=int, default=20000)
    sub.choices["serve"].add_argument("--seed", type=int, default=7)
    sub.choices["export"].add_argument("--assets", default=str(ASSETS_DIR))
    sub.choices["users"].add_argument("--csv", required=True)
    sub.choices["users"].add_argument("--passwords", default=None, help="default: <warehouse>/superset/passwords.csv")
    sub.choices["time-charts"].add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
