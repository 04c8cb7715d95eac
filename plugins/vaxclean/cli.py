"""The project's front door: `python -m vaxclean.cli run|airflow` (what `make run` / `make airflow` call).

`run` generates a demo scenario (unless one is given), serves its two APIs with the simulator on a free
local port, runs every DAG through Airflow (`airflow dags test`, SQLite metadata in a temporary
AIRFLOW_HOME), stops the simulator and prints a summary of the published marts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from vaxclean.config import DAGS_DIR, PROJECT_ROOT
from vaxclean.permissions import owner_only_secret

log = logging.getLogger("vaxclean.cli")

# The DAGs in the order a first run needs them; the build is asset-triggered under a scheduler.
RUN_ORDER = ["extract_platform", "extract_feedback", "load_landing", "build_warehouse"]
# A replay of the whole history through the hourly API DAGs (a fixed window: re-runs are idempotent).
REPLAY_WINDOW = {"updated_since": "2020-01-01T00:00:00Z", "updated_until": "2030-01-01T00:00:00Z"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_demo_scenario(out_dir: Path, people: int, seed: int) -> Path:
    """Generate the demo scenario once per (people, seed); later runs reuse it."""
    manifest = out_dir / "truth" / "manifest.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if info.get("people") == people and info.get("seed") == seed:
            print(f"scenario: reusing {out_dir} ({people} people, seed {seed})")
            return out_dir
        shutil.rmtree(out_dir)
    from vaxclean.scenario import generate

    started = time.monotonic()
    generate(out_dir, people=people, seed=seed)
    print(f"scenario: generated {out_dir} ({people} people, seed {seed}) in {time.monotonic() - started:.1f}s")
    return out_dir


@contextlib.contextmanager
def simulator(scenario: Path, log_file: Path) -> Iterator[tuple[str, str]]:
    """Serve the scenario's platform and feedback APIs on a free 127.0.0.1 port; yields (url, token)."""
    port, token = free_port(), secrets.token_urlsafe(16)
    url = f"http://127.0.0.1:{port}"
    with open(log_file, "ab") as out:
        # the token by environment, not on the command line: `ps` shows arguments to every user (and a
        # token_urlsafe token may start with "-", which argparse took for an option)
        proc = subprocess.Popen(
            [sys.executable, "-m", "vaxclean.simulator", "--scenario", str(scenario), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "VAXCLEAN_SIMULATOR_TOKEN": token},
            start_new_session=True,
        )
    try:
        wait_ready(f"{url}/health", proc, name="the simulator")
        yield url, token
    finally:
        stop(proc, timeout_s=5)


def stop(proc: subprocess.Popen, timeout_s: float = 8) -> None:
    """Stop a child started in a session of its own (start_new_session) with everything it started: SIGTERM
    to its process group, then SIGKILL after `timeout_s`. A signal to the child alone leaves its children
    running (`airflow standalone`'s scheduler, api-server, triggerer, dag processor and their workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pass
    # the group leader may be gone while its children still run: the group is killed either way
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT, also in a background job, where the shell ignores it), SIGTERM (`kill`, a service
    manager) and SIGHUP (the terminal closed) raise KeyboardInterrupt: the `finally` blocks stop the
    children."""
    for stopping in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stopping, _interrupt)


def wait_ready(health_url: str, proc: subprocess.Popen, *, name: str, timeout_s: float = 60) -> None:
    """Wait until a server we started (`proc`) answers 200 on `health_url`; RuntimeError naming it when it
    exits first or does not answer within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} before it was ready")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(health_url, timeout=3) as resp:  # noqa: S310 (loopback only)
                if resp.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer on {health_url} within {timeout_s:.0f}s")


SECRET_FILE = Path("secrets") / "pseudonym.key"  # under the warehouse, outside published/


def use_demo_pseudonym_secret(env: dict[str, str], warehouse: Path) -> None:
    """Unless `env` configures the pseudonym key (VAXCLEAN_PSEUDONYM_SECRET[_FILE]), point it at the demo's:
    generated once per warehouse (owner-only, outside `published/`), so that citizen keys stay the same
    across the demo's runs. A deployment configures its own (or the Airflow variable); nothing has a default."""
    if env.get("VAXCLEAN_PSEUDONYM_SECRET") or env.get("VAXCLEAN_PSEUDONYM_SECRET_FILE"):
        return
    owner_only_secret(warehouse / SECRET_FILE, lambda: secrets.token_hex(32))
    env["VAXCLEAN_PSEUDONYM_SECRET_FILE"] = str(warehouse / SECRET_FILE)


