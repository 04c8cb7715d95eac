"""pandera schemas of the published marts (contract: shared/contracts/marts.md; types: docs/mart_columns.md).

Every column of docs/mart_columns.md with its exact physical type (DuckDB -> Arrow -> polars:
VARCHAR String, INTEGER Int32, BIGINT Int64, DOUBLE Float64, DATE Date, BOOLEAN Boolean,
TIMESTAMP Datetime(us) naive, VARCHAR[] List(String)); keys unique (`Config.unique`); enums; and the
cross-field invariants that make a mart trustworthy (credited ⇒ citizen, duplicate ⇒ original ...).
Extra columns are allowed (`strict = False`). Relationships between marts are dbt tests, not here.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from vaxclean.schemas._common import (
    CITIZEN_ID,
    COMMUNE_CODE,
    COMPLAINT_SOURCES,
    CREDITED_STATUSES,
    DISTRICT_CODE,
    DOSE_SOURCES,
    GENDERS,
    ISSUE_CODE,
    MATCH_STATUSES,
    MD5_HEX,
    PROVINCE_CODE,
    TICKET_CATEGORIES,
    TICKET_STATUSES,
    WORKLIST_STATUSES,
    all_elements_match,
    implies,
    in_campaign,
)

StrList = pl.List(pl.String)
Timestamp = dt.datetime  # TIMESTAMP (naive, UTC by convention) -> Datetime(us)


class _Admin(pa.DataFrameModel):
    """Residence of the matched citizen, else as reported (GSO codes, zero-padded)."""

    province_code: str = pa.Field(nullable=True, str_matches=PROVINCE_CODE, description="GSO province code.")
    district_code: str = pa.Field(nullable=True, str_matches=DISTRICT_CODE, description="GSO district code.")
    commune_code: str = pa.Field(nullable=True, str_matches=COMMUNE_CODE, description="GSO commune code.")


class _AdminRequired(pa.DataFrameModel):
    """A commune the row belongs to; never null."""

    province_code: str = pa.Field(str_matches=PROVINCE_CODE, description="GSO province code.")
    district_code: str = pa.Field(nullable=True, str_matches=DISTRICT_CODE, description="GSO district code.")
    commune_code: str = pa.Field(str_matches=COMMUNE_CODE, description="GSO commune code.")


class _DoseKey(pa.DataFrameModel):
    """A dose record's key: `source` and `source_record_id`."""

    source: str = pa.Field(isin=DOSE_SOURCES, description="platform | site_batch.")
    source_record_id: str = pa.Field(
        str_length={"min_value": 1}, description="Platform record_id, or <site_code>/<file name>#<STT>."
    )


