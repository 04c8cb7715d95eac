"""pandera schemas of the staging layer (dbt schema `staging`): formats, enums and ranges.

Staging renames, casts and normalises each source (sources.md); these schemas check that the
normalisation holds: ID numbers digits only, gender `male`/`female`/null, GSO codes zero-padded,
enums in their vocabulary. Dates outside plausible ranges are soft checks (dirty sources are
expected; a burst of them is not).

Only each model's key columns are required; every other column is checked when present, so the
staging models can gain or drop columns without touching this file. Model names live in
`STAGING_MODELS` (the one place to adjust when the dbt models are renamed).
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from vaxclean.schemas._common import (
    CITIZEN_ID,
    CITIZEN_STATUSES,
    COMMUNE_CODE,
    DIGITS,
    DISTRICT_CODE,
    DOSE_NUMBER_MAX,
    DOSE_SOURCES,
    GENDERS,
    OLD_ID_NUMBER,
    PROVINCE_CODE,
    TICKET_CATEGORIES,
    TICKET_CHANNELS,
    TICKET_STATUSES,
    in_campaign,
)

ID_CLASSES = ["cccd12", "cmnd9", "cccd12_lost_zero", "cmnd9_lost_zero", "invalid", "missing"]
OLDEST_BIRTH = dt.date(1900, 1, 1)
NEWEST_BIRTH = dt.date(2023, 12, 31)


class _AdminCodes(pa.DataFrameModel):
    """GSO administrative codes, zero-padded (province 2, district 3, commune 5 digits) or null."""

    province_code: str | None = pa.Field(nullable=True, str_matches=PROVINCE_CODE, description="GSO province code.")
    district_code: str | None = pa.Field(nullable=True, str_matches=DISTRICT_CODE, description="GSO district code.")
    commune_code: str | None = pa.Field(nullable=True, str_matches=COMMUNE_CODE, description="GSO commune code.")


class _PersonAsReported(pa.DataFrameModel):
    """Identity fields as reported by a source, normalised but not corrected."""

    full_name: str | None = pa.Field(nullable=True, description="Name, NFC, trimmed, single spaces.")
    date_of_birth: dt.date | None = pa.Field(nullable=True, description="Parsed date of birth, or null.")
    gender: str | None = pa.Field(nullable=True, isin=GENDERS, description="male | female | null.")
    id_digits: str | None = pa.Field(nullable=True, description="ID number without separators (digits unless invalid).")
    id_class: str | None = pa.Field(nullable=True, isin=ID_CLASSES, description="How the ID number reads.")
    phone: str | None = pa.Field(nullable=True, str_matches=DIGITS, description="Phone, digits only.")

    @pa.check("date_of_birth", name="date_of_birth_plausible", raise_warning=True)
    def date_of_birth_plausible(cls, data: pa.PolarsData) -> pl.LazyFrame:
        col = pl.col(data.key)
        return data.lazyframe.select(col.is_null() | col.is_between(OLDEST_BIRTH, NEWEST_BIRTH))


class _DoseFacts(pa.DataFrameModel):
    """What a dose record says about the dose."""

    vaccine_key: str | None = pa.Field(nullable=True, description="Vaccine as entered, reduced to a lookup key.")
    dose_number_reported: pl.Int32 | None = pa.Field(nullable=True, description="Dose number as entered.")
    vaccinated_on: dt.date | None = pa.Field(nullable=True, description="Date of the dose.")

    @pa.check("vaccinated_on", name="vaccinated_on_in_campaign", raise_warning=True)
    def vaccinated_on_in_campaign(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(in_campaign(data.key))

    @pa.check("dose_number_reported", name="dose_number_plausible", raise_warning=True)
    def dose_number_plausible(cls, data: pa.PolarsData) -> pl.LazyFrame:
        col = pl.col(data.key)
        return data.lazyframe.select(col.is_null() | col.is_between(1, DOSE_NUMBER_MAX))


class StgPlatformImmunization(_AdminCodes, _PersonAsReported, _DoseFacts):
    """Platform immunization records, renamed, cast and normalised (one row per served version)."""

    source_record_id: str = pa.Field(description="Platform record id (newest version only).")
    updated_at: dt.datetime | None = pa.Field(nullable=True, description="Version timestamp (UTC).")
    is_signed: bool | None = pa.Field(nullable=True, description="Signed by the site.")
    signed_at: dt.datetime | None = pa.Field(nullable=True, description="When signed (UTC).")
    site_code: str | None = pa.Field(nullable=True, description="Vaccination site.")


class StgSiteBatchRow(_AdminCodes, _PersonAsReported, _DoseFacts):
    """Offline site batch rows, normalised; keyed `<site_code>/<file name>#<STT>`."""

    source_record_id: str = pa.Field(str_matches=r"^[^/]+/.+#.+$", description="<site_code>/<file name>#<STT>.")
    site_code: str | None = pa.Field(nullable=True, description="Site folder the file landed in.")
    file_name: str | None = pa.Field(nullable=True, description="Landed file name.")


class StgFeedbackTicket(_PersonAsReported):
    """Feedback portal tickets, newest version or every version, normalised."""

    ticket_id: str = pa.Field(description="Portal ticket id.")
    channel: str | None = pa.Field(nullable=True, isin=TICKET_CHANNELS,
                                   description="portal | zalo | email | in_person (null: none, or not one of these).")
    channel_as_sent: str | None = pa.Field(nullable=True, description="The channel as the portal sent it.")
    received_at: dt.datetime | None = pa.Field(nullable=True, description="When received (UTC).")
    category_reported: str | None = pa.Field(nullable=True, isin=TICKET_CATEGORIES,
                                             description="Category, or null (none, or not one of the contract's).")
    category_as_sent: str | None = pa.Field(nullable=True, description="The category as the portal sent it.")
    status: str | None = pa.Field(nullable=True, isin=TICKET_STATUSES,
                                  description="Ticket status (null: none, or not one of the contract's).")
    status_as_sent: str | None = pa.Field(nullable=True, description="The status as the portal sent it.")
    updated_at: dt.datetime | None = pa.Field(nullable=True, description="Version timestamp (UTC).")
    commune_code: str | None = pa.Field(nullable=True, str_matches=COMMUNE_CODE, description="GSO commune code.")

    @pa.dataframe_check(name="ticket_codes_known", raise_warning=True)
    def ticket_codes_known(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A channel, category or status sent outside the contract's lists (read as null): a few are typos, many
        mean the portal changed its lists."""
        frame = data.lazyframe
        names = frame.collect_schema().names()
        known = pl.lit(True)
        for sent, read in (("channel_as_sent", "channel"), ("category_as_sent", "category_reported"),
                           ("status_as_sent", "status")):
            if sent in names and read in names:  # a frame may carry only some columns (only keys are required)
                known = known & (pl.col(sent).is_null() | pl.col(read).is_not_null())
        return frame.select(known)


