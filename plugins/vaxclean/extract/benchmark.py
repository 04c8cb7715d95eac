"""Throughput benchmark: `python -m vaxclean.extract.benchmark --records 200000 [--workdir /tmp/x]`.

Writes a fake API scenario (unless `<workdir>/scenario` exists: run twice for a clean peak RSS), starts the simulator as a separate process (as in production) on a free
port, extracts the whole window with limit 5000 and prints the figures as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from vaxclean.extract.api import extract_interval
from vaxclean.simulator.fake import write_fake_api_scenario


def _start_simulator(scenario: Path, extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "vaxclean.simulator", "--scenario", str(scenario), "--port", "0",
         "--log-level", "WARNING", *extra],
        stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("listening on "):
        process.terminate()
        raise RuntimeError("simulator did not start")
    return process, line.split()[-1]


def _peak_rss_mb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


def run(records: int, workdir: Path, page_limit: int, simulator_args: list[str]) -> dict[str, object]:
    scenario = workdir / "scenario"
    started = time.perf_counter()
    if not (scenario / "platform" / "immunizations.jsonl").exists():  # reuse: then max RSS is the extraction's
        write_fake_api_scenario(scenario, records=records, seed=1)
    written_s = time.perf_counter() - started
    started = time.perf_counter()
    process, url = _start_simulator(scenario, simulator_args)
    startup_s = time.perf_counter() - started
    try:
        started = time.perf_counter()
        result = extract_interval(base_url=url, token="dev-token", endpoint="immunizations",
                                  since=datetime(2021, 1, 1, tzinfo=UTC), until=datetime(2022, 1, 1, tzinfo=UTC),
                                  raw_dir=workdir / "raw", page_limit=page_limit, backoff_base_s=0.1)
        extract_s = time.perf_counter() - started
        simulator_peak_mb = _peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return {
        "scenario_write_s": round(written_s, 2), "simulator_startup_s": round(startup_s, 2),
        "extract_s": round(extract_s, 2), "records_per_s": round(int(result["received"]) / extract_s),
        "file_mb": round(Path(str(result["path"])).stat().st_size / 1e6, 1),
        "extractor_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "simulator_peak_rss_mb": simulator_peak_mb, **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--page-limit", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("simulator_args", nargs="*", help="extra simulator flags after --, e.g. -- --rate-5xx 0.05")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vaxclean-bench-"))
    print(json.dumps(run(args.records, workdir, args.page_limit, args.simulator_args)))


if __name__ == "__main__":
    main()
