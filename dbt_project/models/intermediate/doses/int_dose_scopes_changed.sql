{#-
  R0 of the incremental dose chain (macros/dose_chain.sql): the dose records that are new, changed or gone
  since the last build, i.e. whose (key, received_at) is not in int_dose_records_sequenced as the
  previous build left it, and those whose police return is new or changed (police_return_hash); every
  record when the population changed (int_dose_builds_planned).
  A platform record's received_at is its newest version's updated_at, a site batch row's the load time of
  the newest file version that carries it: a new version always shows. Empty on a full build.
-#}
-- depends_on: {{ ref('int_dose_builds_planned') }}
-- depends_on: {{ ref('stg_police_returns__verifications') }}
{% set previous_build = dose_chain_state_relation() if execute else none %}
with

received as (
    select 'platform/' || source_record_id as dose_record_key, updated_at as received_at
    from {{ ref('stg_platform__immunizations') }}
    union all
    select 'site_batch/' || source_record_id, loaded_at
    from {{ ref('stg_site_batches__batch_rows') }}
),

{% if dose_chain_is_incremental() %}
previous as (
    select dose_record_key, received_at, police_return_hash from {{ previous_build }}
),

plan as (
    select * from {{ ref('int_dose_builds_planned') }}
),

returns as (
    select source || '/' || source_record_id as dose_record_key, hash(returns) as police_return_hash
    from {{ ref('stg_police_returns__verifications') }} as returns
),

changed as (
    select coalesce(received.dose_record_key, previous.dose_record_key) as dose_record_key
    from received
    full outer join previous on received.dose_record_key = previous.dose_record_key
    where received.received_at is distinct from previous.received_at
        -- a new population: every record (an incremental dbt run then equals a full build)
        or not (select is_incremental from plan)
    union
    -- a new or changed police return applies to the record
    select coalesce(returns.dose_record_key, applied.dose_record_key)
    from returns
    full outer join (select * from previous where police_return_hash is not null) as applied
        on returns.dose_record_key = applied.dose_record_key
    where returns.police_return_hash is distinct from applied.police_return_hash
)
{% else %}
changed as (
    select dose_record_key from received where false
)
{% endif %}

select dose_record_key from changed
