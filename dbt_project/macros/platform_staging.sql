{#-
  The data tests of stg_platform__immunizations on an incremental run check the records it re-derived (all
  rows of their keys: a key left twice by the delete + insert is seen), not again the rows that did
  not change and passed before; a full build checks every row.
  Its pre-hook keeps the newest extraction the table had before the run (what the model's `changed` CTE
  starts from) in <staging>.stg_platform__immunizations__since; null on a full build.
-#}
{% macro platform_staging_since_relation(relation) -%}
    {{ return(api.Relation.create(database=relation.database, schema=relation.schema,
                                  identifier='stg_platform__immunizations__since')) }}
{%- endmacro %}


{#- Pre-hook of stg_platform__immunizations (a null time: every row is re-derived). A Spark build is full and its
    tests read every row: nothing to keep (macros/engine/full_builds.sql). -#}
{% macro keep_platform_staging_since() -%}
    {{ return(adapter.dispatch('keep_platform_staging_since', 'vaxclean')()) }}
{%- endmacro %}

{% macro spark__keep_platform_staging_since() -%}
{%- endmacro %}

{% macro default__keep_platform_staging_since() -%}
    create or replace table {{ platform_staging_since_relation(this) }} as
    {% if is_incremental() -%}
        select max(last_extracted_at) as since from {{ this }}
    {%- else -%}
        select null::timestamp as since
    {%- endif %}
{%- endmacro %}


{#- What the model's tests read (duckdb__get_where_subquery): the rows of the records re-derived since
    the kept extraction time, or `base` (every row) after a full build. Read when the test runs. -#}
{% macro platform_staging_rederived(relation, base) -%}
    {%- if not execute -%}
        {{ return(base) }}
    {%- endif -%}
    {%- set since = platform_staging_since_relation(relation) -%}
    {%- set kept = run_query("select " ~ table_exists_sql(since)).columns[0].values()[0] -%}  {#- dose_chain.sql -#}
    {%- set value = run_query("select max(since)::string from " ~ since).columns[0].values()[0] if kept else none -%}
    {%- if value is none -%}
        {{ return(base) }}
    {%- endif -%}
    {%- set rederived -%}
        (select * from {{ base }} where source_record_id in (
            select source_record_id from {{ base }} where last_extracted_at > '{{ value }}'::timestamp
        )) dbt_scoped
    {%- endset -%}
    {{ return(rederived) }}
{%- endmacro %}


{#- Post-hook of stg_platform__immunizations: an incremental run brought the records whose newest version is a
    tombstone to delete their old rows; the tombstones go too. A full build selects none. -#}
{% macro delete_platform_tombstones(tombstone) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where source = '{{ tombstone }}'
    {%- endif -%}
{%- endmacro %}
