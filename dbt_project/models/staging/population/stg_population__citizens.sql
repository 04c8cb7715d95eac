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

newest_snapshot as (
    select max(snapshot_on) as snapshot_on from snapshots
),

history as (
    select
        citizen_id,
        min(case when status = 'deceased' then snapshot_on end) as deceased_first_seen_on,
        max(case when status <> 'deceased' then snapshot_on end) as alive_last_seen_on
    from snapshots
    group by citizen_id
),

newest as (
    select snapshots.*
    from snapshots
    inner join newest_snapshot on snapshots.snapshot_on = newest_snapshot.snapshot_on
    qualify row_number() over (partition by snapshots.citizen_id order by snapshots.loaded_at desc) = 1
),

{#- names repeat: normalised once per distinct name, then joined back #}
names as (
    select
        full_name as full_name_reported,
        {{ normalize_name('full_name') }} as full_name
    from (select distinct full_name from newest)
),

names_keyed as (
    select
        full_name_reported,
        full_name,
        {{ name_key('full_name') }} as name_key
    from names
),

normalized as (
    select
        newest.citizen_id,
        newest.old_id_number,
        names_keyed.full_name,
        names_keyed.name_key,
        newest.date_of_birth,
        newest.is_birth_year_only,
        newest.gender,
        newest.province_code,
        newest.district_code,
        newest.commune_code,
        {{ normalize_phone('newest.phone') }} as phone,
        newest.status,
        newest.snapshot_on,
        history.deceased_first_seen_on,
        history.alive_last_seen_on
    from newest
    inner join history on newest.citizen_id = history.citizen_id
    left join names_keyed on newest.full_name is not distinct from names_keyed.full_name_reported
),

final as (
    select
        citizen_id,
        old_id_number,
        full_name,
        name_key,
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
