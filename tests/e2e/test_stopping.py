"""`make airflow` and `make run` stop every process they started, within 10 s, on Ctrl-C (SIGINT, also in
a background job, where the shell ignores it) and on SIGTERM, leaving no process and no port held."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from vaxclean.bi.__main__ import port_is_free
from vaxclean.cli import free_port
from vaxclean.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    from vaxclean.scenario import generate

    out = tmp_path_factory.mktemp("stopping") / "scenario"
    generate(out, people=300, seed=5)
    return out


def _start(args: list[str]) -> subprocess.Popen:
    # SIGINT ignored as in a shell's background job: the command must install its own handler
    return subprocess.Popen([sys.executable, "-m", "vaxclean.cli", *args], cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))


def _tree(proc: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children(recursive=True)


def _runs_a_dag(proc: subprocess.Popen) -> bool:
    """Whether an `airflow dags test` is among the command's processes (one that just ended, a zombie until
    reaped, has no command line to read: skipped)."""
    for child in _tree(proc):
        try:
            if "dags" in child.cmdline():
                return True
        except psutil.Error:
            continue
    return False


def _stopped_within(proc: subprocess.Popen, tree: list[psutil.Process], seconds: float) -> tuple[bool, list[str]]:
    """Whether `proc` and every process of `tree` ended within `seconds`; the survivors' command lines."""
    deadline = time.monotonic() + seconds
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False, ["the command itself"]
    _, alive = psutil.wait_procs(tree, timeout=max(0.0, deadline - time.monotonic()))
    return not alive, [_name(p) for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _name(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline()[:4])
    except psutil.Error:
        return f"pid {process.pid}"


def _kill(proc: subprocess.Popen, tree: list[psutil.Process]) -> None:
    for p in [*tree, psutil.Process(proc.pid)] if proc.poll() is None else tree:
        if p.is_running():
            p.kill()


def test_make_airflow_stops_everything_on_ctrl_c(scenario, tmp_path) -> None:
    port = free_port()
    proc = _start(["airflow", "--warehouse", str(tmp_path / "warehouse"), "--scenario", str(scenario),
                   "--port", str(port)])
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, "make airflow exited before Airflow was up"
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            pytest.fail("Airflow did not answer within 240 s")
        time.sleep(5)  # let the scheduler, triggerer and dag processor start their own children
        tree = _tree(proc)
        assert len(tree) >= 4  # the simulator, airflow standalone and its components
        proc.send_signal(signal.SIGINT)
        stopped, survivors = _stopped_within(proc, tree, 10)
        assert stopped, survivors
        assert port_is_free(port)
    finally:
        _kill(proc, tree or (_tree(proc) if proc.poll() is None else []))


def test_make_run_stops_everything_on_sigterm(scenario, tmp_path) -> None:
    proc = _start(["run", "--warehouse", str(tmp_path / "warehouse"), "--scenario", str(scenario)])
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _runs_a_dag(proc):
            assert proc.poll() is None, "make run ended before a DAG ran"
            time.sleep(0.5)
        tree = _tree(proc)
        assert _runs_a_dag(proc), "no `airflow dags test` started"
        proc.send_signal(signal.SIGTERM)
        stopped, survivors = _stopped_within(proc, tree, 10)
        assert stopped, survivors
        assert proc.returncode == 130
    finally:
        _kill(proc, tree or (_tree(proc) if proc.poll() is None else []))
