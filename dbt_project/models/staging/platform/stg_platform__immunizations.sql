{#-
  One row per platform record_id: its newest served version, tombstones excluded, normalised.

  Incremental (the platform is the one large source: ~3.2 M versions for the province): a run re-derives
  only the records with something new in the raw layer, i.e. not in the table yet, or with a version
  count or a last extraction time that differs from the table's. Those records' versions are read in
  full, so the newest version, version_count and the normalisation are exactly those of a full build.
  A record whose newest version is now a tombstone comes through as source = 'platform_tombstone' and
  the MERGE deletes it; nothing of it is inserted. A change of the normalisation macros is not
  detected: run with --full-refresh then (docs/scaling.md).
-#}
{%- set tombstone = 'platform_tombstone' -%}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='source_record_id',
    on_schema_change='fail',
    merge_clauses={
        'when_matched': [
            {'condition': "DBT_INTERNAL_SOURCE.source = '" ~ tombstone ~ "'", 'action': 'delete'},
            {'action': 'update', 'mode': 'by_name'},
        ],
        'when_not_matched': [
            {'condition': "DBT_INTERNAL_SOURCE.source = 'platform'", 'action': 'insert', 'mode': 'by_name'},
        ],
    },
) }}
with

source as (
    select * from {{ source('platform', 'immunizations') }}
),

{% if is_incremental() %}
processed as (
    select source_record_id, version_count, last_extracted_at from {{ this }}
),

raw_records as (
    select
        record_id,
        -- distinct served texts: never fewer than the parsed instants the table counts, so a new version
        -- always shows (a record whose texts and instants differ is merely re-derived every run)
        count(distinct updated_at) as version_count,
        max({{ to_utc_naive('_extracted_at') }}) as last_extracted_at
    from source
    where record_id is not null
    group by record_id
),

changed as (
    select raw_records.record_id
    from raw_records
    left join processed on raw_records.record_id = processed.source_record_id
    where processed.source_record_id is null
        or raw_records.version_count <> processed.version_count
        or raw_records.last_extracted_at > processed.last_extracted_at
),

{% endif %}
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
    {%- if is_incremental() %}
        and record_id in (select record_id from changed)
    {%- endif %}
),

ranked as (
    select
        *,
        count(distinct updated_at) over (partition by record_id) as version_count,
        max(extracted_at) over (partition by record_id) as last_extracted_at,
        row_number() over (
            partition by record_id
            order by updated_at desc nulls last, is_deleted desc, extracted_at desc, _load_id desc
        ) as version_rank
    from versions
),

newest as (
    select * from ranked
    where version_rank = 1 {% if not is_incremental() %}and not is_deleted{% endif %}
),

fields as (
    select
        record_id,
        is_deleted,
        updated_at,
        version_count,
        last_extracted_at,
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
        case when is_deleted then '{{ tombstone }}' else 'platform' end as source,
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
        version_count,
        last_extracted_at
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
        version_count,
        last_extracted_at
    from normalized
)

select * from final
