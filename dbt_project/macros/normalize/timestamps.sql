{#-
  to_utc_timestamp: an ISO-8601 text (with Z, an offset, or none) or dd/mm/yyyy[ HH:MM[:SS]] to a naive
  UTC TIMESTAMP. Text without an offset is taken as UTC already (the contracts' convention).
-#}
{% macro to_utc_timestamp(column) -%}
    {%- set t = "trim(cast(" ~ column ~ " as string))" -%}
    (case
        when {{ matches(t, "'(Z|[+-]\\d{2}:?\\d{2})$'") }} then {{ utc_of_offset_text(t) }}
        when {{ matches(t, "'^\\d{1,2}/\\d{1,2}/\\d{4}'") }} then {{ timestamp_dmy(t) }}
        else try_cast({{ t }} as timestamp)
    end)
{%- endmacro %}

{#- to_utc_naive: a TIMESTAMPTZ column (load metadata) as naive UTC. -#}
{% macro to_utc_naive(column) -%}
    {{ return(adapter.dispatch('to_utc_naive', 'vaxclean')(column)) }}
{%- endmacro %}

{% macro duckdb__to_utc_naive(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}

{#- Spark's session time zone is UTC (vaxclean.transform.spark): its timestamps are already so -#}
{% macro spark__to_utc_naive(column) -%}
    {{ column }}
{%- endmacro %}
