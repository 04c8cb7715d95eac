{#-
  days_until_clock: every day from the first day of the data (an SQL expression giving a date, which may be
  null: then the run's day alone) to the run's clock, as rows `as_of_date`: the daily grids of the KPI and
  backlog marts. The calling model has the run's clock (int_run_clocks_resolved) as a CTE named `clock`.
-#}
{% macro days_until_clock(first_day) -%}
    select cast(day as date) as as_of_date
    from clock
    cross join range(
        cast(coalesce(({{ first_day }}), clock.as_of_date) as timestamp),
        cast(clock.as_of_date as timestamp) + interval 1 day,
        interval 1 day
    ) as series(day)
{%- endmacro %}
