{#-
  One row per commune (every commune of ref_admin_units, plus any other code seen) and day, from the
  first dose or complaint to the run's clock, with running totals as of that day:
    doses_received / doses_credited: dose records (credited: verified, corrected, probable) by vaccinated_on;
    persons_vaccinated: citizens by their first credited dose; persons_passport_eligible /
      persons_passport_signed: by the day the primary series was completed (signed: as of now);
    worklist_open: open worklist items by the dose's vaccinated_on;
    complaints_open: received and not yet resolved or rejected on that day;
    complaints_sla_breached: complaints whose SLA had run out unresolved by that day.
-#}
with

dose_counts as (
    -- dose_reconciliation's records counted by commune, district, day and status (kept incrementally)
    select * from {{ ref('int_dose_counts_aggregated') }}
),

persons as (
    select * from {{ ref('person_vaccination') }}
),

worklist as (
    select * from {{ ref('commune_worklist') }}
),

complaints as (
    select * from {{ ref('complaint_tracking') }}
),

admin_units as (
    select * from {{ ref('ref_admin_units') }}
),

clock as (
    select * from {{ ref('int_run_clocks_resolved') }}
),

events as (
    -- counted per commune and day where they are many (doses, persons), then summed
    select commune_code, vaccinated_on as event_on, sum(dose_records) as doses_received,
        coalesce(sum(dose_records) filter (where match_status in ('verified', 'corrected', 'probable')), 0)
            as doses_credited,
        0 as persons_vaccinated, 0 as persons_passport_eligible, 0 as persons_passport_signed, 0 as worklist_open,
        0 as complaints_open, 0 as complaints_sla_breached
    from dose_counts
    group by 1, 2
    union all
    select commune_code, first_dose_on, 0, 0, count(*), 0, 0, 0, 0, 0
    from persons
    group by 1, 2
    union all
    select commune_code, primary_series_completed_on, 0, 0, 0, count(*), count(*) filter (where is_passport_signed), 0, 0, 0
    from persons where is_passport_eligible
    group by 1, 2
    union all
    select commune_code, vaccinated_on, 0, 0, 0, 0, 0, 1, 0, 0 from worklist where status = 'open'
    union all
    select commune_code, cast(received_at as date), 0, 0, 0, 0, 0, 0, 1, 0 from complaints
    union all
    select commune_code, cast(resolved_at as date), 0, 0, 0, 0, 0, 0, -1, 0 from complaints where resolved_at is not null
    union all
    select commune_code, cast(sla_due_at as date) + 1, 0, 0, 0, 0, 0, 0, 0, 1
    from complaints where resolved_at is null or resolved_at > sla_due_at
),

daily_deltas as (
    -- bigint (sum gives hugeint): the running totals below add 8 columns over every commune-day
    select
        commune_code,
        event_on,
        cast(sum(doses_received) as bigint) as doses_received,
        cast(sum(doses_credited) as bigint) as doses_credited,
        cast(sum(persons_vaccinated) as bigint) as persons_vaccinated,
        cast(sum(persons_passport_eligible) as bigint) as persons_passport_eligible,
        cast(sum(persons_passport_signed) as bigint) as persons_passport_signed,
        cast(sum(worklist_open) as bigint) as worklist_open,
        cast(sum(complaints_open) as bigint) as complaints_open,
        cast(sum(complaints_sla_breached) as bigint) as complaints_sla_breached
    from events
    where commune_code is not null and event_on is not null
    group by commune_code, event_on
),

communes as (
    -- a commune's district: the code its sources give (max, not any_value: a null never wins over a code)
    select commune_code, max(district_code) as district_code
    from (
        select commune_code, district_code from admin_units
        union all
        select distinct commune_code, district_code from dose_counts where commune_code is not null
        union all
        select distinct commune_code, district_code from complaints where commune_code is not null
    )
    group by commune_code
),

days as (
    {{ days_until_clock("select min(event_on) from daily_deltas") }}
),

grid as (
    select communes.commune_code, communes.district_code, days.as_of_date
    from communes
    cross join days
),

final as (
    select
        cast(grid.as_of_date as date) as as_of_date,
        cast('19' as string) as province_code,
        cast(grid.district_code as string) as district_code,
        cast(grid.commune_code as string) as commune_code,
        {%- for metric in ['doses_received', 'doses_credited', 'persons_vaccinated', 'persons_passport_eligible',
                           'persons_passport_signed', 'worklist_open', 'complaints_open', 'complaints_sla_breached'] %}
        cast(sum(coalesce(daily_deltas.{{ metric }}, 0)) over by_commune as bigint) as {{ metric }}{{ "," if not loop.last }}
        {%- endfor %}
    from grid
    left join daily_deltas
        on grid.commune_code = daily_deltas.commune_code
        and grid.as_of_date = daily_deltas.event_on
    window by_commune as (partition by grid.commune_code order by grid.as_of_date rows between unbounded preceding and current row)
)

select * from final
