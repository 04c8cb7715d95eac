"""The benchmark harness: stages, each in its own child process, sampled for memory and DuckDB spill.

Stages, in order (each one a fresh Python process, like an Airflow task):

1. generation  `python -m vaxclean.scenario generate` into `<cache>/scenario-p<N>-s<S>/` (cached: reused
               when its manifest says the same people and seed);
2. extraction  the simulator serves the scenario's APIs (a subprocess, as in production) and
               `vaxclean.extract.api.extract_interval` pulls the platform history up to T0 and the tickets;
3. landing     the four landing loaders (`vaxclean.load`) on the scenario directory;
4. build       the functions of `vaxclean.build`, in the DAG's order: gate raw, build staging, gate
               staging, build marts, gate marts, publish (the measured target), then the commune files;
5. baselines   (when `vaxclean.linkage.baselines` exists) the plain Splink link and the exact-match
               baseline on the same warehouse;
6. delta       about `--delta-records` edits and new platform records after T0, served by a second
               simulator and extracted as the next window [T0, T1);
7. incremental the same build steps again on the grown raw layer.

Peak memory: each worker resets its peak RSS per step (`/proc/self/clear_refs`) and reports VmHWM; the
parent samples the whole process tree (worker + simulator) every 0.2 s. Spill: the size of DuckDB's
temporary directories (`<db>.tmp`, `.tmp` in the worker's working directory), sampled likewise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vaxclean.config import settings

log = logging.getLogger("vaxclean.bench")

MIB = 1024 * 1024
BUILD_STEPS = ["gate_raw", "build_staging", "gate_staging", "build_marts", "gate_marts", "publish"]
AFTER_BUILD_STEPS = ["export_commune_files"]
REPLAY_START = datetime(2020, 1, 1, tzinfo=UTC)
TICKETS_UNTIL = datetime(2030, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ memory


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM); false where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """VmHWM of a process in MiB (None when /proc is unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _dir_bytes(path: Path) -> int:
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        total += _dir_bytes(Path(entry.path))
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    except OSError:
        return 0
    return total


def spill_dirs(run_dir: Path) -> list[Path]:
    """DuckDB's temporary directories a build can create: `<db>.tmp` beside each database, `.tmp` in the cwd."""
    warehouse = run_dir / "warehouse"
    return [run_dir / ".tmp", *warehouse.glob("*.tmp"), *(warehouse / "published").glob("*.tmp")]


class Sampler:
    """Samples, every `interval_s`, the RSS of a process tree and the size of the spill directories."""

    def __init__(self, pid: int, run_dir: Path, interval_s: float = 0.2) -> None:
        self.pid, self.run_dir, self.interval_s = pid, run_dir, interval_s
        self.peak_rss = 0
        self.peak_spill = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _tree_rss(self) -> int:
        try:
            import psutil
        except ImportError:  # fall back to the worker alone
            try:
                rss_pages = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1])
            except (OSError, ValueError, IndexError):
                return 0
            return rss_pages * os.sysconf("SC_PAGE_SIZE")
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _loop(self) -> None:
        spill_every = max(1, round(1.0 / self.interval_s))  # the directory walk once a second
        tick = 0
        while not self._stop.wait(self.interval_s):
            self.peak_rss = max(self.peak_rss, self._tree_rss())
            if tick % spill_every == 0:
                self.peak_spill = max(self.peak_spill, sum(_dir_bytes(d) for d in spill_dirs(self.run_dir)))
            tick += 1


# ------------------------------------------------------------------------------------------ workers


PROBE_SQL = "select count(distinct hash(i) % 1000003), sum(hash(i * 7) % 13) from range(8000000) t(i)"
PROBE_NOTE = "fixed DuckDB workload: the machine's speed now (compare builds with it)"


def machine_probe(repeats: int = 3) -> float:
    """Median seconds of a fixed in-memory DuckDB workload on two threads (~0.4 s on a quiet machine here).

    This machine's speed drifts by 15-40 % within an hour (the same build, the same data); a build's time
    is comparable with another run's only together with the probe taken just before it.
    """
    import duckdb

    con = duckdb.connect(config={"threads": 2})
    try:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            con.execute(PROBE_SQL).fetchall()
            times.append(time.perf_counter() - started)
    finally:
        con.close()
    return round(statistics.median(times), 3)


