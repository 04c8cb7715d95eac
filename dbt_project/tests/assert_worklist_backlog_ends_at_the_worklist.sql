-- The backlog's last day (the run's) counts exactly the items of commune_worklist in each status, commune by
-- commune (the timeline worklist_commune_daily reconstructs from the returns must end where the worklist is).
with

latest as (
    select commune_code, items_open, items_returned, items_applied, items_rejected
    from {{ ref('worklist_commune_daily') }}
    where is_latest
),

items as (
    select
        commune_code,
        count(*) filter (where status = 'open') as items_open,
        count(*) filter (where status = 'returned') as items_returned,
        count(*) filter (where status = 'applied') as items_applied,
        count(*) filter (where status = 'rejected') as items_rejected
    from {{ ref('commune_worklist') }}
    group by commune_code
),

final as (
    select coalesce(latest.commune_code, items.commune_code) as commune_code
    from latest
    full join items on latest.commune_code is not distinct from items.commune_code
    where coalesce(latest.items_open, 0) <> coalesce(items.items_open, 0)
        or coalesce(latest.items_returned, 0) <> coalesce(items.items_returned, 0)
        or coalesce(latest.items_applied, 0) <> coalesce(items.items_applied, 0)
        or coalesce(latest.items_rejected, 0) <> coalesce(items.items_rejected, 0)
)

select * from final
