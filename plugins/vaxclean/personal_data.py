"""Personal data: the one declared list of the columns that hold it (stdlib only: the Superset tools import
it too, in their own environment).

Gate reports show these columns masked (first character and length only, vaxclean.schemas._common.mask), the
BI layer never publishes them (vaxclean/publish/bi.py; citizen_id only as its keyed pseudonym), and the
Superset set-up refuses a database file that holds one (vaxclean.bi.safety).
"""

from __future__ import annotations

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
