{#-
  Every dose record received (platform: newest version, tombstones excluded; site batches: newest file
  version), in one shape, with the vaccine resolved to a canonical code through the alias seed: the
  exact alias first, else the longest alias contained in the typed name.
-#}
with

platform as (
    select * from {{ ref('stg_platform__immunizations') }}
),

site_batches as (
    select * from {{ ref('stg_site_batches__batch_rows') }}
),

aliases as (
    select * from {{ ref('ref_vaccine_aliases') }}
),

vaccines as (
    select * from {{ ref('ref_vaccines') }}
),

unioned as (
    select
        source, source_record_id, full_name, name_key, date_of_birth_reported, date_of_birth, is_dob_year_only,
        is_dob_day_month_swapped, is_dob_excel_serial, gender, id_number_reported, id_digits, id_class,
        id_candidate, phone_reported, phone, province_code, district_code, commune_code, site_code,
        vaccine_reported, vaccine_key, lot_number, dose_number_reported, vaccinated_on, is_signed,
        updated_at as received_at
    from platform
    union all
    select
        source, source_record_id, full_name, name_key, date_of_birth_reported, date_of_birth, is_dob_year_only,
        is_dob_day_month_swapped, is_dob_excel_serial, gender, id_number_reported, id_digits, id_class,
        id_candidate, phone_reported, phone, province_code, district_code, commune_code, site_code,
        vaccine_reported, vaccine_key, lot_number, dose_number_reported, vaccinated_on, is_signed,
        loaded_at as received_at
    from site_batches
),

alias_hits as (
    select
        unioned.source,
        unioned.source_record_id,
        aliases.vaccine_code,
        row_number() over (
            partition by unioned.source, unioned.source_record_id
            order by (aliases.match_type = 'exact') desc, length(aliases.alias_key) desc, aliases.vaccine_code
        ) as hit_rank
    from unioned
    inner join aliases
        on unioned.vaccine_key = aliases.alias_key
        or (aliases.match_type = 'contains' and contains(unioned.vaccine_key, aliases.alias_key))
),

final as (
    select
        unioned.source || '/' || unioned.source_record_id as dose_record_key,
        unioned.*,
        alias_hits.vaccine_code,
        coalesce(vaccines.product_family, 'unknown:' || coalesce(unioned.vaccine_key, '')) as vaccine_family,
        (
            nullif(trim(unioned.date_of_birth_reported), '') is not null and unioned.date_of_birth is null
        ) as is_dob_unparseable
    from unioned
    left join alias_hits
        on unioned.source = alias_hits.source
        and unioned.source_record_id = alias_hits.source_record_id
        and alias_hits.hit_rank = 1
    left join vaccines on alias_hits.vaccine_code = vaccines.vaccine_code
)

select * from final
