{#- The day a police return counts as verified for choosing the newest return: the typed Ngày xác minh,
    but never later than the day its file arrived (a future date must not win for ever); null stays null
    (DuckDB's least() would skip it). -#}
{% macro police_return_day(verified_on, loaded_at) -%}
    case when {{ verified_on }} is not null then least({{ verified_on }}, cast({{ loaded_at }} as date)) end
{%- endmacro %}
