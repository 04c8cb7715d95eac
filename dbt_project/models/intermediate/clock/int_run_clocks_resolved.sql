{#-
  The run's clock, one row: the var `as_of` when given, else the newest updated_at / received_at seen
  in the raw data, so that a replayed historical scenario ages its complaints and KPIs correctly. A time
  typed into a source can lie in the future (one updated_at in 2099 would age every complaint by decades):
  the clock never runs past the build's wall clock plus a day; observed_at keeps what the data said and
  is_clock_capped says when the cap applied (an explicit `as_of` is taken as given).
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

observed as (
    select
        greatest(platform.seen_at, tickets.seen_at, calls.seen_at) as observed_at,
        -- the build's wall clock (UTC, naive like every timestamp here) plus a day
        {{ to_utc_naive('now()') }} + interval 1 day as latest_allowed_at
    from platform
    cross join tickets
    cross join calls
),

final as (
    select
        coalesce(
            {% if var('as_of') %}cast('{{ var("as_of") }}' as timestamp),{% endif %}
            least(observed_at, latest_allowed_at),
            cast(current_date as timestamp)
        ) as as_of,
        observed_at,
        {% if var('as_of') %}false{% else %}coalesce(observed_at > latest_allowed_at, false){% endif %} as is_clock_capped
    from observed
)

select
    as_of,
    cast(as_of as date) as as_of_date,
    observed_at,
    is_clock_capped
from final
