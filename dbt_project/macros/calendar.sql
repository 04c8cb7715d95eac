{#-
  days_until_clock: every day from the first day of the data (an SQL expression giving a date, which may be
  null: then the run's day alone) to the run's clock, as rows `as_of_date`: the daily grids of the KPI and
  backlog marts. The calling model has the run's clock (int_run_clocks_resolved) as a CTE named `clock`.
  A first day after the clock gives no days (date_series).
-#}
{% macro days_until_clock(first_day) -%}
    select {{ date_series('bounds.first_day', 'bounds.as_of_date') }} as as_of_date
    from (
        select coalesce(({{ first_day }}), clock.as_of_date) as first_day, clock.as_of_date
        from clock
    ) as bounds
{%- endmacro %}
