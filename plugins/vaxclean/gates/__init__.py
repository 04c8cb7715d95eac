"""Quality gates between layers: validate a layer's tables with its pandera schemas, plus the checks that
span tables (quarantine share of a load, conservation of dose records into the marts).

`run_gate(layer, ...)` reads every table of the layer with DuckDB (read-only) into polars via Arrow,
validates with `lazy=True` so that every failure is reported, writes a JSON report and a readable text
summary to `<warehouse>/gate_reports/<run_id>/<layer>.json|.txt`, and raises `GateFailed` (whose message
is the summary) when a hard check fails or a soft check exceeds its threshold.

Hard checks are the contract: a single failing row fails the gate. Soft checks (`raise_warning=True`
checks in the schemas, and the quarantine share) fail the gate only above their threshold; below it
they are reported as warnings. Personal values in examples are masked (first character + length).

A gate reads no more than it must to stay cheap at province scale, without dropping a check; each module
says what it reads and why:

- `run`: run_gate, from reading a layer to its report and the records the next gates start from;
- `report`: the results, the report and its summary, GateFailed;
- `validate`: one frame against a pandera model (hard and soft checks, masked examples);
- `schema_gate`: the staging and marts tables (only the declared columns; after an incremental build,
  only the re-derived rows);
- `scope`: which rows an incremental build re-derived, and what a passed gate records for the next one;
- `raw`: the raw lake's Parquet tables (only the files no passed gate validated);
- `quarantine`: the load audit against the quarantine (raw);
- `conservation`: every live dose record exactly once in the reconciliation mart (marts);
- `fingerprint`: table fingerprints, with which publishing verifies its copy of the marts;
- `version`: checks_version, the digest of this package's code and the layer's schemas;
- `connection`: read-only DuckDB connections and quoted identifiers.

The records the gates share with the build (build stamps, validated builds and raw files) are in
vaxclean.state.
"""

from vaxclean.gates.conservation import (
    DOSE_RECONCILIATION_RELATION,
    LIVE_DOSE_KEYS_FROM_STAGING_SQL,
    LIVE_DOSE_KEYS_SQL,
)
from vaxclean.gates.fingerprint import table_fingerprint
from vaxclean.gates.raw import VALUE_CHECKS, checks_hold_per_file
from vaxclean.gates.report import (
    COPY_CHECK,
    CROSS_TABLE_CHECKS,
    EXAMPLES_PER_CHECK,
    CheckResult,
    GateFailed,
    GateReport,
    Severity,
    Status,
    TableResult,
    write_report,
)
from vaxclean.gates.run import LAYERS, run_gate
from vaxclean.gates.scope import (
    PLATFORM_STAGING,
    GateScope,
    gate_scope,
    kept_rederived_rows,
    scoped_mart_keys,
    scoped_mart_rows,
)
from vaxclean.gates.validate import split_soft_checks, validate_frame
from vaxclean.gates.version import checks_version

__all__ = [
    "COPY_CHECK",
    "CROSS_TABLE_CHECKS",
    "DOSE_RECONCILIATION_RELATION",
    "EXAMPLES_PER_CHECK",
    "LAYERS",
    "LIVE_DOSE_KEYS_FROM_STAGING_SQL",
    "LIVE_DOSE_KEYS_SQL",
    "PLATFORM_STAGING",
    "VALUE_CHECKS",
    "CheckResult",
    "GateFailed",
    "GateReport",
    "GateScope",
    "Severity",
    "Status",
    "TableResult",
    "checks_hold_per_file",
    "checks_version",
    "gate_scope",
    "kept_rederived_rows",
    "run_gate",
    "scoped_mart_keys",
    "scoped_mart_rows",
    "split_soft_checks",
    "table_fingerprint",
    "validate_frame",
    "write_report",
]