def run_worker(stage: str, params: dict[str, Any], *, run_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one stage in a child process (`python -m vaxclean.bench worker`); returns its result + samples."""
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    out_file = run_dir / "logs" / f"{stage}-{time.strftime('%H%M%S')}.json"
    out_file.unlink(missing_ok=True)
    log_file = run_dir / "logs" / f"{stage}.log"
    started = time.perf_counter()
    with open(log_file, "ab") as log_out:
        proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "vaxclean.bench", "worker", stage, json.dumps(params), str(out_file)],
            cwd=run_dir, env=env, stdout=log_out, stderr=subprocess.STDOUT,
        )
        with Sampler(proc.pid, run_dir) as sampler:
            code = proc.wait()
    seconds = time.perf_counter() - started
    result: dict[str, Any] = json.loads(out_file.read_text()) if out_file.exists() else {}
    result.update({"wall_s": round(seconds, 2), "tree_peak_rss_mib": round(sampler.peak_rss / MIB),
                   "spill_peak_mib": round(sampler.peak_spill / MIB), "exit_code": code})
    if code != 0 and "error" not in result:
        result["error"] = f"worker exited with code {code}; see {log_file}"
    log.info("stage %s: %.1f s, tree peak %d MiB%s", stage, seconds, result["tree_peak_rss_mib"],
             f" ({result['error']})" if "error" in result else "")
    return result


def _start_simulator(scenario: Path, log_file: Path) -> tuple[subprocess.Popen[str], str]:
    with open(log_file, "ab") as err:
        proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "vaxclean.simulator", "--scenario", str(scenario), "--port", "0",
             "--token", "bench-token", "--log-level", "WARNING"],
            stdout=subprocess.PIPE, stderr=err, text=True,
        )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.terminate()
        raise RuntimeError("the simulator did not start")
    return proc, line.split()[-1]


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def worker_extract(params: dict[str, Any]) -> dict[str, Any]:
    """Serve the scenario with the simulator and extract the given windows into the raw layer."""
    from vaxclean.config import settings
    from vaxclean.extract.api import extract_interval

    raw_dir = settings().raw_dir
    proc, url = _start_simulator(Path(params["scenario"]), Path("logs") / "simulator.log")
    steps: dict[str, Any] = {}
    try:
        for endpoint, since, until in params["windows"]:
            reset_peak_rss()
            started = time.perf_counter()
            result = extract_interval(base_url=url, token="bench-token", endpoint=endpoint,
                                      since=datetime.fromisoformat(since), until=datetime.fromisoformat(until),
                                      raw_dir=raw_dir, backoff_base_s=0.1)
            steps[endpoint] = {"seconds": round(time.perf_counter() - started, 2), "records": result["received"],
                               "quarantined": result["quarantined"], "peak_rss_mib": peak_rss_mib()}
        steps["simulator"] = {"peak_rss_mib": peak_rss_mib(proc.pid)}
    finally:
        _stop(proc)
    return {"steps": steps, "records": sum(s.get("records", 0) for s in steps.values())}


def worker_landing(params: dict[str, Any]) -> dict[str, Any]:
    from vaxclean import load
    from vaxclean.config import settings

    cfg = settings()
    steps: dict[str, Any] = {}
    for name in ("site_batches", "hotline", "population", "police_returns"):
        reset_peak_rss()
        started = time.perf_counter()
        counts = getattr(load, f"load_{name}")(cfg.landing_dir, cfg.raw_dir)
        steps[name] = {"seconds": round(time.perf_counter() - started, 2), "records": counts.get("rows_loaded", 0),
                       "files": counts.get("files_loaded", 0), "peak_rss_mib": peak_rss_mib()}
    return {"steps": steps, "records": sum(s["records"] for s in steps.values())}


def _dbt_node_timings(warehouse: Path) -> list[dict[str, Any]]:
    """Per-node execution time of the last dbt build (vaxclean.transform.dbt.NODE_TIMINGS), slowest first."""
    from vaxclean.transform.dbt import NODE_TIMINGS

    path = warehouse / "dbt" / NODE_TIMINGS
    if not path.exists():
        return []
    return [{**n, "seconds": round(n["seconds"], 2)} for n in json.loads(path.read_text()).get("nodes", [])]


def worker_build(params: dict[str, Any]) -> dict[str, Any]:
    """The build steps of `vaxclean.build`, called directly and in the DAG's order."""
    from vaxclean import build
    from vaxclean.config import settings

    warehouse = settings().warehouse_dir
    run_id = params["run_id"]
    steps: dict[str, Any] = {}
    collected: dict[str, Any] = {}
    actions: dict[str, Callable[[], dict]] = {
        "gate_raw": lambda: build.gate("raw", run_id),
        "build_staging": lambda: build.build_layer("staging", run_id),
        "gate_staging": lambda: build.gate("staging", run_id),
        "build_marts": lambda: build.build_layer("marts", run_id),
        "gate_marts": lambda: build.gate("marts", run_id),
        "publish": lambda: build.publish_marts(run_id, {"gates": {}, "builds": collected}),
        "export_commune_files": lambda: build.export_commune_files(run_id),
    }
    for step in params["steps"]:
        reset_peak_rss()
        started = time.perf_counter()
        try:
            outcome = actions[step]()
        except Exception as exc:  # noqa: BLE001 - reported as the stage's error, the figures so far kept
            steps[step] = {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mib": peak_rss_mib(),
                           "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"}
            return {"steps": steps, "error": f"{step} failed"}
        steps[step] = {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mib": peak_rss_mib()}
        if step == "publish":  # the publisher's own split: the BI layer's part is the BI issue's budget
            steps[step]["timings"] = (outcome or {}).get("timings")
        if step.startswith("build_"):
            steps[step]["nodes"] = _dbt_node_timings(warehouse)
            steps[step]["statuses"] = (outcome or {}).get("statuses")
            collected[step] = {k: v for k, v in (outcome or {}).items() if k != "failures"}
    return {"steps": steps, "records": _dose_records(warehouse)}


def _dose_records(warehouse: Path) -> int | None:
    import duckdb

    path = warehouse / "published" / "marts.duckdb"
    if not path.exists():
        return None
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as pub (read_only)")
        return con.execute("select count(*) from pub.marts.dose_reconciliation").fetchall()[0][0]


def worker_baselines(params: dict[str, Any]) -> dict[str, Any]:
    """Time the plain Splink link and the exact-match baseline (`vaxclean.linkage.baselines`) on this run."""
    try:
        from vaxclean.linkage import baselines
    except ImportError:
        # HOOK: the baselines module is not there yet; nothing to time.
        return {"skipped": "vaxclean.linkage.baselines not found"}
    import duckdb

    from vaxclean.config import settings

    warehouse = settings().warehouse_dir
    steps: dict[str, Any] = {}
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse / 'warehouse.duckdb'}' as wh (read_only)")
        baselines._load_truth(con, Path(params["scenario"]))  # noqa: SLF001 - the module's own steps, timed
        reset_peak_rss()
        started = time.perf_counter()
        plain, _ = baselines.plain_splink(con, warehouse / "raw")
        steps["plain_splink"] = {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mib": peak_rss_mib(),
                                 **baselines._scores(con, plain, "t.source = 'platform'")}  # noqa: SLF001
        reset_peak_rss()
        started = time.perf_counter()
        exact = baselines.exact_match(con)
        steps["exact_match"] = {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mib": peak_rss_mib(),
                                **baselines._scores(con, exact)}  # noqa: SLF001
        steps["project"] = baselines._scores(con, baselines.project(con))  # noqa: SLF001
    finally:
        con.close()
    return {"steps": steps}


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "extract": worker_extract, "landing": worker_landing, "build": worker_build, "baselines": worker_baselines,
}


