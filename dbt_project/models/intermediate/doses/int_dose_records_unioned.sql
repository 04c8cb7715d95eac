{#-
  Every dose record received (platform: newest version, tombstones excluded; site batches: newest file
  version), in one shape, with the vaccine resolved to a canonical code through the alias seed: the
  exact alias first, else the longest alias contained in the typed name.
  Admin codes are checked against the reference units (ref_admin_units, plus the communes of
  ref_admin_unit_changes): an unknown commune or district code, or a commune outside the reported district,
  is flagged, and link_commune_code / link_district_code (what linkage may use as evidence) are null then.
  received_at: the newest version's updated_at (platform) or the load time (site batches); extracted_at:
  the newest extraction of any version of the platform record (the next build's watermark is the newest
  of all, int_dose_chain_state; null for site batches).
  Incremental by scope R0 (int_dose_scopes_changed, macros/dose_chain.sql): a record's row reads only
  the record.
-#}
{#- The previous build's state is read only when continuing it (below); the line declares the dependency for
    dbt (this model runs before the one that writes it), also on a full build. -#}
-- depends_on: {{ source('previous_build', 'dose_chain_state') }}
with

-- R0's platform records (int_dose_scopes_changed): on an incremental build, those with a new version come
-- from the few newest row groups of the staging table (the join with the one-row watermark lets DuckDB
-- skip the others), the rest of R0's (a new or changed police return) by their keys; with none, that read
-- is skipped.
platform_scope as (
    select substr(dose_record_key, 10) as source_record_id, has_new_platform_version
    from {{ ref('int_dose_scopes_changed') }}
    where left(dose_record_key, 9) = 'platform/'
),

{% if is_incremental() %}
previous_watermark as (
    {{ previous_extraction_watermark() }}
),

platform as (
    select staged.* from {{ ref('stg_platform__immunizations') }} as staged
    semi join previous_watermark on staged.last_extracted_at > previous_watermark.extracted_until
    where staged.source_record_id in (select source_record_id from platform_scope where has_new_platform_version)
    union all
    select * from {{ ref('stg_platform__immunizations') }}
    where source_record_id in (select source_record_id from platform_scope where not has_new_platform_version)
),
{% else %}
platform as (
    select * from {{ ref('stg_platform__immunizations') }}
),
{% endif %}

site_batches as (
    select * from {{ ref('stg_site_batches__batch_rows') }}
    where {{ in_dose_scope(ref('int_dose_scopes_changed'), "'site_batch/' || source_record_id") }}
),

aliases as (
    select * from {{ ref('ref_vaccine_aliases') }}
),

vaccines as (
    select * from {{ ref('ref_vaccines') }}
),

admin_units as (
    select * from {{ ref('ref_admin_units') }}
),

admin_unit_changes as (
    select * from {{ ref('ref_admin_unit_changes') }}
),

known_communes as (
    select commune_code, district_code from admin_units
    union
    -- a commune created or renumbered later (its district is then unknown to the 2020-2022 list)
    select commune_code, null as district_code from admin_unit_changes
    where commune_code not in (select commune_code from admin_units)
),

known_districts as (
    select distinct district_code from admin_units
),

unioned as (
    select
        source, source_record_id, full_name, name_key, date_of_birth_reported, date_of_birth, is_dob_year_only,
        is_dob_day_month_swapped, is_dob_excel_serial, gender, id_number_reported, id_digits, id_class,
        id_candidate, phone_reported, phone, province_code, district_code, commune_code, site_code, site_name,
        workplace, vaccine_reported, vaccine_key, lot_number, dose_number_reported, vaccinated_on, is_signed,
        updated_at as received_at, last_extracted_at as extracted_at
    from platform
    union all
    select
        source, source_record_id, full_name, name_key, date_of_birth_reported, date_of_birth, is_dob_year_only,
        is_dob_day_month_swapped, is_dob_excel_serial, gender, id_number_reported, id_digits, id_class,
        id_candidate, phone_reported, phone, province_code, district_code, commune_code, site_code,
        -- a batch file has no site name column (its folder is the site's code)
        cast(null as string) as site_name, workplace, vaccine_reported, vaccine_key, lot_number, dose_number_reported,
        vaccinated_on, is_signed, loaded_at as received_at, cast(null as timestamp) as extracted_at
    from site_batches
),

vaccine_keys as (
    -- the alias match depends on the key alone: resolve the few distinct keys, not every record
    select distinct vaccine_key from unioned where vaccine_key is not null
),

alias_hits as (
    select
        vaccine_keys.vaccine_key,
        aliases.vaccine_code,
        row_number() over (
            partition by vaccine_keys.vaccine_key
            order by (aliases.match_type = 'exact') desc, length(aliases.alias_key) desc, aliases.vaccine_code
        ) as hit_rank
    from vaccine_keys
    inner join aliases
        on vaccine_keys.vaccine_key = aliases.alias_key
        or (aliases.match_type = 'contains' and contains(vaccine_keys.vaccine_key, aliases.alias_key))
),

admin_checked as (
    select
        unioned.*,
        (
            -- the reference lists Thái Nguyên's units only (GSO province 19)
            coalesce(unioned.province_code, '19') = '19'
            and (
                (unioned.commune_code is not null and known_communes.commune_code is null)
                or (unioned.district_code is not null and known_districts.district_code is null)
            )
        ) as is_admin_code_unknown,
        coalesce(known_communes.district_code <> unioned.district_code, false) as is_commune_district_mismatch
    from unioned
    left join known_communes on unioned.commune_code = known_communes.commune_code
    left join known_districts on unioned.district_code = known_districts.district_code
),

final as (
    select
        unioned.source || '/' || unioned.source_record_id as dose_record_key,
        unioned.*,
        case when not unioned.is_admin_code_unknown and not unioned.is_commune_district_mismatch
            then unioned.commune_code end as link_commune_code,
        case when not unioned.is_admin_code_unknown and not unioned.is_commune_district_mismatch
            then unioned.district_code end as link_district_code,
        alias_hits.vaccine_code,
        coalesce(vaccines.product_family, 'unknown:' || coalesce(unioned.vaccine_key, '')) as vaccine_family,
        (
            nullif(trim(unioned.date_of_birth_reported), '') is not null and unioned.date_of_birth is null
        ) as is_dob_unparseable,
        -- what the record's phone evidence reads: the next build's R1 compares it (int_dose_scopes_matched)
        {{ phone_evidence_hash('unioned') }} as phone_evidence_hash
    from admin_checked as unioned
    left join alias_hits
        on unioned.vaccine_key = alias_hits.vaccine_key
        and alias_hits.hit_rank = 1
    left join vaccines on alias_hits.vaccine_code = vaccines.vaccine_code
)

select * from final
