"""Personal data: the one declared list of the columns that hold it (stdlib only: the Superset tools import
it too, in their own environment).

Gate reports show these columns masked (first character and length only, vaxclean.schemas._common.mask), the
BI layer never publishes them (vaxclean/publish/bi.py; citizen_id only as its keyed pseudonym), and the
Superset set-up refuses a database file that holds one (vaxclean.bi.safety).

`mask_text` is the one masking of free text that may quote a value (an exception, an API error body, dbt's
failure message, an alert): gate reports' errors (vaxclean.gates.report.safe_error), dbt failures
(vaxclean.transform.dbt), API errors (vaxclean.extract.client) and alerts (vaxclean.alerts) pass through it.
"""

from __future__ import annotations

import re

PERSONAL_COLUMNS = frozenset({
    "full_name", "date_of_birth", "id_number", "phone", "citizen_id", "old_id_number", "address",
    "candidate_citizen_id", "candidate_full_name", "candidate_date_of_birth",
    "police_verified_id_number", "police_verified_full_name", "police_verified_date_of_birth",
    "verified_id_number", "verified_full_name", "verified_date_of_birth",
    "payload", "raw_text", "description", "other_columns", "workplace", "name_normalized",
    "full_name_normalized", "id_number_raw", "phone_raw", "date_of_birth_raw",
    "id_digits", "id_candidate", "police_verified_id_digits", "police_verifier", "id_number_reported",
    "phone_reported", "date_of_birth_reported", "full_name_reported", "verified_citizen_id",
    # free text people type (a verification result cell can carry a note about a person), as `description`
    "police_result_reported",
})

# what a message may quote of a person: a quoted value (DuckDB, Python and dbt quote the value they failed
# on), a whole number of 7 digits or more (ID numbers, phones; not the digits inside a record id such as
# IMM010000288; not an ISO date or timestamp, which logs and alerts need) and a typed date (dd/mm/yyyy)
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|«[^»\n]*»")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_\-:./])(?!\d{4}-\d{2}-\d{2}(?!\d))\+?\d[\d .\-]{5,}\d(?![A-Za-z0-9_])")
_TYPED_DATE = re.compile(r"(?<!\d)\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}(?!\d)")


def mask_text(text: str) -> str:
    """`text` without what could be a person's value: quoted parts, long numbers, typed dates."""
    text = _QUOTED.sub("'…'", text)
    text = _TYPED_DATE.sub("…", text)
    return _NUMBER.sub("…", text)
