{#- Every loaded snapshot of the National Population Database: one row per citizen and snapshot date. -#}
{{ config(materialized='table') }}  {#- read by tests, the staging gate and every intermediate model: computed once -#}
with

source as (
    select * from {{ source('population', 'citizens') }}
),

final as (
    select
        _snapshot_date as snapshot_on,
        citizen_id,
        nullif(trim(old_id_number), '') as old_id_number,
        full_name,
        date_of_birth,
        coalesce(birth_year_only, false) as is_birth_year_only,
        gender,
        {{ normalize_admin_code('province_code', 2) }} as province_code,
        {{ normalize_admin_code('district_code', 3) }} as district_code,
        {{ normalize_admin_code('commune_code', 5) }} as commune_code,
        phone,
        status,
        {{ to_utc_naive('_loaded_at') }} as loaded_at
    from source
    where citizen_id is not null
)

select * from final
