{#- One row per portal ticket: its newest served version, normalised. -#}
{{ config(materialized='table') }}  {#- read by tests, the staging gate and every intermediate model: computed once -#}
with

source as (
    select * from {{ source('feedback', 'tickets') }}
),

versions as (
    select
        ticket_id,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        payload,
        {{ to_utc_naive('_extracted_at') }} as extracted_at,
        _load_id
    from source
    where ticket_id is not null
),

ranked as (
    select
        *,
        count(distinct updated_at) over (partition by ticket_id) as version_count,
        row_number() over (
            partition by ticket_id order by updated_at desc nulls last, extracted_at desc, _load_id desc
        ) as version_rank
    from versions
),

newest as (
    select * from ranked
    where version_rank = 1
),

fields as (
    select
        ticket_id,
        updated_at,
        version_count,
        json_extract_string(payload, '$.channel') as channel,
        json_extract_string(payload, '$.received_at') as received_at_text,
        json_extract_string(payload, '$.full_name') as full_name_reported,
        json_extract_string(payload, '$.id_number') as id_number_reported,
        json_extract_string(payload, '$.phone') as phone_reported,
        json_extract_string(payload, '$.date_of_birth') as date_of_birth_reported,
        json_extract_string(payload, '$.commune_code') as commune_code_reported,
        json_extract_string(payload, '$.category') as category_reported,
        json_extract_string(payload, '$.description') as description,
        json_extract_string(payload, '$.status') as status_reported,
        json_extract_string(payload, '$.assigned_unit') as assigned_unit,
        json_transform(
            coalesce(json_extract(payload, '$.status_history'), '[]'),
            '[{"status": "VARCHAR", "at": "VARCHAR", "unit": "VARCHAR"}]'
        ) as status_history_raw
    from newest
),

normalized as (
    select
        'portal' as source,
        ticket_id,
        lower(trim(channel)) as channel,
        {{ to_utc_timestamp('received_at_text') }} as received_at,
        {{ normalize_name('full_name_reported') }} as full_name,
        {{ id_digits('id_number_reported') }} as id_digits,
        {{ normalize_phone('phone_reported') }} as phone,
        date_of_birth_reported,
        {{ parse_dob('date_of_birth_reported') }} as dob,
        {{ normalize_admin_code('commune_code_reported', 5) }} as commune_code,
        nullif(lower(trim(category_reported)), '') as category_reported,
        description,
        lower(trim(status_reported)) as status,
        assigned_unit,
        list_transform(
            status_history_raw,
            lambda h: {'status': lower(trim(h.status)), 'at': {{ to_utc_timestamp('h.at') }}, 'unit': h.unit}
        ) as status_history,
        updated_at,
        version_count
    from fields
),

final as (
    select
        source,
        ticket_id,
        channel,
        received_at,
        {{ complainant_identity_columns() }},
        category_reported,
        description,
        status,
        assigned_unit,
        status_history,
        updated_at,
        version_count
    from normalized
)

select * from final
