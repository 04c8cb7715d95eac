{#-
  The correction loop's backlog: one row per commune and day up to the run's clock, with the worklist
  items in each status as of that day (the counts the BI layer publishes instead of the worklist rows).

  An item's history is read from the evidence: it is open from the day its dose record arrived
  (int_dose_records_arrived) until the police's first return of it; returned until its current (newest)
  return; from then on in its current status (applied, rejected, or still returned). A return counts from
  the earlier of the police's verification day and the day its file was loaded (a typed future date does
  not move it). Days after the clock count on the clock's day. The last day's counts are
  commune_worklist's statuses now (assert_worklist_backlog_ends_at_the_worklist). Cases no commune could be found for are one row a day with a null
  commune (the province's own list, as in the worklist files).
-#}
with

items as (
    select * from {{ ref('commune_worklist') }}
),

history as (
    select * from {{ ref('worklist_verification_history') }}
),

arrived as (
    select * from {{ ref('int_dose_records_arrived') }}
),

clock as (
    select * from {{ ref('int_run_clocks_resolved') }}
),

returns as (
    select
        source,
        source_record_id,
        min(least(police_verified_on, cast(loaded_at as date))) as first_returned_on,
        min(least(police_verified_on, cast(loaded_at as date))) filter (where is_current) as current_returned_on
    from history
    group by all
),

timelines as (
    select
        items.commune_code,
        items.district_code,
        items.status,
        least(
            coalesce(cast(arrived.arrived_at as date), items.vaccinated_on, clock.as_of_date),
            coalesce(returns.first_returned_on, clock.as_of_date),
            clock.as_of_date
        ) as opened_on,
        -- (least and greatest skip nulls: an item never returned keeps null here)
        case when returns.first_returned_on is not null
            then least(returns.first_returned_on, clock.as_of_date) end as first_returned_on,
        case when returns.first_returned_on is not null
            then least(greatest(returns.current_returned_on, returns.first_returned_on), clock.as_of_date)
        end as current_returned_on
    from items
    cross join clock
    left join arrived on items.source = arrived.source and items.source_record_id = arrived.source_record_id
    left join returns on items.source = returns.source and items.source_record_id = returns.source_record_id
),

events as (
    -- +1 into a status on the day it starts, -1 on the day it ends
    select commune_code, district_code, opened_on as event_on, 'open' as status, 1 as items from timelines
    union all
    select commune_code, district_code, first_returned_on, 'open', -1 from timelines
    where first_returned_on is not null
    union all
    select commune_code, district_code, first_returned_on, 'returned', 1 from timelines
    where first_returned_on is not null
    union all
    -- the current return put the item in its status now: applied, rejected, or open again (a return whose
    -- result cell was left empty)
    select commune_code, district_code, current_returned_on, 'returned', -1 from timelines
    where first_returned_on is not null and status <> 'returned'
    union all
    select commune_code, district_code, current_returned_on, status, 1 from timelines
    where first_returned_on is not null and status <> 'returned'
),

daily_deltas as (
    select
        commune_code,
        event_on,
        sum(items) filter (where status = 'open') as items_open,
        sum(items) filter (where status = 'returned') as items_returned,
        sum(items) filter (where status = 'applied') as items_applied,
        sum(items) filter (where status = 'rejected') as items_rejected
    from events
    group by all
),

communes as (
    -- a commune's district: the code its items give (max, not any_value: a null never wins over a code)
    select commune_code, max(district_code) as district_code
    from timelines
    group by commune_code
),

days as (
    {{ days_until_clock("select min(event_on) from events") }}
),

final as (
    select
        cast(days.as_of_date as date) as as_of_date,
        cast('19' as string) as province_code,
        cast(communes.district_code as string) as district_code,
        cast(communes.commune_code as string) as commune_code,
        {%- for status in ['open', 'returned', 'applied', 'rejected'] %}
        cast(sum(coalesce(daily_deltas.items_{{ status }}, 0)) over by_commune as bigint) as items_{{ status }},
        {%- endfor %}
        cast(
            sum(coalesce(daily_deltas.items_open, 0) + coalesce(daily_deltas.items_returned, 0)
                + coalesce(daily_deltas.items_rejected, 0)) over by_commune as bigint
        ) as items_backlog,
        -- the run's day: the worklists as they are now (a dashboard's "today" without a sub-query)
        cast(days.as_of_date = clock.as_of_date as boolean) as is_latest
    from communes
    cross join days
    cross join clock
    left join daily_deltas
        on communes.commune_code is not distinct from daily_deltas.commune_code
        and days.as_of_date = daily_deltas.event_on
    window by_commune as (
        partition by communes.commune_code order by days.as_of_date rows between unbounded preceding and current row
    )
)

select * from final
