{#-
  R0 of the incremental dose chain (macros/dose_chain.sql): the dose records that are new, changed or gone
  since the previous build: the platform records with a version extracted after the newest extraction the
  previous build had (its chain state), the site batch rows whose load time differs, and those whose
  police return is new or changed (police_return_hash); has_new_platform_version says which platform
  records have a new version. A platform record's received_at is its newest
  version's updated_at, a site batch row's the load time of the newest file version that carries it: a
  new version always shows. Empty on a full build.
-#}
{#- The previous build's state is read only when continuing it (below); the line declares the dependency for
    dbt (this model runs before the one that writes it), also on a full build. -#}
-- depends_on: {{ source('previous_build', 'dose_chain_state') }}
with

platform_versions as (
    select record_id, _extracted_at from {{ source('platform', 'immunizations') }}
),

site_batches as (
    select 'site_batch/' || source_record_id as dose_record_key, loaded_at as received_at
    from {{ ref('stg_site_batches__batch_rows') }}
),

returns as (
    select source || '/' || source_record_id as dose_record_key, police_returns_hash as police_return_hash
    from {{ ref('stg_police_returns__verifications') }}
),

{% if dose_chain_is_incremental() %}
previous as (
    select dose_record_key, received_at, police_return_hash from {{ source('previous_build', 'dose_chain_state') }}
),

-- the newest platform extraction the previous build had: the scan below skips the files extracted before it
previous_watermark as (
    select {{ to_utc_naive('extracted_until') }} as extracted_until from ({{ previous_extraction_watermark() }})
),

changes as (
    -- platform records with a version extracted since the previous build (new, edited, withdrawn): the
    -- only ones whose staged row can differ (stg_platform__immunizations re-derives exactly those)
    select distinct 'platform/' || platform.record_id as dose_record_key, true as is_new_platform_version
    from platform_versions as platform
    inner join previous_watermark on platform._extracted_at > previous_watermark.extracted_until
    where platform.record_id is not null
    union all
    -- site batch rows new, gone or delivered again
    select coalesce(site_batches.dose_record_key, previous.dose_record_key), false
    from site_batches
    full outer join (
        select * from previous where left(dose_record_key, 11) = 'site_batch/'
    ) as previous on site_batches.dose_record_key = previous.dose_record_key
    where site_batches.received_at is distinct from previous.received_at
    union all
    -- a new or changed police return applies to the record
    select coalesce(returns.dose_record_key, applied.dose_record_key), false
    from returns
    full outer join (select * from previous where police_return_hash is not null) as applied
        on returns.dose_record_key = applied.dose_record_key
    where returns.police_return_hash is distinct from applied.police_return_hash
),

changed as (
    -- has_new_platform_version: int_dose_records_unioned reads those from the newest row groups only
    select dose_record_key, bool_or(is_new_platform_version) as has_new_platform_version
    from changes
    group by dose_record_key
)
{% else %}
changed as (
    select cast(null as string) as dose_record_key, cast(null as boolean) as has_new_platform_version where false
)
{% endif %}

select dose_record_key, has_new_platform_version from changed
