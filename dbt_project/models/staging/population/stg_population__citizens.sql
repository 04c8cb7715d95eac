{#-
  The citizens of the newest snapshot, one row each, with the name normalised the same way as every
  other source (name_key is the match key). When the citizen was seen deceased, the first snapshot
  saying so and the last one saying otherwise bound the date of death.
-#}
{{ config(materialized='table') }}  {#- read by tests, the staging gate and every intermediate model: computed once -#}
with

snapshots as (
    select * from {{ ref('stg_population__citizen_snapshots') }}
),

with_history as (
    select
        *,
        max(snapshot_on) over () as newest_snapshot_on,
        min(case when status = 'deceased' then snapshot_on end) over (partition by citizen_id) as deceased_first_seen_on,
        max(case when status <> 'deceased' then snapshot_on end) over (partition by citizen_id) as alive_last_seen_on,
        row_number() over (partition by citizen_id order by snapshot_on desc, loaded_at desc) as row_rank
    from snapshots
),

newest as (
    select * from with_history
    where row_rank = 1 and snapshot_on = newest_snapshot_on
),

normalized as (
    select
        citizen_id,
        old_id_number,
        {{ normalize_name('full_name') }} as full_name,
        date_of_birth,
        is_birth_year_only,
        gender,
        province_code,
        district_code,
        commune_code,
        {{ normalize_phone('phone') }} as phone,
        status,
        snapshot_on,
        deceased_first_seen_on,
        alive_last_seen_on
    from newest
),

final as (
    select
        citizen_id,
        old_id_number,
        full_name,
        {{ name_key('full_name') }} as name_key,
        date_of_birth,
        is_birth_year_only,
        gender,
        province_code,
        district_code,
        commune_code,
        phone,
        status,
        snapshot_on,
        deceased_first_seen_on,
        alive_last_seen_on
    from normalized
)

select * from final
