{#- int_complaint_doses_collected (incremental with the dose chain, models/intermediate/complaints). -#}

{#- SQL: the citizens the complaints of this build name (int_complaints_linked). -#}
{% macro complained_citizens_sql() -%}
    select citizen_id from {{ ref('int_complaints_linked') }} where citizen_id is not null
{%- endmacro %}


{#- The citizens a complaint names now and named in no complaint of the previous build (its
    complaint_tracking, read by name: downstream of the caller), as {'sql': a select of citizen_id,
    'count': how many, counted when the caller compiles}. Without a previous complaint_tracking, every
    named citizen. -#}
{% macro complaints_newly_named_citizens() -%}
    {%- set previous = adapter.get_relation(database=target.database, schema=generate_schema_name('marts', none),
                                            identifier='complaint_tracking') -%}
    {%- set sql -%}
        {{ complained_citizens_sql() }}
        {%- if previous is not none %}
        except
        select citizen_id from {{ previous }} where citizen_id is not null
        {%- endif %}
    {%- endset -%}
    {%- set count = run_query('select count(*) from (' ~ sql ~ ')').columns[0].values()[0] if execute else 0 -%}
    {{ return({'sql': sql, 'count': count}) }}
{%- endmacro %}


{#- Pre-hook of int_complaint_doses_collected: drop the rows the select re-derives (R4's records, every
    record of a newly named citizen) and those of citizens no complaint names any more. -#}
{% macro delete_complaint_dose_scope() -%}
    {%- if is_incremental() -%}
        {%- set newly_named = complaints_newly_named_citizens() -%}
        delete from {{ this }}
        where {{ dose_scope_condition(ref('int_dose_scopes_sequenced')) }}
            or linked_citizen_id not in ({{ complained_citizens_sql() }})
            {%- if newly_named['count'] > 0 %}
            or linked_citizen_id in ({{ newly_named['sql'] }})
            {%- endif %}
    {%- endif -%}
{%- endmacro %}
