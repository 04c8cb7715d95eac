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
SLA_STATES = ("closed", "breached", "due_soon", "on_time")
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
    # beyond the contract: the reviewers' queue
    sla_days: pl.Int32 = pa.Field(ge=1, description="Days allowed for the complaint's category.")
    is_open: bool = pa.Field(description="Not resolved or rejected.")
    sla_state: str = pa.Field(isin=SLA_STATES, description="closed | breached | due_soon | on_time.")
    resolution_days: pl.Int32 = pa.Field(nullable=True, ge=0, description="Days from receipt to resolution.")
    linked_match_statuses: StrList = pa.Field(description="Match statuses of the linked records now.")
    linked_doses_credited: pl.Int32 = pa.Field(ge=0, description="Credited doses of the linked citizen now.")

    class Config:
        unique = ["source", "ticket_id"]
        strict = False

    @pa.dataframe_check(name="resolved_not_before_received")
    def resolved_not_before_received(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("resolved_at") >= pl.col("received_at")).fill_null(True))

    @pa.dataframe_check(name="sla_due_not_before_received")
    def sla_due_not_before_received(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("sla_due_at") >= pl.col("received_at")).fill_null(True))

    @pa.dataframe_check(name="sla_state_agrees_with_open_and_breached")
    def sla_state_agrees_with_open_and_breached(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """closed exactly when not open; an open complaint is breached exactly when is_sla_breached."""
        state, is_open = pl.col("sla_state"), pl.col("is_open")
        return data.lazyframe.select(((state == "closed") == ~is_open)
                                     & implies(is_open, (state == "breached") == pl.col("is_sla_breached")))


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


# ----------------------------------------------------------------- additional marts (beyond the contract)

HISTORY_OUTCOMES = ("applied", "rejected", "returned", "open", "superseded", "unknown_record")
POLICE_RESULTS = ("confirmed", "corrected", "not_found", "not_resident")
SUMMARY_LEVELS = ("district", "province")
SHA256_HEX = r"^[0-9a-f]{64}$"


class MartWorklistVerificationHistory(_DoseKey, _Admin):
    """The correction history: one row per police return row ever received (every file and line).

    The newest return of a dose record is current (`is_current`) and carries the worklist status it
    produced; older ones are `superseded`; `unknown_record` when no live dose record has that key.
    """

    verification_id: str = pa.Field(str_matches=MD5_HEX, description="md5(file_sha256 || '#' || line_number).")
    worklist_item_id: str = pa.Field(str_matches=MD5_HEX, description="md5(source || '/' || source_record_id).")
    return_sequence: pl.Int32 = pa.Field(ge=1, description="1 for the record's first return, 2 for the next, ...")
    is_current: bool = pa.Field(description="The newest return of the record (the one applied).")
    outcome: str = pa.Field(isin=HISTORY_OUTCOMES, description="applied|rejected|returned|open|superseded|unknown_record.")
    police_result: str = pa.Field(nullable=True, isin=POLICE_RESULTS, description="confirmed|corrected|not_found|not_resident.")
    police_result_reported: str = pa.Field(nullable=True, description="Kết quả xác minh as typed.")
    police_verified_id_number: str = pa.Field(nullable=True, description="Số định danh xác minh as typed.")
    police_verified_full_name: str = pa.Field(nullable=True, description="Họ tên xác minh, normalised.")
    police_verified_date_of_birth: dt.date = pa.Field(nullable=True, description="Ngày sinh xác minh.")
    police_verified_gender: str = pa.Field(nullable=True, isin=GENDERS, description="Giới tính xác minh.")
    police_verifier: str = pa.Field(nullable=True, description="Cán bộ xác minh.")
    police_verified_on: dt.date = pa.Field(nullable=True, description="Ngày xác minh.")
    returned_by_commune_code: str = pa.Field(nullable=True, description="Commune folder the file was dropped in.")
    file_name: str = pa.Field(str_length={"min_value": 1}, description="Returned file name.")
    file_path: str = pa.Field(str_length={"min_value": 1}, description="Returned file path (landing-relative).")
    file_sha256: str = pa.Field(str_matches=SHA256_HEX, description="Checksum of the returned file.")
    line_number: pl.Int32 = pa.Field(ge=1, description="Line (CSV) or row (XLSX); the header is 1.")
    loaded_at: Timestamp = pa.Field(description="When the file was loaded (UTC).")
    match_status: str = pa.Field(nullable=True, isin=MATCH_STATUSES, description="The dose's match_status now (current row).")
    citizen_id: str = pa.Field(nullable=True, str_matches=CITIZEN_ID, description="Citizen credited now (current row).")
    rejection_reason: str = pa.Field(nullable=True, isin=["returned_by_another_commune", "identity_does_not_match",
                                                                    "verified_id_unreadable"],
                                     description="Why this return row was refused (int_police_returns_validated).")

    class Config:
        unique = ["verification_id"]
        strict = False

    @pa.dataframe_check(name="one_current_return_per_dose_record")
    def one_current_return_per_dose_record(cls, data: pa.PolarsData) -> pl.LazyFrame:
        current = pl.col("is_current").cast(pl.Int64).sum().over("source", "source_record_id")
        return data.lazyframe.select(current == 1)

    @pa.dataframe_check(name="return_sequence_counts_the_returns")
    def return_sequence_counts_the_returns(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Sequences 1..n per dose record, the current return being the last one not refused (a refused return
        never displaces one that may apply), or the n-th when every return was refused."""
        key = ("source", "source_record_id")
        returns = pl.len().over(*key)
        distinct = ~pl.struct(*key, "return_sequence").is_duplicated()
        within = pl.col("return_sequence") <= returns
        last_kept = pl.when(pl.col("outcome") != "rejected").then(pl.col("return_sequence")).max().over(*key)
        current_is_last = implies(pl.col("is_current"),
                                  (pl.col("return_sequence") == last_kept) | (pl.col("return_sequence") == returns))
        return data.lazyframe.select(distinct & within & current_is_last)

    @pa.dataframe_check(name="superseded_only_if_not_current")
    def superseded_only_if_not_current(cls, data: pa.PolarsData) -> pl.LazyFrame:
        superseded = pl.col("outcome") == "superseded"
        older = pl.col("outcome").is_in(["superseded", "unknown_record", "rejected"])
        return data.lazyframe.select(implies(superseded, ~pl.col("is_current")) & implies(~pl.col("is_current"), older))

    @pa.dataframe_check(name="match_only_on_current_return")
    def match_only_on_current_return(cls, data: pa.PolarsData) -> pl.LazyFrame:
        empty = pl.col("match_status").is_null() & pl.col("citizen_id").is_null()
        return data.lazyframe.select(implies(~pl.col("is_current"), empty))

    @pa.dataframe_check(name="worklist_item_id_matches_key")
    def worklist_item_id_matches_key(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """One worklist item per dose record and one dose record per worklist item."""
        items = pl.col("worklist_item_id").n_unique().over("source", "source_record_id")
        keys = pl.struct("source", "source_record_id").n_unique().over("worklist_item_id")
        return data.lazyframe.select((items == 1) & (keys == 1))


_SUMMARY_DOSES = ("doses_received", "doses_credited", "doses_corrected", "doses_duplicate", "doses_needs_review",
                  "doses_unmatched")
_SUMMARY_PERSONS = ("persons_vaccinated", "persons_primary_series_complete", "persons_boosted",
                    "persons_passport_eligible", "persons_passport_signed")
_SUMMARY_WORKLIST = ("worklist_open", "worklist_returned", "worklist_applied", "worklist_rejected", "worklist_backlog")
_SUMMARY_COMPLAINTS = ("complaints_received", "complaints_open", "complaints_open_sla_breached",
                       "complaints_sla_breached", "complaints_open_data_fixed")
SUMMARY_COUNTS = ("communes", *_SUMMARY_DOSES, *_SUMMARY_PERSONS, *_SUMMARY_WORKLIST, *_SUMMARY_COMPLAINTS)


def _count(description: str) -> object:
    return pa.Field(ge=0, description=description)


class MartKpiProvinceSummary(pa.DataFrameModel):
    """The province's scoreboard as of the run's clock: one row per district-level unit (named as of
    that day) and one province total (which also counts what has no district)."""

    as_of_date: dt.date = pa.Field(description="The run's clock (day) the figures are as of.")
    level: str = pa.Field(isin=SUMMARY_LEVELS, description="district | province.")
    province_code: str = pa.Field(str_matches=PROVINCE_CODE, description="Province (19).")
    district_code: str = pa.Field(nullable=True, str_matches=DISTRICT_CODE, description="District; null: province row.")
    district_name: str = pa.Field(str_length={"min_value": 1}, description="Unit name as of as_of_date.")
    communes: pl.Int64 = pa.Field(ge=1, description="Communes of the unit.")
    doses_received: pl.Int64 = _count("Dose records received (duplicates included).")
    doses_credited: pl.Int64 = _count("Dose records credited.")
    doses_corrected: pl.Int64 = _count("Of those, credited after a correction.")
    doses_duplicate: pl.Int64 = _count("Duplicates.")
    doses_needs_review: pl.Int64 = _count("In review.")
    doses_unmatched: pl.Int64 = _count("Nobody in the population.")
    credited_share: float = pa.Field(nullable=True, in_range={"min_value": 0.0, "max_value": 1.0},
                                     description="doses_credited / (doses_received - doses_duplicate).")
    persons_vaccinated: pl.Int64 = _count("Citizens with a credited dose.")
    persons_primary_series_complete: pl.Int64 = _count("Citizens with a complete primary series.")
    persons_boosted: pl.Int64 = _count("Citizens with a booster dose.")
    persons_passport_eligible: pl.Int64 = _count("Citizens eligible for a vaccine passport.")
    persons_passport_signed: pl.Int64 = _count("Of those, every credited dose signed.")
    worklist_open: pl.Int64 = _count("Worklist items not returned yet.")
    worklist_returned: pl.Int64 = _count("Returned, not applicable yet.")
    worklist_applied: pl.Int64 = _count("Police result applied.")
    worklist_rejected: pl.Int64 = _count("Police result not applicable.")
    worklist_backlog: pl.Int64 = _count("open + returned + rejected.")
    complaints_received: pl.Int64 = _count("Complaints received.")
    complaints_open: pl.Int64 = _count("Complaints not resolved or rejected.")
    complaints_open_sla_breached: pl.Int64 = _count("Open complaints past their SLA.")
    complaints_sla_breached: pl.Int64 = _count("Complaints that breached their SLA.")
    complaints_open_data_fixed: pl.Int64 = _count("Open complaints whose data is seen fixed.")

    class Config:
        unique = ["level", "district_code"]
        strict = False

    @pa.dataframe_check(name="district_code_only_on_district_rows")
    def district_code_only_on_district_rows(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("level") == "district") == pl.col("district_code").is_not_null())

    @pa.dataframe_check(name="one_province_row_one_day")
    def one_province_row_one_day(cls, data: pa.PolarsData) -> pl.LazyFrame:
        provinces = (pl.col("level") == "province").sum()
        one_day = pl.col("as_of_date") == pl.col("as_of_date").max()
        return data.lazyframe.select(one_day & pl.repeat(provinces == 1, pl.len()))

    @pa.dataframe_check(name="doses_accounted_for")
    def doses_accounted_for(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every dose record is credited, a duplicate, in review or unmatched; corrections are credited."""
        held = pl.sum_horizontal("doses_credited", "doses_duplicate", "doses_needs_review", "doses_unmatched")
        return data.lazyframe.select((held == pl.col("doses_received"))
                                     & (pl.col("doses_corrected") <= pl.col("doses_credited")))

    @pa.dataframe_check(name="persons_within_vaccinated")
    def persons_within_vaccinated(cls, data: pa.PolarsData) -> pl.LazyFrame:
        vaccinated = pl.col("persons_vaccinated")
        return data.lazyframe.select(
            (pl.col("persons_primary_series_complete") <= vaccinated) & (pl.col("persons_boosted") <= vaccinated)
            & (pl.col("persons_passport_eligible") <= vaccinated)
            & (pl.col("persons_passport_signed") <= pl.col("persons_passport_eligible"))
        )

    @pa.dataframe_check(name="worklist_backlog_is_open_returned_rejected")
    def worklist_backlog_is_open_returned_rejected(cls, data: pa.PolarsData) -> pl.LazyFrame:
        backlog = pl.sum_horizontal("worklist_open", "worklist_returned", "worklist_rejected")
        return data.lazyframe.select(pl.col("worklist_backlog") == backlog)

    @pa.dataframe_check(name="complaints_within_received")
    def complaints_within_received(cls, data: pa.PolarsData) -> pl.LazyFrame:
        is_open, breached = pl.col("complaints_open"), pl.col("complaints_sla_breached")
        return data.lazyframe.select(
            (is_open <= pl.col("complaints_received")) & (breached <= pl.col("complaints_received"))
            & (pl.col("complaints_open_sla_breached") <= pl.min_horizontal(is_open, breached))
            & (pl.col("complaints_open_data_fixed") <= is_open)
        )

    @pa.dataframe_check(name="province_row_sums_the_districts")
    def province_row_sums_the_districts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """The province row holds every district's figures (and what has no district): its communes are
        the districts' sum, every other count at least that sum."""
        is_province = pl.col("level") == "province"
        districts = {c: pl.col(c).filter(pl.col("level") == "district").sum() for c in SUMMARY_COUNTS}
        ok = [pl.col("communes") == districts["communes"]]
        ok += [pl.col(c) >= districts[c] for c in SUMMARY_COUNTS if c != "communes"]
        return data.lazyframe.select(implies(is_province, pl.all_horizontal(ok)))


class MartWorklistCommuneDaily(_Admin):
    """The correction loop's backlog per commune and day (null commune: cases no commune was found for)."""

    as_of_date: dt.date = pa.Field(description="The day.")
    items_open: pl.Int64 = _count("Items waiting for the police.")
    items_returned: pl.Int64 = _count("Returned, to verify again.")
    items_applied: pl.Int64 = _count("Verification applied.")
    items_rejected: pl.Int64 = _count("Return not applicable.")
    items_backlog: pl.Int64 = _count("open + returned + rejected.")
    is_latest: bool = pa.Field(description="The run's day.")

    class Config:
        unique = ["as_of_date", "commune_code"]
        strict = False

    @pa.dataframe_check(name="worklist_backlog_is_open_returned_rejected")
    def worklist_backlog_is_open_returned_rejected(cls, data: pa.PolarsData) -> pl.LazyFrame:
        backlog = pl.sum_horizontal("items_open", "items_returned", "items_rejected")
        return data.lazyframe.select(pl.col("items_backlog") == backlog)


def _share(description: str) -> object:
    return pa.Field(nullable=True, in_range={"min_value": 0.0, "max_value": 1.0}, description=description)


class MartDataQualitySiteWeekly(_Admin):
    """The data-quality review of the reporting sites: per site, source and week of arrival."""

    site_code: str = pa.Field(str_length={"min_value": 1}, description="Reporting site (unknown: none named).")
    source: str = pa.Field(isin=DOSE_SOURCES, description="platform | site_batch.")
    week_start_on: dt.date = pa.Field(nullable=True, description="Monday of the week of arrival.")
    files_received: pl.Int64 = _count("Site batch files arrived.")
    files_quarantined: pl.Int64 = _count("Of those, quarantined whole.")
    records_received: pl.Int64 = _count("Live dose records arrived.")
    rows_quarantined: pl.Int64 = _count("Rows that could not be read.")
    quarantined_share: float = _share("rows_quarantined / (records_received + rows_quarantined).")
    delay_days_median: float = pa.Field(nullable=True, description="Median arrival minus vaccination day.")
    delay_days_p90: float = pa.Field(nullable=True, description="90th percentile of the delay.")
    records_timely: pl.Int64 = _count("Records within the timeliness limit.")
    timely_share: float = _share("records_timely / records_received.")
    records_verified: pl.Int64 = _count("Verified now.")
    records_corrected: pl.Int64 = _count("Corrected now.")
    records_probable: pl.Int64 = _count("Probable now.")
    records_needs_review: pl.Int64 = _count("Needing review now.")
    records_unmatched: pl.Int64 = _count("Unmatched now.")
    records_duplicate: pl.Int64 = _count("Duplicates now.")
    unmatched_share: float = _share("records_unmatched / records_received.")
    needs_review_share: float = _share("records_needs_review / records_received.")

    class Config:
        unique = ["site_code", "source", "week_start_on"]
        strict = False

    @pa.dataframe_check(name="statuses_sum_to_received")
    def statuses_sum_to_received(cls, data: pa.PolarsData) -> pl.LazyFrame:
        statuses = pl.sum_horizontal(*(f"records_{s}" for s in MATCH_STATUSES))
        return data.lazyframe.select(
            (statuses == pl.col("records_received")) & (pl.col("records_timely") <= pl.col("records_received"))
            & (pl.col("files_quarantined") <= pl.col("files_received")))


SITE_KINDS = ("commune_station", "district_centre", "hospital", "workplace_clinic", "mobile_team", "other")
SITE_KIND_SOURCES = ("registry", "name", "people", "none")


class MartVaccinationSites(_Admin):
    """The vaccination sites for the data team's review: each site's kind, decided from evidence."""

    site_code: str = pa.Field(str_length={"min_value": 1}, description="The site's code (a key only).")
    site_name: str = pa.Field(nullable=True, description="The name most of its platform records carry.")
    site_kind: str = pa.Field(isin=SITE_KINDS, description="What the site is.")
    kind_source: str = pa.Field(isin=SITE_KIND_SOURCES, description="What decided the kind.")
    confidence: float = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0}, description="How sure the kind is.")
    has_conflicting_evidence: bool = pa.Field(description="Name and people disagree.")
    evidence: list[str] = pa.Field(description="What was seen, as codes.")
    name_kind: str = pa.Field(nullable=True, isin=SITE_KINDS, description="The kind the name says.")
    name_keyword: str = pa.Field(nullable=True, description="The words that said it.")
    profile_kind: str = pa.Field(nullable=True, isin=SITE_KINDS, description="The kind the people say.")
    commune_source: str = pa.Field(nullable=True, isin=("registry", "name_and_people", "name", "people"),
                                   description="How a station's commune was found.")
    dose_records: pl.Int64 = pa.Field(ge=1, description="Dose records naming the site.")
    offline_share: float = _share("Share sent as site batch files.")
    working_age_share: float = _share("Share of working age.")
    minor_share: float = _share("Share younger.")
    elderly_share: float = _share("Share older.")
    top_workplace: str = pa.Field(nullable=True, description="The most reported workplace, when it names an employer at a site with enough records (else null).")
    top_workplace_share: float = _share("Its share.")
    top_commune_share: float = _share("Share from the commune most live in.")
    communes_served: pl.Int64 = _count("Distinct residence communes.")

    class Config:
        unique = ["site_code"]
        strict = False

    @pa.dataframe_check(name="station_has_its_commune_only")
    def station_has_its_commune_only(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Only a commune station names the commune it serves (the worklist routing reads it), unless the
        data team's registry gives the site a commune."""
        return data.lazyframe.select(pl.col("commune_code").is_null() | (pl.col("site_kind") == "commune_station")
                                     | (pl.col("kind_source") == "registry"))


class MartIntakeQuarantineDaily(pa.DataFrameModel):
    """What could not be read, per day, source and reason class."""

    quarantined_on: dt.date = pa.Field(nullable=True, description="Day quarantined (UTC).")
    source: str = pa.Field(str_length={"min_value": 1}, description="Source name.")
    reason_code: str = pa.Field(str_matches=ISSUE_CODE, description="Reason class (ref_quarantine_reasons) or other.")
    rows_quarantined: pl.Int64 = pa.Field(ge=1, description="Quarantined rows.")
    files_affected: pl.Int64 = _count("Files with a quarantined row.")
    files_quarantined_whole: pl.Int64 = _count("Files quarantined whole.")

    class Config:
        unique = ["quarantined_on", "source", "reason_code"]
        strict = False

    @pa.dataframe_check(name="whole_files_within_affected")
    def whole_files_within_affected(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("files_quarantined_whole") <= pl.col("files_affected"))


MART_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "dose_reconciliation": MartDoseReconciliation,
    "person_vaccination": MartPersonVaccination,
    "commune_worklist": MartCommuneWorklist,
    "complaint_tracking": MartComplaintTracking,
    "kpi_commune_daily": MartKpiCommuneDaily,
    "worklist_verification_history": MartWorklistVerificationHistory,
    "kpi_province_summary": MartKpiProvinceSummary,
    "worklist_commune_daily": MartWorklistCommuneDaily,
    "data_quality_site_weekly": MartDataQualitySiteWeekly,
    "intake_quarantine_daily": MartIntakeQuarantineDaily,
    "vaccination_sites": MartVaccinationSites,
}


def mart_key(mart: str) -> tuple[str, ...]:
    """The mart's key columns (its `Config.unique`)."""
    return tuple(MART_MODELS[mart].to_schema().unique or ())