class StgHotlineCall(_PersonAsReported):
    """Hotline calls, normalised; a call is a complaint like a portal ticket."""

    ticket_id: str = pa.Field(description="Mã cuộc gọi.")
    received_at: dt.datetime | None = pa.Field(nullable=True, description="When called (UTC).")
    category_reported: str | None = pa.Field(nullable=True, isin=TICKET_CATEGORIES, description="Category, or null.")
    commune_code: str | None = pa.Field(nullable=True, str_matches=COMMUNE_CODE, description="GSO commune code.")


class StgPopulationCitizen(_AdminCodes):
    """Population register: authoritative, one row per citizen (and snapshot)."""

    citizen_id: str = pa.Field(str_matches=CITIZEN_ID, description="12-digit citizen id.")
    old_id_number: str | None = pa.Field(nullable=True, str_matches=OLD_ID_NUMBER, description="9-digit old ID.")
    full_name: str | None = pa.Field(nullable=True, description="Full name (NFC).")
    date_of_birth: dt.date | None = pa.Field(nullable=True, description="Date of birth.")
    is_birth_year_only: bool | None = pa.Field(nullable=True, description="Only the year of birth is known.")
    gender: str | None = pa.Field(nullable=True, isin=GENDERS, description="male | female.")
    status: str | None = pa.Field(nullable=True, isin=CITIZEN_STATUSES, description="active | deceased | emigrated.")


class StgPoliceReturn(pa.DataFrameModel):
    """Police verification returns, normalised and keyed by the dose record they verify."""

    source: str = pa.Field(isin=DOSE_SOURCES, description="platform | site_batch.")
    source_record_id: str = pa.Field(description="The verified dose record.")
    police_verified_id_digits: str | None = pa.Field(nullable=True, str_matches=DIGITS, description="Verified ID, digits.")
    police_verified_date_of_birth: dt.date | None = pa.Field(nullable=True, description="Verified date of birth.")
    police_verified_gender: str | None = pa.Field(nullable=True, isin=GENDERS, description="male | female | null.")
    police_verified_on: dt.date | None = pa.Field(nullable=True, description="Verification date.")


# dbt model (in schema `staging`) -> schema. Adjust here when the staging models are renamed.
STAGING_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "stg_platform__immunizations": StgPlatformImmunization,
    "stg_site_batches__batch_rows": StgSiteBatchRow,
    "stg_feedback__tickets": StgFeedbackTicket,
    "stg_hotline__calls": StgHotlineCall,
    "stg_population__citizens": StgPopulationCitizen,
    "stg_police_returns__verifications": StgPoliceReturn,
}

STAGING_KEYS: dict[str, tuple[str, ...]] = {
    "stg_platform__immunizations": ("source_record_id",),
    "stg_site_batches__batch_rows": ("source_record_id",),
    "stg_feedback__tickets": ("ticket_id",),
    "stg_hotline__calls": ("ticket_id",),
    "stg_population__citizens": ("citizen_id",),
    "stg_police_returns__verifications": ("source", "source_record_id"),
}
