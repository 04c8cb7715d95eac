{#-
  The marts' SQL that DuckDB and Spark write differently (adapter.dispatch: duckdb__ / spark__), as
  macros/engine/sql.sql does for the rest of the project.
-#}

{#- the continuous percentile of `value` in the group (an aggregate; `fraction` in [0, 1]): linear
    interpolation between the two values lo, hi around rank r = (n - 1) * fraction, d = r - floor(r); null
    when every value is null.
    Spark gives DuckDB's double to the last bit: DuckDB computes lo * (1 - d) + hi * d (lo itself when d = 0),
    the sum fused with the multiplication by lo (one rounding: a fused multiply-add, as its build compiles it;
    checked on every group of a generated scenario); Java's Math.fma (through reflect) does the same. Spark's
    own percentile_cont computes lo + (hi - lo) * d, which differs in the last bit now and then. -#}
{% macro continuous_percentile(value, fraction) -%}
    {{ return(adapter.dispatch('continuous_percentile', 'vaxclean')(value, fraction)) }}
{%- endmacro %}
{% macro duckdb__continuous_percentile(value, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ value }})
{%- endmacro %}
{% macro spark__continuous_percentile(value, fraction) -%}
    {#- sorted: the group's values in order (indexed from 0); r, lo, hi, d as above -#}
    {%- set r = '((size(sorted) - 1) * cast(' ~ fraction ~ ' as double))' -%}
    {%- set lo = 'sorted[cast(floor(' ~ r ~ ') as int)]' -%}
    {%- set hi = 'sorted[cast(ceil(' ~ r ~ ') as int)]' -%}
    {%- set d = '(' ~ r ~ ' - floor(' ~ r ~ '))' -%}
    transform(
        array(array_sort(collect_list(cast({{ value }} as double)))),
        sorted -> case
            when size(sorted) = 0 then null
            when {{ d }} = 0 then {{ lo }}
            else cast(reflect('java.lang.Math', 'fma', {{ lo }}, 1 - {{ d }}, {{ hi }} * {{ d }}) as double)
        end
    )[0]
{%- endmacro %}
