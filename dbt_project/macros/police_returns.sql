{#- The day a police return counts as verified for choosing the newest return: the typed Ngày xác minh,
    but never later than the day its file arrived (a future date must not win for ever); null stays null
    (DuckDB's least() would skip it). -#}
{% macro police_return_day(verified_on, loaded_at) -%}
    case when {{ verified_on }} is not null then least({{ verified_on }}, cast({{ loaded_at }} as date)) end
{%- endmacro %}

{#- The order of a record's police return rows, newest first (`newest_first`) or oldest first: by the day
    they count as verified (police_return_day), then load time, file and line. One order for the staging's
    newest return, the validation's applied one and the history's recency and sequence. Every null placement
    is spelled out: Spark puts nulls first in an ascending order, DuckDB last. -#}
{% macro police_return_order(newest_first=true) -%}
    {%- if newest_first -%}
    {{ police_return_day('police_verified_on', 'loaded_at') }} desc nulls last, loaded_at desc, file_path desc, line_number desc
    {%- else -%}
    {{ police_return_day('police_verified_on', 'loaded_at') }} nulls first, loaded_at nulls last, file_path nulls last,
    line_number nulls last
    {%- endif -%}
{%- endmacro %}
