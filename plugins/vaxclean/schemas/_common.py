"""Vocabulary shared by the schemas of every layer: code formats, enums, soft-check limits, masking.

Soft checks are pandera checks declared with `raise_warning=True` and a `name`; pandera alone only
warns on them. The gates (`vaxclean.gates`) count their failing rows and fail when the share of
failing rows exceeds `SOFT_MAX_SHARE[name]` (default `DEFAULT_SOFT_MAX_SHARE`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

PROVINCE_CODE = r"^\d{2}$"
DISTRICT_CODE = r"^\d{3}$"
COMMUNE_CODE = r"^\d{5}$"
CITIZEN_ID = r"^\d{12}$"
OLD_ID_NUMBER = r"^\d{9}$"
DIGITS = r"^\d+$"
PHONE_DIGITS = r"^\d{9,12}$"
MD5_HEX = r"^[0-9a-f]{32}$"
ISSUE_CODE = r"^[a-z][a-z0-9_]*$"

GENDERS = ("male", "female")
DOSE_SOURCES = ("platform", "site_batch")
COMPLAINT_SOURCES = ("portal", "hotline")
MATCH_STATUSES = ("verified", "corrected", "probable", "needs_review", "unmatched", "duplicate")
CREDITED_STATUSES = ("verified", "corrected", "probable")
WORKLIST_STATUSES = ("open", "returned", "applied", "rejected")
TICKET_CHANNELS = ("portal", "zalo", "email", "in_person")
TICKET_CATEGORIES = (
    "missing_dose", "wrong_personal_info", "wrong_dose_info", "certificate_not_issued", "duplicate_record", "other",
)
TICKET_STATUSES = ("received", "assigned", "in_progress", "resolved", "rejected")
CITIZEN_STATUSES = ("active", "deceased", "emigrated")

# The vaccination campaign; a dose dated outside it is most likely a typo (soft check).
CAMPAIGN_START = dt.date(2021, 1, 1)
CAMPAIGN_END = dt.date(2023, 12, 31)
DOSE_NUMBER_MAX = 10

DEFAULT_SOFT_MAX_SHARE = 0.0
SOFT_MAX_SHARE: dict[str, float] = {
    "ticket_codes_known": 0.02,
    "vaccinated_on_in_campaign": 0.01,
    "dose_number_plausible": 0.01,
    "date_of_birth_plausible": 0.01,
    "id_number_known_length": 0.10,
    "commune_code_known_format": 0.05,
}

# Columns a report shows for a failing dataframe-level check, besides the table's key.
CHECK_COLUMNS: dict[str, tuple[str, ...]] = {
    "credited_has_citizen_id": ("match_status", "citizen_id"),
    "duplicate_points_at_original": ("match_status", "duplicate_of_source", "duplicate_of_record_id"),
    "duplicate_not_of_itself": ("duplicate_of_source", "duplicate_of_record_id"),
    "first_dose_not_after_latest": ("first_dose_on", "latest_dose_on"),
    "boosters_within_credited": ("doses_credited", "booster_doses"),
    "one_item_per_dose_record": ("source", "source_record_id"),
    "police_result_only_once_returned": ("status", "police_result"),
    "resolved_not_before_received": ("received_at", "resolved_at"),
    "sla_due_not_before_received": ("received_at", "sla_due_at"),
    "credited_within_received": ("doses_received", "doses_credited"),
    "eligible_within_vaccinated": ("persons_vaccinated", "persons_passport_eligible"),
    "received_is_loaded_plus_quarantined": ("received", "loaded", "quarantined"),
}


def soft_max_share(check_name: str | None) -> float:
    """The share of failing rows a soft check tolerates before its gate fails."""
    return SOFT_MAX_SHARE.get(check_name or "", DEFAULT_SOFT_MAX_SHARE)


def mask(value: object) -> str | None:
    """Show a personal value without revealing it: first character and length, e.g. `0…(12)`."""
    if value is None:
        return None
    text = str(value)
    return f"{text[:1]}…({len(text)})" if text else "''"


def implies(condition: pl.Expr, consequence: pl.Expr) -> pl.Expr:
    """Row-wise `condition ⇒ consequence`, with null conditions counting as false."""
    return ~condition.fill_null(False) | consequence.fill_null(False)


def in_campaign(column: str) -> pl.Expr:
    return pl.col(column).is_null() | pl.col(column).is_between(CAMPAIGN_START, CAMPAIGN_END)


def all_elements_match(column: str, pattern: str) -> pl.Expr:
    """Every element of a list column matches `pattern` (null lists and empty lists pass)."""
    return pl.col(column).list.eval(pl.element().str.contains(pattern).fill_null(False)).list.all().fill_null(True)
