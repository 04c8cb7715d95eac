"""Benchmark (prints figures, asserts nothing): the mart gate on a large synthetic warehouse.

    python -m vaxclean.schemas.benchmark [rows] [workdir]

Builds `marts.dose_reconciliation` with `rows` rows (default 3.3 M) plus matching staging dose
tables in a DuckDB file, then times run_gate('marts') (read via Arrow + validate + conservation)
and a publish of the same marts.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from pathlib import Path

from vaxclean.schemas import examples


def main(rows: int = 3_300_000, workdir: Path | None = None) -> None:
    from vaxclean.gates import run_gate
    from vaxclean.publish import publish

    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="vaxclean-bench-") as tmp:
            return main(rows, Path(tmp))
    work = Path(workdir)
    t0 = time.perf_counter()
    marts = examples.mart_frames()
    marts["dose_reconciliation"], sources = examples.consistent_doses(examples.dose_reconciliation(rows))
    sources["reference"] = examples.reference_frames()  # the units and labels the BI layer adds
    examples.write_warehouse(work / "warehouse.duckdb", {"marts": marts, **sources})
    print(f"build warehouse ({rows:,} dose records): {time.perf_counter() - t0:.2f} s")

    report = run_gate("marts", warehouse_dir=work, run_id="bench")
    dose = next(t for t in report.tables if t.table == "dose_reconciliation")
    print(f"dose_reconciliation: read {dose.read_s:.2f} s, validate {dose.validate_s:.2f} s")
    print(f"conservation: {report.timings.get('conservation_s', 0):.2f} s; gate total {report.timings['total_s']:.2f} s")
    t0 = time.perf_counter()
    # a throwaway pseudonym key: this measures the publisher, whatever the environment holds
    result = publish(warehouse_dir=work, run_id="bench", run_info={}, secret=secrets.token_hex(32))
    print(f"publish: {time.perf_counter() - t0:.2f} s {result['timings']}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3_300_000, Path(sys.argv[2]) if len(sys.argv) > 2 else None)
