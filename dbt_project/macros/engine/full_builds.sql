{#-
  On Spark every build is full (docs/scaling.md, "Spark"): the dose chain's strategies (dose_scope,
  count_delta) and the platform staging's delete+insert are DuckDB's; a Spark build re-derives every row,
  which is what a national batch run does anyway. Three declarations make it so, not a copy of any model:
  - is_incremental() is false on Spark, so a model's SQL always selects every row;
  - so is the dose chain's dose_chain_is_incremental() (macros/dose_chain.sql: its scope models are tables);
  - the `incremental` materialization on Spark builds a table, whatever strategy the model declares.
  On DuckDB both are dbt's own.
-#}
{% macro is_incremental() -%}
    {{ return(adapter.dispatch('is_incremental', 'vaxclean')()) }}
{%- endmacro %}

{% macro default__is_incremental() -%}
    {{ return(dbt.is_incremental()) }}
{%- endmacro %}

{% macro spark__is_incremental() -%}
    {{ return(false) }}
{%- endmacro %}

{% materialization incremental, adapter='spark', supported_languages=['sql'] -%}
    {{ return(dbt.materialization_table_spark()) }}
{%- endmaterialization %}
