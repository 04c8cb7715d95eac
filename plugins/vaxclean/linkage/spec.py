"""The Splink model's shape: link_only between dose records (left) and citizens (right).

Blocking (each rule is an equi-join, so the work grows with block sizes, not with N x M):
  birth date + family name; birth date + given name; name key + birth year; commune + name key (a wrong
  or missing birth year); phone. (Birth date alone makes ~36 candidates per record at 1.3 M citizens;
  commune + family + given name made 5.4 M of 8.5 M candidate pairs at 1.3 M and changed no credit on
  the 20k demo, so the whole name key is required with the commune.)
Comparisons (levels in decreasing specificity; name levels term-frequency adjusted):
  name, birth date (exact, day/month swapped, year-only on either side, within a month, same day and
  month one year off), gender, commune (same commune, same district), phone.
"""

from __future__ import annotations

from typing import Any


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _null(*columns: str) -> dict[str, Any]:
    sql = " or ".join(f'"{c}_l" is null or "{c}_r" is null' for c in columns)
    return _level(sql, "null", is_null_level=True)


def name_comparison() -> dict[str, Any]:
    return {
        "output_column_name": "name_key",
        "comparison_levels": [
            _null("name_key"),
            _level('"name_key_l" = "name_key_r"', "exact name key", tf_adjustment_column="name_key",
                   tf_adjustment_weight=1.0),
            _level('damerau_levenshtein("name_key_l", "name_key_r") <= 1', "one edit"),
            _level('"family_key_l" = "family_key_r" and "given_key_l" = "given_key_r"',
                   "family and given name, other middle name"),
            _level('jaro_winkler_similarity("name_key_l", "name_key_r") >= 0.92', "jaro-winkler >= 0.92"),
            _level("ELSE", "all other"),
        ],
    }


def dob_comparison() -> dict[str, Any]:
    return {
        "output_column_name": "dob",
        "comparison_levels": [
            _null("birth_year"),
            _level('"dob_full_l" = "dob_full_r"', "exact date"),
            _level('"dob_full_l" = "dob_swapped_r"', "day and month swapped"),
            _level('("is_dob_year_only_l" or "is_dob_year_only_r") and "birth_year_l" = "birth_year_r"',
                   "year only on a side, same year"),
            _level('abs(date_diff(\'day\', "dob_full_l", "dob_full_r")) <= 31', "within a month"),
            _level('abs("birth_year_l" - "birth_year_r") = 1 and month("dob_full_l") = month("dob_full_r") '
                   'and day("dob_full_l") = day("dob_full_r")', "same day and month, a year off"),
            _level("ELSE", "all other"),
        ],
    }


def simple_comparison(column: str) -> dict[str, Any]:
    return {
        "output_column_name": column,
        "comparison_levels": [
            _null(column),
            _level(f'"{column}_l" = "{column}_r"', "exact"),
            _level("ELSE", "all other"),
        ],
    }


def commune_comparison() -> dict[str, Any]:
    return {
        "output_column_name": "commune_code",
        "comparison_levels": [
            _null("commune_code"),
            _level('"commune_code_l" = "commune_code_r"', "same commune"),
            _level('"district_code_l" = "district_code_r"', "same district"),
            _level("ELSE", "all other"),
        ],
    }


BLOCKING_RULES = [
    'l.dob_full = r.dob_full and l.family_key = r.family_key',
    'l.dob_full = r.dob_full and l.given_key = r.given_key',
    'l.name_key = r.name_key and l.birth_year = r.birth_year',
    'l.commune_code = r.commune_code and l.name_key = r.name_key',
    'l.phone = r.phone',
]


def settings_dict() -> dict[str, Any]:
    return {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 1e-5,
        "blocking_rules_to_generate_predictions": [{"blocking_rule": r} for r in BLOCKING_RULES],
        "comparisons": [
            name_comparison(),
            dob_comparison(),
            simple_comparison("gender"),
            commune_comparison(),
            simple_comparison("phone"),
        ],
        "retain_intermediate_calculation_columns": False,
        "retain_matching_columns": False,
        "additional_columns_to_retain": [],
    }
