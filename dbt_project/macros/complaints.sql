{#- int_complaint_doses_collected (incremental with the dose chain, models/intermediate/complaints). -#}

{#- SQL: the citizens the complaints of this build name (int_complaints_linked). -#}
{% macro complained_citizens_sql() -%}
    select citizen_id from {{ ref('int_complaints_linked') }} where citizen_id is not null
{%- endmacro %}


{#- SQL: the citizens a complaint names now and named in no complaint of the previous build (its
    int_complaint_citizens_collected, the source previous_build.complaint_citizens). -#}
{% macro complaints_newly_named_citizens_sql() -%}
    {{ complained_citizens_sql() }}
    except
    select citizen_id from {{ source('previous_build', 'complaint_citizens') }}
{%- endmacro %}


{#- Pre-hook of int_complaint_doses_collected: drop the rows the select re-derives (R4's records, every
    record of a newly named citizen) and those of citizens no complaint names any more. -#}
{% macro delete_complaint_dose_scope() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ dose_scope_condition(ref('int_dose_scopes_sequenced')) }}
            or linked_citizen_id not in ({{ complained_citizens_sql() }})
            or linked_citizen_id in ({{ complaints_newly_named_citizens_sql() }})
    {%- endif -%}
{%- endmacro %}
