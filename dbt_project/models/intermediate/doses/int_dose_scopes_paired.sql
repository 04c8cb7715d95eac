{#-
  R2 of the incremental dose chain (macros/dose_chain.sql): R1 and every record sharing with a record of
  R1, in its new values or in those the previous build saw, one of the keys int_dose_records_deduplicated
  pairs records by: the credited citizen, the ID, the name key + birth date; and the records whose kept
  record (original_key) is one of those. A record outside R2 has the same candidate pairs, with the same
  preferences, and the same kept record as before.
-#}
{#- The previous build's state is read only when continuing it (below); the line declares the dependency for
    dbt (this model runs before the one that writes it), also on a full build. -#}
-- depends_on: {{ source('previous_build', 'dose_chain_state') }}
with

matched as (
    select dose_record_key from {{ ref('int_dose_scopes_matched') }}
),

records as (
    select * from {{ ref('int_dose_records_unioned') }}
),

verified as (
    select * from {{ ref('int_dose_records_verified') }}
),

-- R1's rows as int_dose_records_verified re-derived them
matched_verified as (
    select * from {{ dose_scope_rows(ref('int_dose_records_verified'), ref('int_dose_scopes_matched')) }}
),

{% if dose_chain_is_incremental() %}
previous as (
    select * from {{ source('previous_build', 'dose_chain_state') }}
),

-- each table is scanned once for the scope's keys and once for the records sharing them: no join of
-- the province-wide tables with each other
touched_keys as (
    select
        matched_verified.citizen_id as verified_citizen_id,
        cast(null as string) as id_candidate,
        cast(null as string) as name_key,
        cast(null as date) as date_of_birth
    from matched_verified
    union all
    select null, records.id_candidate, records.name_key, records.date_of_birth
    from records semi join matched using (dose_record_key)
    union all
    select verified_citizen_id, id_candidate, name_key, date_of_birth
    from previous semi join matched using (dose_record_key)
),

scope as (
    select dose_record_key from matched
    union
    select verified.dose_record_key from verified
    where verified.citizen_id in (select verified_citizen_id from touched_keys)
    union
    select records.dose_record_key from records
    where records.id_candidate in (select id_candidate from touched_keys)
    union
    select records.dose_record_key from records
    semi join touched_keys
        on records.name_key = touched_keys.name_key and records.date_of_birth = touched_keys.date_of_birth
),

-- a duplicate points at the kept record of its group (the end of its chain of originals): the records
-- that pointed at a record of the scope are re-derived with it (it may now be a duplicate itself)
scope_and_followers as (
    select dose_record_key from scope
    union
    select previous.dose_record_key from previous
    where previous.original_key in (select dose_record_key from scope)
)
{% else %}
scope_and_followers as (
    select dose_record_key from matched
)
{% endif %}

select dose_record_key from scope_and_followers
