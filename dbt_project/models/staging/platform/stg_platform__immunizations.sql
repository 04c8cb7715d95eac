{#-
  One row per platform record_id: its newest served version, tombstones excluded, normalised.

  Incremental (the platform is the one large source: millions of versions for a province): a run re-derives
  only the records with a version extracted after the newest extraction the table has seen (a re-run of
  an extraction window rewrites its file with new extraction times). Those records' versions are read in
  full, so the newest version, version_count and the normalisation are exactly those of a full build.
  Not seen: a version that disappears from the raw layer without any other version of its record being
  extracted again (the platform never withdraws a served version; a tombstone is a new version).
  A record whose newest version is now a tombstone comes through as source = 'platform_tombstone': its
  old row is deleted with the other changed records' and the post-hook deletes the tombstone row.
  A change of the normalisation macros is not detected here: vaxclean.build runs with --full-refresh then.
-#}
{%- set tombstone = 'platform_tombstone' -%}
{#- column -> payload field, every one read as text -#}
{%- set payload_fields_as = {
    'full_name_reported': 'full_name', 'date_of_birth_reported': 'date_of_birth', 'gender_reported': 'gender',
    'id_number_reported': 'id_number', 'phone_reported': 'phone', 'address': 'address',
    'province_code_reported': 'province_code', 'district_code_reported': 'district_code',
    'commune_code_reported': 'commune_code', 'priority_group': 'priority_group', 'workplace': 'workplace',
    'site_code': 'site_code', 'site_name': 'site_name', 'vaccine_reported': 'vaccine', 'lot_number': 'lot_number',
    'dose_number_text': 'dose_number', 'vaccinated_on_text': 'vaccinated_on', 'signed_text': 'signed',
    'signed_at_text': 'signed_at'} -%}
{#- delete + insert: DuckDB's MERGE rewrites every column of every row group an update touches; a delete and
    an insert of the changed records are far cheaper (docs/scaling.md, "Incremental builds"). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='source_record_id',
    on_schema_change='fail',
    pre_hook="{{ keep_platform_staging_since() }}",
    post_hook="{{ delete_platform_tombstones('" ~ tombstone ~ "') }}",
) }}

with

source as {{ cte_hint('not materialized') }} (  -- scanned twice: versions without their payloads, then the newest ones' payloads
    -- filename, file_row_number: where each version lies in the lake (a file scan's virtual columns)
    select *, {{ file_row_locator() }} from {{ source('platform', 'immunizations') }}
),

{% if is_incremental() %}
{#- the newest extraction the table has seen: a literal, so the Parquet scan skips older row groups -#}
{%- set seen = run_query("select max(last_extracted_at) from " ~ this).columns[0].values()[0] if execute else none %}
changed as (
    select distinct record_id
    from source
    where record_id is not null
    {%- if seen is not none %}
        and _extracted_at > '{{ seen }}+00'::timestamptz
    {%- endif %}
),

{% endif %}
versions as (
    select
        record_id,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        coalesce(deleted, false) as is_deleted,
        {{ to_utc_naive('_extracted_at') }} as extracted_at,
        _load_id,
        filename,
        file_row_number
    from source
    where record_id is not null
    {%- if is_incremental() %}
        and record_id in (select record_id from changed)
    {%- endif %}
),

ranked as (
    select
        *,
        {{ count_distinct_over('updated_at', 'partition by record_id') }} as version_count,
        max(extracted_at) over (partition by record_id) as last_extracted_at,
        -- when the record first reached the platform (an edit re-serves it with a newer updated_at)
        min(updated_at) over (partition by record_id) as first_updated_at,
        row_number() over (
            partition by record_id
            order by updated_at desc nulls last, is_deleted desc, extracted_at desc, _load_id desc
        ) as version_rank
    from versions
),

newest as (
    -- the window ran on narrow rows; only the winners' payloads are read
    select
        ranked.record_id,
        ranked.is_deleted,
        ranked.updated_at,
        ranked.version_count,
        ranked.last_extracted_at,
        ranked.first_updated_at,
        source.payload
    from ranked
    inner join source on ranked.filename = source.filename and ranked.file_row_number = source.file_row_number
    where ranked.version_rank = 1 {% if not is_incremental() %}and not ranked.is_deleted{% endif %}
),

fields as (
    -- one parse of the payload per record (into a struct of texts), not one per field
    select
        record_id,
        is_deleted,
        updated_at,
        version_count,
        last_extracted_at,
        first_updated_at,
        {{ json_text_fields('payload', payload_fields_as.values() | list) }} as payload_fields
    from newest
),

reported as {{ cte_hint('materialized') }} (  -- read three times below: parsed once
    select
        record_id,
        is_deleted,
        updated_at,
        version_count,
        last_extracted_at,
        first_updated_at,
        {%- for column, field in payload_fields_as.items() %}
        payload_fields.{{ field }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from fields
),

{#- The regex-heavy normalisations run once per distinct value typed (names, birth dates repeat), then join back. #}
names as (
    select
        full_name_reported,
        {{ normalize_name('full_name_reported') }} as full_name
    from (select distinct full_name_reported from reported)
),

names_keyed as (
    select
        full_name_reported,
        full_name,
        {{ name_key('full_name') }} as name_key
    from names
),

birth_dates as (
    select
        date_of_birth_reported,
        {{ parse_dob('date_of_birth_reported') }} as dob
    from (select distinct date_of_birth_reported from reported)
),

normalized as (
    select
        case when reported.is_deleted then '{{ tombstone }}' else 'platform' end as source,
        reported.record_id as source_record_id,
        names_keyed.full_name,
        names_keyed.name_key,
        reported.date_of_birth_reported,
        birth_dates.dob,
        {{ normalize_gender('reported.gender_reported') }} as gender,
        reported.gender_reported,
        reported.id_number_reported,
        {{ id_digits('reported.id_number_reported') }} as id_digits,
        reported.phone_reported,
        {{ normalize_phone('reported.phone_reported') }} as phone,
        reported.address,
        {{ normalize_admin_code('reported.province_code_reported', 2) }} as province_code,
        {{ normalize_admin_code('reported.district_code_reported', 3) }} as district_code,
        {{ normalize_admin_code('reported.commune_code_reported', 5) }} as commune_code,
        reported.priority_group,
        reported.workplace,
        reported.site_code,
        reported.site_name,
        reported.vaccine_reported,
        {{ vaccine_key('reported.vaccine_reported') }} as vaccine_key,
        reported.lot_number,
        try_cast(regexp_extract(reported.dose_number_text, '(\d+)', 1) as integer) as dose_number_reported,
        {{ parse_date_dmy('reported.vaccinated_on_text') }} as vaccinated_on,
        coalesce(lower(reported.signed_text) in ('true', '1', 'yes'), false) as is_signed,
        {{ to_utc_timestamp('reported.signed_at_text') }} as signed_at,
        reported.updated_at,
        reported.version_count,
        reported.last_extracted_at,
        reported.first_updated_at
    from reported
    left join names_keyed on reported.full_name_reported is not distinct from names_keyed.full_name_reported
    left join birth_dates on reported.date_of_birth_reported is not distinct from birth_dates.date_of_birth_reported
),

final as (
    select
        source,
        source_record_id,
        full_name,
        name_key,
        {{ dose_identity_columns() }},
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
        last_extracted_at,
        first_updated_at
    from normalized
)

select * from final
