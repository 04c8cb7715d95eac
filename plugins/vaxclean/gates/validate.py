"""Validate one frame with a pandera model and turn what failed into check results.

Hard checks are the contract: a single failing row fails the gate; they run with `lazy=True` so that
every failure is reported, not the first. Soft checks (`raise_warning=True` in the schemas) fail the
gate only when the share of failing rows exceeds their threshold (vaxclean.schemas._common); below it
they are warnings. Personal values in the examples are masked (first character + length), and so is any
value that does not read like a code (a fault can put a name or a phone in any column).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import time
import warnings
from collections.abc import Sequence
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors, SchemaWarning

from vaxclean.gates.report import EXAMPLES_PER_CHECK, CheckResult, GateReport, Status, TableResult
from vaxclean.personal_data import PERSONAL_COLUMNS
from vaxclean.schemas._common import CHECK_COLUMNS, mask, soft_max_share


def split_soft_checks(schema: pa.DataFrameSchema) -> tuple[pa.DataFrameSchema, list[tuple[str | None, Any]]]:
    """The schema without its soft checks (`raise_warning=True`), and those checks with their column."""
    hard = copy.deepcopy(schema)
    soft: list[tuple[str | None, Any]] = []
    for name, column in hard.columns.items():
        soft.extend((name, c) for c in column.checks if c.raise_warning)
        column.checks = [c for c in column.checks if not c.raise_warning]
    soft.extend((None, c) for c in hard.checks if c.raise_warning)
    hard.checks = [c for c in hard.checks if not c.raise_warning]
    return hard, soft


def validate_frame(
    report: GateReport,
    table: str,
    model: type[pa.DataFrameModel],
    frame: pl.DataFrame,
    key: Sequence[str],
    *,
    read_s: float = 0.0,
    data_frame: pl.DataFrame | None = None,
    soft_frame: pl.DataFrame | None = None,
) -> None:
    """Validate a frame with a model's hard checks (lazy) and soft checks; add results to the report.

    `data_frame`, when given, is validated for data while `frame` (possibly empty) is validated for
    structure only: the raw gate uses it to avoid reading large payload columns. `soft_frame`, when
    given, is what the soft checks see (the whole table's columns when `frame` holds only some rows).
    """
    t0 = time.perf_counter()
    hard, soft = split_soft_checks(model.to_schema())
    results: list[CheckResult] = []
    results += _hard_results(table, hard, frame, key)
    if data_frame is not None:
        data_schema = hard.select_columns([c for c in data_frame.columns if c in hard.columns])
        seen = {(r.column, r.check) for r in results}
        results += [r for r in _hard_results(table, data_schema, data_frame, key) if (r.column, r.check) not in seen]
    checked = soft_frame if soft_frame is not None else data_frame if data_frame is not None else frame
    results += [_soft_result(table, column, check, checked, key) for column, check in soft
                if column is None or column in checked.columns]
    report.checks.extend(results)
    report.tables.append(TableResult(
        table=table, schema=model.__name__, rows=(data_frame if data_frame is not None else frame).height, hard_checks=hard_check_count(hard),
        soft_checks=len(soft),
        read_s=round(read_s, 3), validate_s=round(time.perf_counter() - t0, 3),
    ))


def hard_check_count(hard: pa.DataFrameSchema) -> int:
    """The hard checks a schema runs, as reports count them: each column's checks plus its type, the
    dataframe-wide checks, the uniqueness."""
    return sum(len(c.checks) + 1 for c in hard.columns.values()) + len(hard.checks) + (1 if hard.unique else 0)


def _hard_results(table: str, schema: pa.DataFrameSchema, frame: pl.DataFrame, key: Sequence[str]) -> list[CheckResult]:
    """The failures of the schema's checks on the frame, every one (lazy), grouped by column and check."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SchemaWarning)
            schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        return _from_failure_cases(table, errors.failure_cases, frame, key)
    return []


def _from_failure_cases(table: str, cases: pl.DataFrame, frame: pl.DataFrame, key: Sequence[str]) -> list[CheckResult]:
    """Group pandera's failure cases by (column, check) into results with masked examples."""
    results = []
    grouped = cases.group_by(["column", "check"], maintain_order=True).agg(
        pl.len().alias("n"), pl.col("index").drop_nulls().head(EXAMPLES_PER_CHECK).alias("rows"),
        pl.col("failure_case").first().alias("first_case"),
    )
    for row in grouped.iter_rows(named=True):
        column = row["column"] if row["column"] in frame.columns else None
        structural = not row["rows"]
        detail = f"found {_plain(row['first_case'])}" if structural and row["first_case"] is not None else ""
        if structural and row["check"] == "column_in_dataframe":
            detail = f"column {row['first_case']} missing"
        involved = [*key, *([column] if column else []), *CHECK_COLUMNS.get(row["check"], ())]
        results.append(CheckResult(
            table=table, check=str(row["check"]), severity="hard", status="fail",
            failed_rows=0 if structural else int(row["n"]), total_rows=frame.height,
            column=column, detail=detail, examples=_examples(frame, row["rows"], involved),
        ))
    return results


def _soft_result(table: str, column: str | None, check: Any, frame: pl.DataFrame, key: Sequence[str]) -> CheckResult:
    """One soft check on the frame: a warning while its failing share stays within its threshold, a failure
    above."""
    result = check(frame.lazy(), column) if column else check(frame.lazy())
    output = result.check_output.collect()
    failed = output.select((~pl.col(output.columns[-1]).fill_null(True)).arg_true()).to_series()
    max_share = soft_max_share(check.name)
    share = failed.len() / frame.height if frame.height else 0.0
    status: Status = "fail" if share > max_share else ("warn" if failed.len() else "pass")
    involved = [*key, *([column] if column else []), *CHECK_COLUMNS.get(check.name or "", ())]
    return CheckResult(
        table=table, check=check.name or str(check), severity="soft", status=status, failed_rows=failed.len(),
        total_rows=frame.height, column=column, max_share=max_share,
        examples=_examples(frame, failed.head(EXAMPLES_PER_CHECK).to_list(), involved) if failed.len() else [],
    )


def _examples(frame: pl.DataFrame, rows: Sequence[int], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The given rows, restricted to `columns`, with personal values masked."""
    cols = [c for c in dict.fromkeys(columns) if c in frame.columns]
    if not cols or not rows:
        return []
    picked = frame.select(cols)[list(rows)]
    return [{k: (mask(v) if k in PERSONAL_COLUMNS else _plain(v)) for k, v in rec.items()}
            for rec in picked.iter_rows(named=True)]


# a value of a column not declared personal is shown only when it reads like a code, an id or a number that
# is not a person's (a fault can put a typed name, phone or ID number in any column)
_CODE_LIKE = re.compile(r"^(?!\d{7,}$)[A-Za-z0-9_.:+\-]{0,40}$")


def _plain(value: Any) -> Any:
    """A value as JSON shows it (dates in ISO 8601); text that does not read like a code is masked."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str) and not _CODE_LIKE.match(value):
        return mask(value)
    return value