def airflow_env(*, airflow_home: Path, scenario: Path, warehouse: Path, api_url: str | None,
                token: str | None) -> dict[str, str]:
    env = dict(os.environ)
    use_demo_pseudonym_secret(env, warehouse)
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        "VAXCLEAN_LANDING_DIR": str(scenario),
        "VAXCLEAN_WAREHOUSE_DIR": str(warehouse),
        "VAXCLEAN_TASK_RETRIES": env.get("VAXCLEAN_TASK_RETRIES", "0"),  # fail fast, do not wait for retries
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT / "plugins"), env.get("PYTHONPATH")])),
        # airflow standalone starts its components as `airflow ...` from PATH: the venv's first
        "PATH": os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")])),
    })
    if api_url:
        host, port = api_url.removeprefix("http://").split(":")
        for conn_id in ("VACCINATION_PLATFORM", "FEEDBACK_PORTAL"):
            env[f"AIRFLOW_CONN_{conn_id}"] = json.dumps(
                {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": token}
            )
    return env


def _airflow(args: list[str], env: dict[str, str], log_file: Path) -> None:
    airflow_bin = str(Path(sys.executable).with_name("airflow"))
    with open(log_file, "ab") as out:
        out.write(f"\n$ airflow {' '.join(args)}\n".encode())
        out.flush()
        # a session of its own: stopped as a group, also when only this process gets the signal (SIGTERM)
        proc = subprocess.Popen([airflow_bin, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            code = proc.wait()
        finally:
            if proc.poll() is None:
                stop(proc)
    if code != 0:
        raise PipelineFailed(f"`airflow {' '.join(args)}` failed (exit code {code})", log_file)


class PipelineFailed(RuntimeError):
    """A DAG run failed; carries the log file and shows the lines that say why."""

    def __init__(self, message: str, log_file: Path) -> None:
        super().__init__(message)
        self.log_file = log_file

    def explain(self) -> str:
        return f"{self}\n{failure_excerpt(self.log_file)}\nfull log: {self.log_file}"


# Lines of a run log that say why a task failed: a gate's summary, dbt's errors, the exception.
_WHY = ("Gate '", "[HARD]", "[SOFT]", "Error in ", "Failure in ", "DbtFailure", "GateFailed", "Error:", "Exception:")


def failure_excerpt(log_file: Path, limit: int = 25) -> str:
    """The log lines that explain a failure (deduplicated, at most `limit`)."""
    seen: list[str] = []
    for line in log_file.read_text(errors="replace").splitlines():
        text = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if any(marker in text for marker in _WHY) and text not in seen and "DeprecatedImport" not in text:
            seen.append(text[:300])
    return "\n".join(f"  {line}" for line in seen[-limit:]) or "  (no explanation found in the log)"


def run_pipeline(*, scenario: Path, warehouse: Path, dags: list[str] | None = None) -> float:
    """Run the DAGs through Airflow on a scenario; returns the wall time. Raises on any failed DAG run."""
    warehouse.mkdir(parents=True, exist_ok=True)
    logs = warehouse / "logs"
    logs.mkdir(exist_ok=True)
    log_file = logs / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vaxclean-airflow-") as home, simulator(scenario, log_file) as (url, tok):
        env = airflow_env(airflow_home=Path(home), scenario=scenario, warehouse=warehouse, api_url=url, token=tok)
        _airflow(["db", "migrate"], env, log_file)
        for dag_id in dags or RUN_ORDER:
            step = time.monotonic()
            conf = ["-c", json.dumps(REPLAY_WINDOW)] if dag_id.startswith("extract_") else []
            _airflow(["dags", "test", dag_id, *conf], env, log_file)
            print(f"  {dag_id:<18} success {time.monotonic() - step:6.1f}s")
    print(f"airflow log: {log_file}")
    return time.monotonic() - started


def print_summary(warehouse: Path) -> None:
    import duckdb

    path = warehouse / "published" / "marts.duckdb"
    with duckdb.connect() as con:
        # attached under another name: in the file itself, catalog and schema are both called "marts"
        con.execute(f"attach '{path}' as pub (read_only)")
        con.execute("use pub.marts")
        print("\nDose records per match status:")
        for status, n in con.execute("select match_status, count(*) from dose_reconciliation "
                                 "group by all order by 2 desc").fetchall():
            print(f"  {status:<14} {n:>9,}")
        kpi = con.execute("""
            select
                (select count(*) from dose_reconciliation) as dose_records,
                (select count(*) from dose_reconciliation
                  where match_status in ('verified', 'corrected', 'probable')) as doses_credited,
                (select count(*) from person_vaccination) as persons_vaccinated,
                (select count(*) filter (where is_primary_series_complete) from person_vaccination)
                    as primary_series_complete,
                (select count(*) filter (where is_passport_eligible) from person_vaccination)
                    as passport_eligible,
                (select count(*) filter (where is_passport_signed) from person_vaccination)
                    as passport_signed,
                (select count(*) filter (where status = 'open') from commune_worklist) as worklist_open,
                (select count(*) filter (where status not in ('resolved', 'rejected'))
                   from complaint_tracking) as complaints_open,
                (select count(*) filter (where is_sla_breached) from complaint_tracking)
                    as complaints_sla_breached
        """)
        print("\nKey figures:")
        names = [d[0] for d in kpi.description]
        for name, value in zip(names, kpi.fetchone(), strict=True):
            print(f"  {name:<24} {value:>9,}")
    print(f"""
Published marts: {path}   (restricted: personal data, owner and group only)
Parquet:         {warehouse / 'published' / 'parquet'}/<mart>.parquet
BI layer:        {warehouse / 'published' / 'bi.duckdb'}   (pseudonymised, for dashboards and BI tools)
Open them:       duckdb -readonly {warehouse / 'published' / 'bi.duckdb'} -c "from marts.complaint_tracking limit 10"
                 (in the restricted marts.duckdb the catalog and the schema are both "marts": marts.marts.<table>)
Dashboards:      make bi   (Superset on http://127.0.0.1:8088; users and passwords in <warehouse>/superset/)
Score them:      make evaluate WAREHOUSE={warehouse}""")


def engine_ready() -> bool:
    """The configured engine can start here; on Spark without Java: one line naming what to install."""
    from vaxclean.config import settings

    if settings().engine != "spark":
        return True
    from vaxclean.transform.spark import EngineUnavailable, java_version

    try:
        java_version()
    except EngineUnavailable as missing:
        print(f"error: {missing}", file=sys.stderr)
        return False
    return True


def cmd_run(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse).resolve()
    if not engine_ready():
        return 2
    if args.scenario:
        scenario = Path(args.scenario).resolve()
        if not scenario.is_dir():
            print(f"error: scenario directory {scenario} does not exist", file=sys.stderr)
            return 2
    else:
        scenario = ensure_demo_scenario(warehouse / "demo_scenario", args.people, args.seed)
    from vaxclean.config import settings

    print(f"running the pipeline through Airflow on {scenario} (engine: {settings().engine})")
    stop_on_signals()
    try:
        seconds = run_pipeline(scenario=scenario, warehouse=warehouse)
    except KeyboardInterrupt as interrupt:
        print(f"\nstopped ({interrupt}): every process the run started was stopped", file=sys.stderr)
        return 130
    except PipelineFailed as exc:
        print(f"\nerror: {exc.explain()}", file=sys.stderr)
        print("The last good marts (if any) are still published.", file=sys.stderr)
        return 1
    print(f"pipeline finished in {seconds:.1f}s")
    print_summary(warehouse)
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    """`airflow standalone` on 127.0.0.1 with the project's DAGs (and the simulator for the scenario)."""
    warehouse = Path(args.warehouse).resolve()
    scenario = Path(args.scenario).resolve() if args.scenario else ensure_demo_scenario(
        warehouse / "demo_scenario", args.people, args.seed)
    home = warehouse / "airflow_home"
    home.mkdir(parents=True, exist_ok=True)
    log_file = warehouse / "simulator.log"
    with simulator(scenario, log_file) as (url, token):
        env = airflow_env(airflow_home=home, scenario=scenario, warehouse=warehouse, api_url=url, token=token)
        env["AIRFLOW__API__HOST"] = "127.0.0.1"
        env["AIRFLOW__API__PORT"] = str(args.port)
        # the workers talk to the api-server's execution API: on our port, not the default 8080
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{args.port}/execution/"
        print(f"Airflow UI on http://127.0.0.1:{args.port} (admin password: {home}/"
              "simple_auth_manager_passwords.json.generated); Ctrl-C stops it.")
        stop_on_signals()
        proc = subprocess.Popen([str(Path(sys.executable).with_name("airflow")), "standalone"], env=env,
                                start_new_session=True)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            return 130
        finally:
            stop(proc)  # the scheduler, api-server, triggerer, dag processor and their workers: the whole group


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vaxclean", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("run", cmd_run), ("airflow", cmd_airflow)):
        p = sub.add_parser(name)
        p.add_argument("--warehouse", default=str(PROJECT_ROOT / "var" / "warehouse"))
        p.add_argument("--scenario", default=None, help="a scenario directory (default: a generated demo)")
        p.add_argument("--people", type=int, default=20000)
        p.add_argument("--seed", type=int, default=7)
        p.set_defaults(func=func)
    sub.choices["airflow"].add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
