{#- Portal tickets and hotline calls in one shape (a complaint's key: source + ticket_id). -#}
with

tickets as (
    select * from {{ ref('stg_feedback__tickets') }}
),

calls as (
    select * from {{ ref('stg_hotline__calls') }}
),

final as (
    select
        source, ticket_id, channel, received_at, full_name, name_key, id_class, id_candidate, phone,
        date_of_birth, is_dob_year_only, commune_code, category_reported, description, status,
        coalesce({{ list_last(list_map('status_history', 'h', 'h.at')) }}, updated_at) as status_at,
        {{ list_first(list_map(list_keep('status_history', 'h', "h.status in ('resolved', 'rejected')"), 'h', 'h.at')) }}
            as resolved_at
    from tickets
    union all
    select
        source, ticket_id, channel, received_at, full_name, name_key, id_class, id_candidate, phone,
        date_of_birth, is_dob_year_only, commune_code, category_reported, description, status,
        greatest(status_seen_at, received_at) as status_at,
        case when status in ('resolved', 'rejected') then greatest(status_seen_at, received_at) end as resolved_at
    from calls
)

select * from final
