"""Every mart schema accepts a valid frame and rejects an invalid one; schemas match docs/mart_columns.md."""

from __future__ import annotations

import datetime as dt
import re

import pandera.polars as pa
import polars as pl
import pytest

from vaxclean.config import PROJECT_ROOT
from vaxclean.schemas import examples
from vaxclean.schemas.marts import MART_MODELS

DUCKDB_TO_POLARS = {
    "VARCHAR": pl.String, "INTEGER": pl.Int32, "BIGINT": pl.Int64, "DOUBLE": pl.Float64, "DATE": pl.Date,
    "BOOLEAN": pl.Boolean, "TIMESTAMP": pl.Datetime("us"), "VARCHAR[]": pl.List(pl.String),
}


def _documented_columns() -> dict[str, dict[str, pl.DataType]]:
    text = (PROJECT_ROOT / "docs" / "mart_columns.md").read_text(encoding="utf-8")
    marts: dict[str, dict[str, pl.DataType]] = {}
    for name, body in re.findall(r"^## (\w+) \(key:[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S):
        body = re.sub(r"\([^)]*\)", "", body)
        pairs = re.findall(r"(\w+) (VARCHAR\[\]|VARCHAR|INTEGER|BIGINT|DOUBLE|DATE|BOOLEAN|TIMESTAMP)(?![\w\[])", body)
        marts[name] = {col: DUCKDB_TO_POLARS[typ] for col, typ in pairs}
    return marts


def test_schemas_match_the_documented_columns_and_types() -> None:
    documented = _documented_columns()
    assert set(documented) == set(MART_MODELS)
    for mart, columns in documented.items():
        schema = MART_MODELS[mart].to_schema()
        assert {c: schema.columns[c].dtype.type for c in schema.columns} == columns, mart


@pytest.mark.parametrize("mart", list(MART_MODELS))
def test_valid_frame_passes(mart: str) -> None:
    MART_MODELS[mart].validate(examples.MART_EXAMPLES[mart](12), lazy=True)


def _first(frame: pl.DataFrame, condition: pl.Expr, **values: object) -> pl.DataFrame:
    """Set `values` on the first row matching `condition`."""
    row = frame.with_row_index("_i").filter(condition)["_i"][0]
    hit = pl.int_range(pl.len()) == row
    return frame.with_columns(**{k: pl.when(hit).then(pl.lit(v, dtype=frame.schema[k])).otherwise(pl.col(k))
                                 for k, v in values.items()})


BREAKS = {
    "dose_reconciliation": [
        ("credited_has_citizen_id", lambda f: _first(f, pl.col("match_status") == "verified", citizen_id=None)),
        ("duplicate_points_at_original",
         lambda f: _first(f, pl.col("match_status") == "duplicate", duplicate_of_record_id=None)),
        ("in_range", lambda f: _first(f, pl.col("match_status") == "probable", match_score=1.5)),
        ("isin", lambda f: _first(f, pl.lit(True), match_status="matched")),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
        ("issue_codes_well_formed", lambda f: _first(f, pl.lit(True), issues=["Name Mismatch"])),
    ],
    "person_vaccination": [
        ("greater_than_or_equal_to", lambda f: _first(f, pl.lit(True), doses_credited=0)),
        ("str_matches", lambda f: _first(f, pl.lit(True), citizen_id="12345")),
        ("first_dose_not_after_latest", lambda f: _first(f, pl.col("doses_credited") == 3,
                                                         first_dose_on=dt.date(2023, 1, 1))),
    ],
    "commune_worklist": [
        ("isin", lambda f: _first(f, pl.lit(True), status="closed")),
        ("police_result_only_once_returned", lambda f: _first(f, pl.col("status") == "open", police_result="xác nhận")),
        ("one_item_per_dose_record", lambda f: _first(f, pl.int_range(pl.len()) == 1, source_record_id="R000000000")),
    ],
    "complaint_tracking": [
        ("isin", lambda f: _first(f, pl.lit(True), source="zalo")),
        ("resolved_not_before_received", lambda f: _first(f, pl.col("resolved_at").is_not_null(),
                                                          resolved_at=dt.datetime(2020, 1, 1))),
        ("sla_state_agrees_with_open_and_breached", lambda f: _first(f, pl.col("is_open"), sla_state="closed")),
        ("sla_state_agrees_with_open_and_breached", lambda f: _first(f, pl.col("is_open"), is_sla_breached=True)),
        ("isin", lambda f: _first(f, pl.lit(True), sla_state="late")),
    ],
    "kpi_commune_daily": [
        ("credited_within_received", lambda f: _first(f, pl.lit(True), doses_credited=10_000)),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
    ],
    "worklist_verification_history": [
        ("one_current_return_per_dose_record", lambda f: _first(f, ~pl.col("is_current"), is_current=True)),
        ("return_sequence_counts_the_returns", lambda f: _first(f, pl.col("is_current"), return_sequence=7)),
        ("superseded_only_if_not_current", lambda f: _first(f, pl.col("is_current"), outcome="superseded")),
        ("match_only_on_current_return", lambda f: _first(f, ~pl.col("is_current"), match_status="verified")),
        ("worklist_item_id_matches_key", lambda f: _first(f, pl.lit(True), worklist_item_id="0" * 32)),
        ("isin", lambda f: _first(f, pl.lit(True), outcome="done")),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
    ],
    "kpi_province_summary": [
        ("isin", lambda f: _first(f, pl.lit(True), level="commune")),
        ("district_code_only_on_district_rows", lambda f: _first(f, pl.col("level") == "province", district_code="164")),
        ("one_province_row_one_day", lambda f: _first(f, pl.col("level") == "province", level="district",
                                                      district_code="199")),
        ("doses_accounted_for", lambda f: _first(f, pl.lit(True), doses_unmatched=1_000)),
        ("persons_within_vaccinated", lambda f: _first(f, pl.lit(True), persons_boosted=1_000)),
        ("worklist_backlog_is_open_returned_rejected", lambda f: _first(f, pl.lit(True), worklist_backlog=99)),
        ("complaints_within_received", lambda f: _first(f, pl.lit(True), complaints_open_data_fixed=3)),
        ("in_range", lambda f: _first(f, pl.lit(True), credited_share=1.5)),
        ("province_row_sums_the_districts",
         lambda f: _first(f, pl.col("level") == "district", doses_received=10_000, doses_unmatched=10_000 - 98)),
        ("province_row_sums_the_districts", lambda f: _first(f, pl.col("level") == "district", communes=99)),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
    ],
    "worklist_commune_daily": [
        ("worklist_backlog_is_open_returned_rejected", lambda f: _first(f, pl.lit(True), items_open=50)),
        ("greater_than_or_equal_to", lambda f: _first(f, pl.lit(True), items_applied=-1)),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
    ],
    "data_quality_site_weekly": [
        ("statuses_sum_to_received", lambda f: _first(f, pl.lit(True), records_unmatched=500)),
        ("statuses_sum_to_received", lambda f: _first(f, pl.lit(True), files_quarantined=5)),
        ("in_range", lambda f: _first(f, pl.lit(True), timely_share=1.5)),
        ("isin", lambda f: _first(f, pl.lit(True), source="hotline")),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
    ],
    "vaccination_sites": [
        ("station_has_its_commune_only", lambda f: _first(f, pl.col("site_kind") == "workplace_clinic",
                                                          commune_code="05434")),
        ("isin", lambda f: _first(f, pl.lit(True), site_kind="factory_clinic")),
        ("in_range", lambda f: _first(f, pl.lit(True), confidence=1.5)),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
    ],
    "intake_quarantine_daily": [
        ("whole_files_within_affected", lambda f: _first(f, pl.lit(True), files_quarantined_whole=9)),
        ("str_matches", lambda f: _first(f, pl.lit(True), reason_code="Header mismatch")),
        ("multiple_fields_uniqueness", lambda f: pl.concat([f, f.head(1)])),
    ],
}


@pytest.mark.parametrize(("mart", "check", "breaker"),
                         [(m, c, b) for m, cases in BREAKS.items() for c, b in cases],
                         ids=[f"{m}-{c}" for m, cases in BREAKS.items() for c, _ in cases])
def test_invalid_frame_fails_on_the_broken_check(mart: str, check: str, breaker) -> None:
    frame = breaker(examples.MART_EXAMPLES[mart](12))
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        MART_MODELS[mart].validate(frame, lazy=True)
    failed = set(caught.value.failure_cases["check"].to_list())
    assert any(check in name for name in failed), failed


def test_wrong_physical_type_fails() -> None:
    frame = examples.dose_reconciliation(5).with_columns(pl.col("dose_sequence").cast(pl.Int64))
    with pytest.raises(pa.errors.SchemaErrors, match="dtype"):
        MART_MODELS["dose_reconciliation"].validate(frame, lazy=True)