def worker_main(stage: str, params_json: str, out_file: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result = WORKERS[stage](json.loads(params_json))
    except Exception as exc:  # noqa: BLE001 - the parent reports it
        log.exception("stage %s failed", stage)
        result = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"}
    result["worker_peak_rss_mib"] = round(__import__("resource").getrusage(
        __import__("resource").RUSAGE_SELF).ru_maxrss / 1024)
    Path(out_file).write_text(json.dumps(result, default=str))
    return 0 if "error" not in result else 1


# --------------------------------------------------------------------------------------- scenario


def scenario_dir(cache: Path, people: int, seed: int) -> Path:
    return cache / f"scenario-p{people}-s{seed}"


def ensure_scenario(cache: Path, people: int, seed: int, run_dir: Path) -> dict[str, Any]:
    """Generate the scenario once per (people, seed) in a child process; later runs reuse it."""
    target = scenario_dir(cache, people, seed)
    meta_file = cache / f"{target.name}.json"
    manifest = target / "truth" / "manifest.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if info.get("people") == people and info.get("seed") == seed:
            meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
            return {"cached": True, "wall_s": meta.get("wall_s"), "tree_peak_rss_mib": meta.get("tree_peak_rss_mib"),
                    "records": _scenario_records(info), "path": str(target)}
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "vaxclean.scenario", "generate", "--out", str(partial), "--people", str(people),
         "--seed", str(seed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with Sampler(proc.pid, run_dir) as sampler:
        code = proc.wait()
    if code != 0:
        raise RuntimeError(f"scenario generation failed (exit code {code})")
    partial.rename(target)
    meta = {"wall_s": round(time.perf_counter() - started, 2), "tree_peak_rss_mib": round(sampler.peak_rss / MIB)}
    meta_file.write_text(json.dumps(meta))
    info = json.loads(manifest.read_text())
    return {"cached": False, **meta, "records": _scenario_records(info), "path": str(target)}


def _scenario_records(manifest: dict[str, Any]) -> int | None:
    for key in ("dose_records", "records", "doses"):
        value = manifest.get("counts", {}).get(key) if isinstance(manifest.get("counts"), dict) else None
        if isinstance(value, int):
            return value
        if isinstance(manifest.get(key), int):
            return manifest[key]
    return None


def last_updated_at(jsonl: Path) -> datetime:
    """The newest `updated_at` of a platform file (the generator writes it ordered by updated_at)."""
    with open(jsonl, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        lines = [line for line in handle.read().splitlines() if line.strip()]
    newest = max(json.loads(line)["updated_at"] for line in lines[-50:])
    return datetime.fromisoformat(newest.replace("Z", "+00:00")).astimezone(UTC)


def history_end(scenario: Path) -> datetime:
    """T0: the hour after the scenario's last platform version (the history is extracted up to it, the delta
    windows start there)."""
    return (last_updated_at(scenario / "platform" / "immunizations.jsonl") + timedelta(hours=1)).replace(
        minute=0, second=0, microsecond=0)


def write_delta(source_jsonl: Path, out_jsonl: Path, *, records: int, start: datetime, seed: int,
                new_id_prefix: str = "IMM9") -> int:
    """About `records` platform versions after `start`: 78 % edits, 2 % tombstones, 20 % new records.

    Lines are sampled by seeking to random offsets (no full read of a multi-GB file). Edits change the
    phone format and sign the record; new records copy a sampled dose under a new `IMM9…` id.
    """
    rng = random.Random(seed)
    size = source_jsonl.stat().st_size
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    with open(source_jsonl, "rb") as handle:
        while len(out) < records:
            handle.seek(rng.randrange(size))
            handle.readline()  # the rest of a partial line
            line = handle.readline()
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("deleted") or record.get("record_id") in seen:
                continue
            seen.add(record["record_id"])
            at = start + timedelta(seconds=len(out) * 3600 / max(records, 1))
            record["updated_at"] = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            draw = rng.random()
            if draw < 0.02:  # a tombstone: the record is withdrawn
                record["deleted"] = True
            elif draw < 0.8:
                record["signed"] = True
                record["signed_at"] = record.get("signed_at") or at.strftime("%Y-%m-%dT%H:%M:%S+00:00")
                if record.get("phone"):
                    record["phone"] = " ".join(str(record["phone"]).split())
            else:
                record["record_id"] = f"{new_id_prefix}{len(out):0{12 - len(new_id_prefix)}d}"
            out.append(record)
    out_jsonl.parent.mkdir(parents=True, exist_ok=True)
    out_jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    return len(out)


# ---------------------------------------------------------------------------------------- the run


def _env(scenario: Path, warehouse: Path) -> dict[str, str]:
    from vaxclean.cli import use_demo_pseudonym_secret

    env = dict(os.environ)
    use_demo_pseudonym_secret(env, warehouse)  # as `make run`: the run's own key for the BI layer's pseudonyms
    plugins = str(Path(__file__).resolve().parents[2])
    env.update({
        "VAXCLEAN_LANDING_DIR": str(scenario),
        "VAXCLEAN_WAREHOUSE_DIR": str(warehouse),
        "PYTHONPATH": os.pathsep.join(filter(None, [plugins, env.get("PYTHONPATH")])),
    })
    return env


def _stage_row(name: str, seconds: float | None, records: int | None, peak: float | None,
               spill: float | None, note: str = "") -> dict[str, Any]:
    return {"stage": name, "seconds": seconds, "records": records,
            "records_per_s": round(records / seconds) if records and seconds else None,
            "peak_rss_mib": peak, "spill_mib": spill, "note": note}


def _build_rows(prefix: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    records = result.get("records")
    for step, figures in result.get("steps", {}).items():
        note = figures.get("error", "")
        if not note and figures.get("timings"):
            note = ", ".join(f"{k.removesuffix('_s')} {v}" for k, v in figures["timings"].items())
        rows.append(_stage_row(f"{prefix}.{step}", figures.get("seconds"), records if step in BUILD_STEPS else None,
                               figures.get("peak_rss_mib"), None, note))
    total = sum(f.get("seconds") or 0 for s, f in result.get("steps", {}).items() if s in BUILD_STEPS)
    rows.append(_stage_row(prefix, round(total, 2), records, result.get("tree_peak_rss_mib"),
                           result.get("spill_peak_mib"), result.get("error", "") or "gate raw → publish"))
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'stage':<34} {'seconds':>8} {'records':>10} {'rec/s':>9} {'peak MiB':>9} {'spill MiB':>9}  note"
    print(head)
    print("-" * len(head))

    def cell(value: Any, width: int) -> str:
        if value is None:
            return f"{'-':>{width}}"
        return f"{value:>{width},}" if isinstance(value, int) else f"{value:>{width}}"

    for r in rows:
        print(f"{r['stage']:<34} {cell(r['seconds'], 8)} {cell(r['records'], 10)} {cell(r['records_per_s'], 9)} "
              f"{cell(r['peak_rss_mib'], 9)} {cell(r['spill_mib'], 9)}  {r['note']}")


def run_dir_of(cache: Path, people: int, seed: int) -> Path:
    """A benchmark's run directory; one per engine (the same scenario, cached once, feeds both). The build
    workers inherit VAXCLEAN_ENGINE (vaxclean.config)."""
    engine = settings().engine
    return cache / f"run-p{people}-s{seed}{'' if engine == 'duckdb' else '-' + engine}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    cache = Path(args.cache).resolve()
    engine = settings().engine
    run_dir = run_dir_of(cache, args.people, args.seed)
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    warehouse = run_dir / "warehouse"
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {"people": args.people, "seed": args.seed, "engine": engine, "cpus": os.cpu_count(),
                               "started_at": datetime.now(UTC).isoformat(timespec="seconds")}

    gen = ensure_scenario(cache, args.people, args.seed, run_dir)
    scenario = Path(gen["path"])
    figures["generation"] = gen
    rows.append(_stage_row("generation", gen.get("wall_s"), gen.get("records"), gen.get("tree_peak_rss_mib"), None,
                           "cached" if gen["cached"] else ""))
    env = _env(scenario, warehouse)

    t0 = history_end(scenario)
    windows = [["immunizations", REPLAY_START.isoformat(), t0.isoformat()],
               ["tickets", REPLAY_START.isoformat(), TICKETS_UNTIL.isoformat()]]
    ext = run_worker("extract", {"scenario": str(scenario), "windows": windows}, run_dir=run_dir, env=env)
    figures["extraction"] = ext
    rows.append(_stage_row("extraction", ext["wall_s"], ext.get("records"), ext["tree_peak_rss_mib"], None,
                           ext.get("error", "API → raw (simulator subprocess)")))
    land = run_worker("landing", {}, run_dir=run_dir, env=env)
    figures["landing"] = land
    rows.append(_stage_row("landing", land["wall_s"], land.get("records"), land["tree_peak_rss_mib"], None,
                           land.get("error", "")))
    if "error" in ext or "error" in land:
        return _finish(figures, rows, args)

    rows.append(_stage_row("probe", machine_probe(), None, None, None, PROBE_NOTE))
    builds = []
    for attempt in range(args.repeat):
        if attempt:  # a full build again: everything but the raw lake goes (the build stamps and the gates'
            # records too, else the next build is incremental on an empty file)
            for path in warehouse.iterdir():
                if path.name != "raw":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        full = run_worker("build", {"run_id": f"bench_full_{attempt}", "steps": BUILD_STEPS + AFTER_BUILD_STEPS},
                          run_dir=run_dir, env=env)
        builds.append(full)
        if "error" in full:
            break
    full = builds[-1]
    figures["build"] = full
    figures["build_seconds_all"] = [round(sum(f["seconds"] for s, f in b.get("steps", {}).items()
                                              if s in BUILD_STEPS), 2) for b in builds]
    rows.extend(_build_rows("build", full))
    if "error" in full:
        return _finish(figures, rows, args)
    build_s = figures["build_seconds_all"][-1]

    if args.delta_records:
        _delta_and_incremental(figures, rows, args, run_dir, scenario, env, t0, 0)
    if not args.skip_baselines:
        base = run_worker("baselines", {"scenario": str(scenario)}, run_dir=run_dir, env=env)
        figures["baselines"] = base
        for name, fig in base.get("steps", {}).items():
            if "seconds" in fig:
                rows.append(_stage_row(f"baseline.{name}", fig["seconds"], None, fig.get("peak_rss_mib"), None,
                                       f"× build {fig['seconds'] / build_s:.2f}; f1 {fig.get('f1')}"))
        if "skipped" in base or "error" in base:
            rows.append(_stage_row("baselines", None, None, None, None, base.get("skipped") or base.get("error")))
    if not args.skip_dashboards:
        dashboards = time_dashboards(warehouse, run_dir)
        figures["dashboards"] = dashboards
        rows.append(_stage_row("dashboards.chart_query_p95", dashboards.get("p95_s"), None, None, None,
                               dashboards.get("error") or f"p50 {dashboards.get('p50_s')} s, max "
                               f"{dashboards.get('max_s')} s: {dashboards.get('charts')} charts x 3, Superset"))
    return _finish(figures, rows, args)


def time_dashboards(warehouse: Path, run_dir: Path) -> dict[str, Any]:
    """Every dashboard chart's query through Superset (its own environment) on the run's BI layer, three times
    each: p50/p95 (`vaxclean.bi time-charts`). Needs `make bi-setup`; says so when it is missing."""
    from vaxclean.bi import __main__ as bi_cli

    try:
        bi_cli.bi_python()
    except SystemExit as missing:
        return {"error": str(missing)}
    site = run_dir / "bi"
    site.mkdir(exist_ok=True)
    if not (site / "published").exists():
        (site / "published").symlink_to(warehouse / "published")
    try:
        bi_cli.setup(site, users=None)
        output = bi_cli.admin(site / "superset", "time-charts", "--repeat", "3")
    except SystemExit as failed:
        return {"error": str(failed).splitlines()[0]}
    return json.loads(output.strip().splitlines()[-1])


def _delta_and_incremental(figures: dict[str, Any], rows: list[dict[str, Any]], args: argparse.Namespace,
                           run_dir: Path, scenario: Path, env: dict[str, str], t0: datetime, window: int) -> None:
    """Extract delta window `window` ([T0 + 2w h, T0 + 2w + 2 h), seed + w) and time the incremental build."""
    start, end = t0 + timedelta(hours=2 * window), t0 + timedelta(hours=2 * window + 2)
    delta_scenario = run_dir / ("delta_scenario" if window == 0 else f"delta_scenario-{window}")
    delta_n = write_delta(scenario / "platform" / "immunizations.jsonl",
                          delta_scenario / "platform" / "immunizations.jsonl",
                          records=args.delta_records, start=start, seed=args.seed + window,
                          new_id_prefix="IMM9" if window == 0 else f"IMM9{window:02d}")
    delta = run_worker("extract", {"scenario": str(delta_scenario),
                                   "windows": [["immunizations", start.isoformat(), end.isoformat()]]},
                       run_dir=run_dir, env=env)
    figures["delta_extraction"] = delta | {"delta_records": delta_n, "window": window}
    rows.append(_stage_row("delta.extraction", delta["wall_s"], delta.get("records"), delta["tree_peak_rss_mib"],
                           None, f"window [T0+{2 * window}h, T0+{2 * window + 2}h): {delta_n} edits/new records"))
    rows.append(_stage_row("delta.probe", machine_probe(), None, None, None, PROBE_NOTE))
    inc = run_worker("build", {"run_id": f"bench_incremental_{window}", "steps": BUILD_STEPS}, run_dir=run_dir,
                     env=env)
    figures["incremental"] = inc
    rows.extend(_build_rows("incremental", inc))


def replay(args: argparse.Namespace) -> dict[str, Any]:
    """Another incremental build on the run `--keep-run` left: the next delta window, extracted and built
    (minutes saved per try when working on the incremental path; the warehouse moves on each time)."""
    cache = Path(args.cache).resolve()
    engine = settings().engine
    run_dir = run_dir_of(cache, args.people, args.seed)
    scenario = scenario_dir(cache, args.people, args.seed)
    if not (run_dir / "warehouse" / "warehouse.duckdb").exists() or not scenario.exists():
        raise SystemExit(f"--replay needs the run a `--keep-run` benchmark left in {run_dir}")
    window = 1 + max([0, *(int(p.name.rsplit("-", 1)[1]) for p in run_dir.glob("delta_scenario-*"))])
    figures: dict[str, Any] = {"people": args.people, "seed": args.seed, "engine": engine, "cpus": os.cpu_count(),
                               "replay": window,
                               "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    rows: list[dict[str, Any]] = []
    t0 = history_end(scenario)
    _delta_and_incremental(figures, rows, args, run_dir, scenario, _env(scenario, run_dir / "warehouse"), t0, window)
    return _finish(figures, rows, args)


def _finish(figures: dict[str, Any], rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    figures["table"] = rows
    print()
    print_table(rows)
    for label in ("build", "incremental"):
        for step in ("build_staging", "build_marts"):
            nodes = figures.get(label, {}).get("steps", {}).get(step, {}).get("nodes") or []
            if nodes:
                top = ", ".join(f"{n['node']} {n['seconds']}s" for n in nodes[:args.top])
                print(f"{label}.{step} slowest dbt nodes: {top}")
    if len(figures.get("build_seconds_all", [])) > 1:
        runs = figures["build_seconds_all"]
        print(f"full build, {len(runs)} runs: {runs} (median {statistics.median(runs)} s)")
    print(json.dumps(_compact(figures), default=str))
    return figures


def _compact(figures: dict[str, Any]) -> dict[str, Any]:
    """The JSON line: the table plus the ten slowest dbt nodes per build (not every test)."""
    out = {k: v for k, v in figures.items() if k not in ("build", "incremental", "table")}
    out["stages"] = {r["stage"]: {k: v for k, v in r.items() if k != "stage" and v not in (None, "")}
                     for r in figures.get("table", [])}
    for label in ("build", "incremental"):
        for step in ("build_staging", "build_marts"):
            nodes = figures.get(label, {}).get("steps", {}).get(step, {}).get("nodes")
            if nodes:
                out[f"{label}.{step}.slowest"] = nodes[:10]
    out.pop("generation", None)
    out.pop("extraction", None)
    out.pop("landing", None)
    out.pop("delta_extraction", None)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        return worker_main(*argv[1:4])
    parser = argparse.ArgumentParser(prog="python -m vaxclean.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path("var/bench"), help="scenarios and the run directory")
    parser.add_argument("--repeat", type=int, default=1, help="full builds in a row (fresh warehouse each)")
    parser.add_argument("--delta-records", type=int, default=10_000, help="0: no incremental run")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--skip-dashboards", action="store_true", help="do not time the dashboards' queries")
    parser.add_argument("--keep-run", action="store_true", help="keep <cache>/run-*/ (raw lake, warehouse)")
    parser.add_argument("--replay", action="store_true",
                        help="only another delta + incremental build on the run --keep-run left (kept again)")
    parser.add_argument("--top", type=int, default=8, help="slowest dbt nodes printed per build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    figures = replay(args) if args.replay else run(args)
    if not (args.keep_run or args.replay):
        shutil.rmtree(run_dir_of(Path(args.cache).resolve(), args.people, args.seed), ignore_errors=True)
    failed = any("error" in (figures.get(k) or {}) for k in ("extraction", "landing", "build", "incremental"))
    return 1 if failed else 0