class MartDoseReconciliation(_DoseKey, _Admin):
    """One row per dose record received (newest version, tombstones excluded), with its match."""

    citizen_id: str = pa.Field(nullable=True, str_matches=CITIZEN_ID, description="Citizen credited, or null.")
    match_status: str = pa.Field(isin=MATCH_STATUSES, description="verified|corrected|probable|needs_review|unmatched|duplicate.")
    match_score: float = pa.Field(nullable=True, in_range={"min_value": 0.0, "max_value": 1.0}, description="0..1 or null.")
    issues: StrList = pa.Field(nullable=True, description="Issue codes.")
    duplicate_of_source: str = pa.Field(nullable=True, isin=DOSE_SOURCES, description="Source of the original dose.")
    duplicate_of_record_id: str = pa.Field(nullable=True, description="source_record_id of the original dose.")
    vaccine_code: str = pa.Field(nullable=True, description="Vaccine code.")
    dose_number_reported: pl.Int32 = pa.Field(nullable=True, description="Dose number as reported.")
    dose_sequence: pl.Int32 = pa.Field(nullable=True, ge=1, description="Place in the person's verified history.")
    vaccinated_on: dt.date = pa.Field(nullable=True, description="Date of the dose.")
    is_signed: bool = pa.Field(nullable=True, description="Signed by the site.")

    class Config:
        unique = ["source", "source_record_id"]
        strict = False

    @pa.check("issues", name="issue_codes_well_formed")
    def issue_codes_well_formed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(all_elements_match(data.key, ISSUE_CODE))

    @pa.check("vaccinated_on", name="vaccinated_on_in_campaign", raise_warning=True)
    def vaccinated_on_in_campaign(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(in_campaign(data.key))

    @pa.dataframe_check(name="credited_has_citizen_id")
    def credited_has_citizen_id(cls, data: pa.PolarsData) -> pl.LazyFrame:
        credited = pl.col("match_status").is_in(CREDITED_STATUSES)
        return data.lazyframe.select(implies(credited, pl.col("citizen_id").is_not_null()))

    @pa.dataframe_check(name="duplicate_points_at_original")
    def duplicate_points_at_original(cls, data: pa.PolarsData) -> pl.LazyFrame:
        is_dup = pl.col("match_status") == "duplicate"
        points = pl.col("duplicate_of_source").is_not_null() & pl.col("duplicate_of_record_id").is_not_null()
        return data.lazyframe.select(implies(is_dup, points))

    @pa.dataframe_check(name="duplicate_not_of_itself")
    def duplicate_not_of_itself(cls, data: pa.PolarsData) -> pl.LazyFrame:
        same = (pl.col("duplicate_of_source") == pl.col("source")) & (
            pl.col("duplicate_of_record_id") == pl.col("source_record_id")
        )
        return data.lazyframe.select(~same.fill_null(False))


class MartPersonVaccination(_Admin):
    """One row per citizen with at least one credited dose."""

    citizen_id: str = pa.Field(str_matches=CITIZEN_ID, description="12-digit citizen id.")
    doses_credited: pl.Int32 = pa.Field(ge=1, description="Credited doses (duplicates never counted).")
    first_dose_on: dt.date = pa.Field(nullable=True, description="First credited dose.")
    latest_dose_on: dt.date = pa.Field(nullable=True, description="Latest credited dose.")
    is_primary_series_complete: bool = pa.Field(description="Primary series complete.")
    booster_doses: pl.Int32 = pa.Field(ge=0, description="Doses beyond the primary series.")
    is_passport_eligible: bool = pa.Field(description="Eligible for a vaccine passport.")
    is_passport_signed: bool = pa.Field(description="Every credited dose signed.")
    open_issue_count: pl.Int32 = pa.Field(ge=0, description="Open issues on this person's doses.")

    class Config:
        unique = ["citizen_id"]
        strict = False

    @pa.dataframe_check(name="first_dose_not_after_latest")
    def first_dose_not_after_latest(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("first_dose_on") <= pl.col("latest_dose_on")).fill_null(True))

    @pa.dataframe_check(name="boosters_within_credited")
    def boosters_within_credited(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("booster_doses") < pl.col("doses_credited") + 1)


