{#-
  R0 of the incremental dose chain (macros/dose_chain.sql): the dose records that are new, changed or gone
  since the last build: the platform records with a version extracted since the previous build's newest
  staged extraction (int_dose_builds_planned; without it, every record whose (key, received_at) is not in
  int_dose_records_sequenced as the previous build left it), the site batch rows whose load time differs,
  and those whose police return is new or changed (police_return_hash); every record when the
  population changed.
  A platform record's received_at is its newest version's updated_at, a site batch row's the load time of
  the newest file version that carries it: a new version always shows. Empty on a full build.
-#}
-- depends_on: {{ ref('int_dose_builds_planned') }}
-- depends_on: {{ ref('stg_police_returns__verifications') }}
-- depends_on: {{ source('platform', 'immunizations') }}
{% set previous_build = dose_chain_state_relation() if execute else none %}
with

received_site as (
    select 'site_batch/' || source_record_id as dose_record_key, loaded_at as received_at
    from {{ ref('stg_site_batches__batch_rows') }}
),

received as (
    select 'platform/' || source_record_id as dose_record_key, updated_at as received_at
    from {{ ref('stg_platform__immunizations') }}
    union all
    select * from received_site
),

{% if dose_chain_is_incremental() %}
{#- read now (the plan is built before this model): the previous build's newest platform extraction, as a
    literal so that the Parquet scan skips the row groups extracted before it -#}
{%- set plan_row = dose_chain_plan_row() -%}
previous as (
    select dose_record_key, received_at, police_return_hash from {{ previous_build }}
),

returns as (
    select source || '/' || source_record_id as dose_record_key, hash(returns) as police_return_hash
    from {{ ref('stg_police_returns__verifications') }} as returns
),

changed as (
    {%- if not plan_row[0] %}
    -- a new population: every record (an incremental dbt run then equals a full build)
    select dose_record_key from received
    union
    select dose_record_key from previous
    {%- else %}
    {%- set since = plan_row[1] %}
    {%- if since is not none %}
    -- platform records with a version extracted since the previous build (new, edited, withdrawn): the
    -- only ones whose staged row can differ (stg_platform__immunizations re-derives exactly those)
    select distinct 'platform/' || record_id as dose_record_key
    from {{ source('platform', 'immunizations') }}
    where record_id is not null and _extracted_at > '{{ since }}+00'::timestamptz
    union
    {%- endif %}
    -- records new, gone or received again (another version's time, a batch delivered again) since the
    -- previous build: the site batch rows, and without a watermark the platform's too
    select coalesce(received.dose_record_key, previous.dose_record_key) as dose_record_key
    from {{ 'received_site' if since is not none else 'received' }} as received
    full outer join (
        select * from previous
        {%- if since is not none %} where starts_with(dose_record_key, 'site_batch/'){% endif %}
    ) as previous on received.dose_record_key = previous.dose_record_key
    where received.received_at is distinct from previous.received_at
    {%- endif %}
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
