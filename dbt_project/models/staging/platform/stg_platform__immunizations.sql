{#- One row per platform record_id: its newest served version, tombstones excluded, normalised. -#}
with

source as (
    select * from {{ source('platform', 'immunizations') }}
),

versions as (
    select
        record_id,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        coalesce(deleted, false) as is_deleted,
        payload,
        {{ to_utc_naive('_extracted_at') }} as extracted_at,
        _load_id
    from source
    where record_id is not null
),

ranked as (
    select
        *,
        count(distinct updated_at) over (partition by record_id) as version_count,
        row_number() over (
            partition by record_id
            order by updated_at desc nulls last, is_deleted desc, extracted_at desc, _load_id desc
        ) as version_rank
    from versions
),

newest as (
    select * from ranked
    where version_rank = 1 and not is_deleted
),

fields as (
    select
        record_id,
        updated_at,
        version_count,
        json_extract_string(payload, '$.full_name') as full_name_reported,
        json_extract_string(payload, '$.date_of_birth') as date_of_birth_reported,
        json_extract_string(payload, '$.gender') as gender_reported,
        json_extract_string(payload, '$.id_number') as id_number_reported,
        json_extract_string(payload, '$.phone') as phone_reported,
        json_extract_string(payload, '$.address') as address,
        json_extract_string(payload, '$.province_code') as province_code_reported,
        json_extract_string(payload, '$.district_code') as district_code_reported,
        json_extract_string(payload, '$.commune_code') as commune_code_reported,
        json_extract_string(payload, '$.priority_group') as priority_group,
        json_extract_string(payload, '$.workplace') as workplace,
        json_extract_string(payload, '$.site_code') as site_code,
        json_extract_string(payload, '$.site_name') as site_name,
        json_extract_string(payload, '$.vaccine') as vaccine_reported,
        json_extract_string(payload, '$.lot_number') as lot_number,
        json_extract_string(payload, '$.dose_number') as dose_number_text,
        json_extract_string(payload, '$.vaccinated_on') as vaccinated_on_text,
        json_extract_string(payload, '$.signed') as signed_text,
        json_extract_string(payload, '$.signed_at') as signed_at_text
    from newest
),

normalized as (
    select
        'platform' as source,
        record_id as source_record_id,
        {{ normalize_name('full_name_reported') }} as full_name,
        date_of_birth_reported,
        {{ parse_dob('date_of_birth_reported') }} as dob,
        {{ normalize_gender('gender_reported') }} as gender,
        gender_reported,
        id_number_reported,
        {{ id_digits('id_number_reported') }} as id_digits,
        phone_reported,
        {{ normalize_phone('phone_reported') }} as phone,
        address,
        {{ normalize_admin_code('province_code_reported', 2) }} as province_code,
        {{ normalize_admin_code('district_code_reported', 3) }} as district_code,
        {{ normalize_admin_code('commune_code_reported', 5) }} as commune_code,
        priority_group,
        workplace,
        site_code,
        site_name,
        vaccine_reported,
        {{ vaccine_key('vaccine_reported') }} as vaccine_key,
        lot_number,
        try_cast(regexp_extract(dose_number_text, '(\d+)', 1) as integer) as dose_number_reported,
        {{ parse_date_dmy('vaccinated_on_text') }} as vaccinated_on,
        coalesce(lower(signed_text) in ('true', '1', 'yes'), false) as is_signed,
        {{ to_utc_timestamp('signed_at_text') }} as signed_at,
        updated_at,
        version_count
    from fields
),

final as (
    select
        source,
        source_record_id,
        full_name,
        {{ name_key('full_name') }} as name_key,
        date_of_birth_reported,
        dob.date_of_birth as date_of_birth,
        dob.is_year_only as is_dob_year_only,
        dob.is_day_month_swapped as is_dob_day_month_swapped,
        dob.is_excel_serial as is_dob_excel_serial,
        gender,
        id_number_reported,
        id_digits,
        {{ id_class('id_digits') }} as id_class,
        {{ id_candidate('id_digits') }} as id_candidate,
        phone_reported,
        phone,
        address,
        province_code,
        district_code,
        commune_code,
        priority_group,
        workplace,
        site_code,
        site_name,
        vaccine_reported,
        vaccine_key,
        lot_number,
        dose_number_reported,
        vaccinated_on,
        is_signed,
        signed_at,
        updated_at,
        version_count
    from normalized
)

select * from final
