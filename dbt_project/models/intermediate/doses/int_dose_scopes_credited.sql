{#-
  The citizens whose doses scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql) touches: credited
  before (the previous build) or now. person_vaccination re-derives them; its scoped tests and the
  published file's patch (vaxclean.publish) read the same list. Empty on a full build.
-#}
with

scope as (
    select * from {{ ref('int_dose_scopes_sequenced') }}
),

{#- R4's records as int_dose_records_sequenced re-derived them: the rows it kept (macros/dose_chain.sql), else
    a filter of the 3.2 M records -#}
{%- set sequenced_kept = dose_chain_kept_rows(ref('int_dose_records_sequenced')) %}
sequenced as (
    {%- if sequenced_kept is not none %}
    select * from {{ sequenced_kept }}
    {%- else %}
    select * from {{ ref('int_dose_records_sequenced') }}
    semi join scope using (dose_record_key)
    {%- endif %}
),

credited as (
    select previous_citizen_id as citizen_id from scope
    where previous_citizen_id is not null
    union
    select citizen_id from sequenced
    where citizen_id is not null
)

select citizen_id from credited
