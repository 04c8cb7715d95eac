{#- The day a police return counts as verified for choosing the newest return: the typed Ngày xác minh,
    but never later than the day its file arrived (a future date must not win for ever); null stays null
    (DuckDB's least() would skip it). -#}
{% macro police_return_day(verified_on, loaded_at) -%}
    case when {{ verified_on }} is not null then least({{ verified_on }}, cast({{ loaded_at }} as date)) end
{%- endmacro %}


{#- SQL: two name keys name the same person allowing for typing (identity resolution's `is_name_close`:
    equal, Jaro-Winkler >= 0.9, or at most two edits). -#}
{% macro names_close(a, b) -%}
    ({{ a }} = {{ b }} or jaro_winkler_similarity({{ a }}, {{ b }}) >= 0.9 or damerau_levenshtein({{ a }}, {{ b }}) <= 2)
{%- endmacro %}
