{#-
  One row per hotline call (Mã cuộc gọi), normalised. A call can appear again in a later day's
  export with a new status: the row of the newest export wins (file name is the export date).
  Vietnamese statuses and categories are mapped onto the portal's codes.
-#}
{{ config(materialized='table') }}  {#- read by tests, the staging gate and every intermediate model: computed once -#}
with

source as (
    select * from {{ source('hotline', 'calls') }}
),

rows as (
    select
        *,
        try_cast(regexp_extract(_file_name, '(\d{4}-\d{2}-\d{2})', 1) as date) as export_on,
        {{ to_utc_naive('_loaded_at') }} as loaded_at
    from source
    where nullif(trim(call_id), '') is not null
),

ranked as (
    select
        *,
        min(export_on) over (partition by trim(call_id)) as first_export_on,
        count(*) over (partition by trim(call_id)) as version_count,
        row_number() over (
            partition by trim(call_id) order by export_on desc nulls last, loaded_at desc, _line_number desc
        ) as version_rank
    from rows
),

newest as (
    select * from ranked
    where version_rank = 1
),

normalized as (
    select
        'hotline' as source,
        trim(call_id) as ticket_id,
        'hotline' as channel,
        {{ to_utc_timestamp('called_at') }} as received_at,
        {{ normalize_name('full_name') }} as full_name,
        {{ id_digits('id_number') }} as id_digits,
        {{ normalize_phone('phone') }} as phone,
        date_of_birth as date_of_birth_reported,
        {{ parse_dob('date_of_birth') }} as dob,
        {{ normalize_admin_code('commune_code', 5) }} as commune_code,
        {{ text_key('category') }} as category_key,
        description,
        {{ text_key('status') }} as status_key,
        export_on,
        first_export_on,
        version_count
    from newest
),

final as (
    select
        source,
        ticket_id,
        channel,
        received_at,
        {{ complainant_identity_columns() }},
        case
            when category_key like '% missing dose %' or category_key like '%thieu mui%' or category_key like '%chua co mui%'
                or category_key like '%mat mui%' then 'missing_dose'
            when category_key like '% wrong personal info %' or category_key like '%sai thong tin ca nhan%'
                or category_key like '%thong tin ca nhan%' then 'wrong_personal_info'
            when category_key like '% wrong dose info %' or category_key like '%sai thong tin mui%'
                or category_key like '%thong tin mui%' or category_key like '%thong tin tiem%' then 'wrong_dose_info'
            when category_key like '% certificate not issued %' or category_key like '%chung nhan%'
                or category_key like '%ho chieu%' then 'certificate_not_issued'
            when category_key like '% duplicate record %' or category_key like '%trung%' then 'duplicate_record'
            when category_key like '% other %' or category_key like '% khac %' then 'other'
        end as category_reported,
        description,
        case
            when status_key like '% resolved %' or status_key like '%da xu ly%' or status_key like '%da giai quyet%'
                or status_key like '%hoan thanh%' or status_key like '% dong %' then 'resolved'
            when status_key like '% rejected %' or status_key like '%tu choi%' then 'rejected'
            when status_key like '% in progress %' or status_key like '%dang xu ly%' then 'in_progress'
            when status_key like '% assigned %' or status_key like '%da chuyen%' or status_key like '%chuyen%'
                then 'assigned'
            else 'received'
        end as status,
        cast(export_on as timestamp) as status_seen_at,
        first_export_on,
        version_count
    from normalized
)

select * from final