class MartCommuneWorklist(_DoseKey, _Admin):
    """One row per case sent to a commune for verification (one row per dose record).

    The commune is the reported one, else the candidate's, else the vaccinating commune station's;
    a case with none of these is unrouted (null commune) and is listed for the province.
    """

    worklist_item_id: str = pa.Field(str_matches=MD5_HEX, description="md5(source || '/' || source_record_id).")
    reasons: StrList = pa.Field(nullable=True, description="Issue codes that sent the case.")
    full_name: str = pa.Field(nullable=True, description="Reported name.")
    date_of_birth: str = pa.Field(nullable=True, description="Reported date of birth, as reported.")
    gender: str = pa.Field(nullable=True, description="Reported gender.")
    id_number: str = pa.Field(nullable=True, description="Reported ID number.")
    phone: str = pa.Field(nullable=True, description="Reported phone.")
    candidate_citizen_id: str = pa.Field(nullable=True, str_matches=CITIZEN_ID, description="Suggested citizen.")
    candidate_full_name: str = pa.Field(nullable=True, description="Candidate's name.")
    candidate_date_of_birth: dt.date = pa.Field(nullable=True, description="Candidate's date of birth.")
    candidate_gender: str = pa.Field(nullable=True, isin=GENDERS, description="Candidate's gender.")
    candidate_score: float = pa.Field(nullable=True, in_range={"min_value": 0.0, "max_value": 1.0}, description="0..1.")
    status: str = pa.Field(isin=WORKLIST_STATUSES, description="open | returned | applied | rejected.")
    police_result: str = pa.Field(nullable=True, description="Kết quả xác minh.")
    police_verified_id_number: str = pa.Field(nullable=True, description="Số định danh xác minh.")
    police_verified_full_name: str = pa.Field(nullable=True, description="Họ tên xác minh.")
    police_verified_date_of_birth: dt.date = pa.Field(nullable=True, description="Ngày sinh xác minh.")
    police_verified_gender: str = pa.Field(nullable=True, description="Giới tính xác minh.")
    police_verifier: str = pa.Field(nullable=True, description="Cán bộ xác minh.")
    police_verified_on: dt.date = pa.Field(nullable=True, description="Ngày xác minh.")

    class Config:
        unique = ["worklist_item_id"]
        strict = False

    @pa.check("reasons", name="reason_codes_well_formed")
    def reason_codes_well_formed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(all_elements_match(data.key, ISSUE_CODE))

    @pa.dataframe_check(name="one_item_per_dose_record")
    def one_item_per_dose_record(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.struct("source", "source_record_id").is_duplicated())

    @pa.dataframe_check(name="police_result_only_once_returned")
    def police_result_only_once_returned(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(implies(pl.col("status") == "open", pl.col("police_result").is_null()))


class MartComplaintTracking(_Admin):
    """One row per complaint (portal ticket or hotline call)."""

    source: str = pa.Field(isin=COMPLAINT_SOURCES, description="portal | hotline.")
    ticket_id: str = pa.Field(str_length={"min_value": 1}, description="Portal ticket_id or hotline Mã cuộc gọi.")
    channel: str = pa.Field(nullable=True, description="Channel the complaint came by.")
    received_at: Timestamp = pa.Field(description="When received (UTC).")
    category: str = pa.Field(nullable=True, isin=TICKET_CATEGORIES, description="Category, given or inferred.")
    is_category_inferred: bool = pa.Field(nullable=True, description="Category inferred from the text.")
    status: str = pa.Field(isin=TICKET_STATUSES, description="received|assigned|in_progress|resolved|rejected.")
    status_at: Timestamp = pa.Field(nullable=True, description="When the status was set (UTC).")
    resolved_at: Timestamp = pa.Field(nullable=True, description="When resolved (UTC).")
    age_days: pl.Int32 = pa.Field(nullable=True, ge=0, description="Age at as_of, days.")
    sla_due_at: Timestamp = pa.Field(nullable=True, description="SLA deadline (UTC).")
    is_sla_breached: bool = pa.Field(nullable=True, description="SLA breached.")
    citizen_id: str = pa.Field(nullable=True, str_matches=CITIZEN_ID, description="Linked citizen, or null.")
    linked_record_ids: StrList = pa.Field(nullable=True, description="Linked dose records.")
    data_fix_detected_at: Timestamp = pa.Field(nullable=True, description="When the data was seen fixed.")

    class Config:
        unique = ["source", "ticket_id"]
        strict = False

    @pa.dataframe_check(name="resolved_not_before_received")
    def resolved_not_before_received(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("resolved_at") >= pl.col("received_at")).fill_null(True))

    @pa.dataframe_check(name="sla_due_not_before_received")
    def sla_due_not_before_received(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("sla_due_at") >= pl.col("received_at")).fill_null(True))


class MartKpiCommuneDaily(_AdminRequired):
    """One row per commune and day: the KPI series."""

    as_of_date: dt.date = pa.Field(description="Day of the figures.")
    doses_received: pl.Int64 = pa.Field(ge=0, description="Dose records received.")
    doses_credited: pl.Int64 = pa.Field(ge=0, description="Doses credited.")
    persons_vaccinated: pl.Int64 = pa.Field(ge=0, description="Persons with a credited dose.")
    persons_passport_eligible: pl.Int64 = pa.Field(ge=0, description="Persons eligible for a passport.")
    persons_passport_signed: pl.Int64 = pa.Field(ge=0, description="Persons with every credited dose signed.")
    worklist_open: pl.Int64 = pa.Field(ge=0, description="Open worklist items.")
    complaints_open: pl.Int64 = pa.Field(ge=0, description="Open complaints.")
    complaints_sla_breached: pl.Int64 = pa.Field(ge=0, description="Complaints past their SLA.")

    class Config:
        unique = ["as_of_date", "commune_code"]
        strict = False

    @pa.dataframe_check(name="credited_within_received")
    def credited_within_received(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("doses_credited") <= pl.col("doses_received"))

    @pa.dataframe_check(name="eligible_within_vaccinated")
    def eligible_within_vaccinated(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("persons_passport_eligible") <= pl.col("persons_vaccinated"))


MART_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "dose_reconciliation": MartDoseReconciliation,
    "person_vaccination": MartPersonVaccination,
    "commune_worklist": MartCommuneWorklist,
    "complaint_tracking": MartComplaintTracking,
    "kpi_commune_daily": MartKpiCommuneDaily,
}


def mart_key(mart: str) -> tuple[str, ...]:
    """The mart's key columns (its `Config.unique`)."""
    return tuple(MART_MODELS[mart].to_schema().unique or ())
