{#-
  R2 of the incremental dose chain (macros/dose_chain.sql): R1 and every record sharing with a record of
  R1, in its new values or in those the previous build saw, one of the keys int_dose_records_deduplicated
  pairs records by: the credited citizen, the ID, the name key + birth date. A record outside R2 has the
  same candidate pairs, with the same preferences, as before.
-#}
-- depends_on: {{ ref('int_dose_records_unioned') }}
-- depends_on: {{ ref('int_dose_records_verified') }}
{% set previous_build = dose_chain_state_relation() if execute else none %}
with

matched as (
    select dose_record_key from {{ ref('int_dose_scopes_matched') }}
),

{% if dose_chain_is_incremental() %}
current_keys as (
    select
        records.dose_record_key,
        verified.citizen_id as verified_citizen_id,
        records.id_candidate,
        records.name_key,
        records.date_of_birth
    from {{ ref('int_dose_records_unioned') }} as records
    inner join {{ ref('int_dose_records_verified') }} as verified
        on records.dose_record_key = verified.dose_record_key
),

touched_keys as (
    select verified_citizen_id, id_candidate, name_key, date_of_birth
    from current_keys semi join matched using (dose_record_key)
    union all
    select verified_citizen_id, id_candidate, name_key, date_of_birth
    from {{ previous_build }} as previous semi join matched using (dose_record_key)
),

scope as (
    select dose_record_key from matched
    union
    select current_keys.dose_record_key from current_keys
    where current_keys.verified_citizen_id in (select verified_citizen_id from touched_keys)
    union
    select current_keys.dose_record_key from current_keys
    where current_keys.id_candidate in (select id_candidate from touched_keys)
    union
    select current_keys.dose_record_key from current_keys
    semi join touched_keys
        on current_keys.name_key = touched_keys.name_key and current_keys.date_of_birth = touched_keys.date_of_birth
)
{% else %}
scope as (
    select dose_record_key from matched
)
{% endif %}

select dose_record_key from scope
