{#-
  The run's clock, one row: the var `as_of` when given, else the newest updated_at / received_at seen
  in the raw data, so that a replayed historical scenario ages its complaints and KPIs correctly.
-#}
with

platform as (
    select max(updated_at) as seen_at from {{ ref('stg_platform__immunizations') }}
),

tickets as (
    select greatest(max(updated_at), max(received_at)) as seen_at from {{ ref('stg_feedback__tickets') }}
),

calls as (
    select max(received_at) as seen_at from {{ ref('stg_hotline__calls') }}
),

final as (
    select
        coalesce(
            {% if var('as_of') %}cast('{{ var("as_of") }}' as timestamp),{% endif %}
            greatest(platform.seen_at, tickets.seen_at, calls.seen_at),
            cast(current_date as timestamp)
        ) as as_of
    from platform
    cross join tickets
    cross join calls
)

select
    as_of,
    cast(as_of as date) as as_of_date
from final
