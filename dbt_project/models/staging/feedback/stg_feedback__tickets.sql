{#-
  One row per portal ticket: its newest served version, normalised. A channel or category outside the
  contract's lists (sources.md §3) is kept as sent (channel_as_sent, category_as_sent) and read as null: the
  ticket is still tracked, its category then inferred from its text; one odd value must not fail the staging
  gate for the province (a soft check there says when many do: the portal changed its lists).
-#}
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
        {{ count_distinct_over('updated_at', 'partition by ticket_id') }} as version_count,
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
        {{ json_text('payload', '$.channel') }} as channel,
        {{ json_text('payload', '$.received_at') }} as received_at_text,
        {{ json_text('payload', '$.full_name') }} as full_name_reported,
        {{ json_text('payload', '$.id_number') }} as id_number_reported,
        {{ json_text('payload', '$.phone') }} as phone_reported,
        {{ json_text('payload', '$.date_of_birth') }} as date_of_birth_reported,
        {{ json_text('payload', '$.commune_code') }} as commune_code_reported,
        {{ json_text('payload', '$.category') }} as category_reported,
        {{ json_text('payload', '$.description') }} as description,
        {{ json_text('payload', '$.status') }} as status_reported,
        {{ json_text('payload', '$.assigned_unit') }} as assigned_unit,
        {{ json_text_records(json_part('payload', '$.status_history'), ['status', 'at', 'unit']) }} as status_history_raw
    from newest
),

normalized as (
    select
        'portal' as source,
        ticket_id,
        case when lower(trim(channel)) in ('portal', 'zalo', 'email', 'in_person') then lower(trim(channel)) end
            as channel,
        nullif(trim(channel), '') as channel_as_sent,
        {{ to_utc_timestamp('received_at_text') }} as received_at,
        {{ normalize_name('full_name_reported') }} as full_name,
        {{ id_digits('id_number_reported') }} as id_digits,
        {{ normalize_phone('phone_reported') }} as phone,
        date_of_birth_reported,
        {{ parse_dob('date_of_birth_reported') }} as dob,
        {{ normalize_admin_code('commune_code_reported', 5) }} as commune_code,
        case
            when lower(trim(category_reported)) in (
                'missing_dose', 'wrong_personal_info', 'wrong_dose_info', 'certificate_not_issued', 'duplicate_record',
                'other'
            ) then lower(trim(category_reported))
        end as category_reported,
        nullif(trim(category_reported), '') as category_as_sent,
        description,
        case
            when lower(trim(status_reported)) in ('received', 'assigned', 'in_progress', 'resolved', 'rejected')
                then lower(trim(status_reported))
        end as status,
        nullif(trim(status_reported), '') as status_as_sent,
        assigned_unit,
        {{ list_map('status_history_raw', 'h', struct_of([
            ('status', 'lower(trim(h.status))'), ('at', to_utc_timestamp('h.at')), ('unit', 'h.unit')])) }} as status_history,
        updated_at,
        version_count
    from fields
),

final as (
    select
        source,
        ticket_id,
        channel,
        channel_as_sent,
        received_at,
        {{ complainant_identity_columns() }},
        category_reported,
        category_as_sent,
        description,
        status,
        status_as_sent,
        assigned_unit,
        status_history,
        updated_at,
        version_count
    from normalized
)

select * from final
