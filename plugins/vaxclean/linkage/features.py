"""Comparison columns for linkage, computed in SQL that DuckDB and Spark read alike, from the normalised staging
columns.

Both sides (dose records and citizens) get the same columns so Splink compares like with like:
  unique_id, name_key (no diacritics, `đ`->d), family_key, given_key, dob_full (null when only the
  year is known), dob_swapped (day and month exchanged, when both <= 12), birth_year,
  is_dob_year_only, gender, commune_code, district_code, phone.
"""

from __future__ import annotations

FEATURE_COLUMNS = [
    "unique_id", "name_key", "family_key", "given_key", "dob_full", "dob_swapped", "birth_year",
    "is_dob_year_only", "gender", "commune_code", "district_code", "phone",
]


def feature_sql(relation: str, *, id_column: str, year_only_column: str) -> str:
    """SELECT of the feature columns from `relation`, which carries name_key, date_of_birth,
    `year_only_column`, gender, commune_code, district_code and phone."""
    return f"""
        select
            cast({id_column} as string) as unique_id,
            nullif(name_key, '') as name_key,
            nullif(split_part(name_key, ' ', 1), '') as family_key,
            nullif(regexp_extract(name_key, '([^ ]+)$', 1), '') as given_key,
            case when not coalesce({year_only_column}, false) then date_of_birth end as dob_full,
            case when not coalesce({year_only_column}, false) and day(date_of_birth) <= 12
                      and day(date_of_birth) <> month(date_of_birth)
                 then make_date(year(date_of_birth), day(date_of_birth), month(date_of_birth)) end as dob_swapped,
            year(date_of_birth) as birth_year,
            coalesce({year_only_column}, false) as is_dob_year_only,
            gender,
            commune_code,
            district_code,
            phone
        from {relation}
    """
