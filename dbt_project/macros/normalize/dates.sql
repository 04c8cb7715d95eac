{#-
  parse_dob: a birth date as typed, to a struct
    {date_of_birth DATE, is_year_only BOOLEAN, is_day_month_swapped BOOLEAN, is_excel_serial BOOLEAN}.
  Accepted: dd/mm/yyyy, d/m/yyyy (also with . or -), yyyy-mm-dd (optionally with a midnight time),
  yyyy alone (-> yyyy-01-01, is_year_only), Excel serial numbers (days since 1899-12-30, from XLSX
  cells). An impossible day/month (31/13/1990) is tried swapped and flagged. Anything else -> null date.
-#}
{% macro _dob(day, year_only='false', swapped='false', serial='false') -%}
    {{ struct_of([('date_of_birth', day), ('is_year_only', year_only), ('is_day_month_swapped', swapped),
                  ('is_excel_serial', serial)]) }}
{%- endmacro %}

{% macro parse_dob(column) -%}
    {%- set t = "regexp_replace(trim(cast(" ~ column ~ " as string)), '([T ]00:00(:00)?(\\.0+)?)$', '')" -%}
    {%- set dmy_pattern = "'^(\\d{1,2})[/.\\-](\\d{1,2})[/.\\-](\\d{4})$'" -%}
    {%- set ymd_pattern = "'^(\\d{4})[/.\\-](\\d{1,2})[/.\\-](\\d{1,2})$'" -%}
    {%- set dmy = {'d': "regexp_extract(" ~ t ~ ", " ~ dmy_pattern ~ ", 1)", 'm': "regexp_extract(" ~ t ~ ", " ~ dmy_pattern ~ ", 2)",
                   'y': "regexp_extract(" ~ t ~ ", " ~ dmy_pattern ~ ", 3)"} -%}
    {%- set ymd = {'y': "regexp_extract(" ~ t ~ ", " ~ ymd_pattern ~ ", 1)", 'm': "regexp_extract(" ~ t ~ ", " ~ ymd_pattern ~ ", 2)",
                   'd': "regexp_extract(" ~ t ~ ", " ~ ymd_pattern ~ ", 3)"} -%}
    {%- set yr = "regexp_extract(" ~ t ~ ", '^(\\d{4})$', 1)" -%}
    {%- set serial = "regexp_extract(" ~ t ~ ", '^(\\d{5})(\\.0+)?$', 1)" -%}
    {%- set dmy_direct = date_from_parts(dmy.y, dmy.m, dmy.d) -%}
    {%- set dmy_swapped = date_from_parts(dmy.y, dmy.d, dmy.m) -%}
    {%- set ymd_direct = date_from_parts(ymd.y, ymd.m, ymd.d) -%}
    {%- set ymd_swapped = date_from_parts(ymd.y, ymd.d, ymd.m) -%}
    (case
        when {{ dmy.y }} <> '' and {{ dmy_direct }} is not null then {{ _dob(dmy_direct) }}
        when {{ dmy.y }} <> '' and {{ dmy_swapped }} is not null then {{ _dob(dmy_swapped, swapped='true') }}
        when {{ ymd.y }} <> '' and {{ ymd_direct }} is not null then {{ _dob(ymd_direct) }}
        when {{ ymd.y }} <> '' and {{ ymd_swapped }} is not null then {{ _dob(ymd_swapped, swapped='true') }}
        when {{ yr }} <> '' and cast({{ yr }} as integer) between 1880 and 2100
            then {{ _dob("make_date(cast(" ~ yr ~ " as integer), 1, 1)", year_only='true') }}
        when {{ serial }} <> '' and cast({{ serial }} as integer) between 1 and 73050
            then {{ _dob(days_after("date '1899-12-30'", serial), serial='true') }}
        else {{ _dob('cast(null as date)') }}
    end)
{%- endmacro %}

{#- parse_date_dmy: an administrative date typed as dd/mm/yyyy (or ISO, or an Excel serial); no swapping. -#}
{% macro parse_date_dmy(column) -%}
    {%- set t = "regexp_replace(trim(cast(" ~ column ~ " as string)), '([T ]00:00(:00)?(\\.0+)?)$', '')" -%}
    {%- set dmy_pattern = "'^(\\d{1,2})[/.\\-](\\d{1,2})[/.\\-](\\d{4})$'" -%}
    {%- set serial = "regexp_extract(" ~ t ~ ", '^(\\d{5})(\\.0+)?$', 1)" -%}
    {%- set year = "regexp_extract(" ~ t ~ ", " ~ dmy_pattern ~ ", 3)" -%}
    coalesce(
        case when {{ year }} <> '' then {{ date_from_parts(year, "regexp_extract(" ~ t ~ ", " ~ dmy_pattern ~ ", 2)",
                                                          "regexp_extract(" ~ t ~ ", " ~ dmy_pattern ~ ", 1)") }} end,
        {{ iso_date(t) }},
        case when {{ serial }} <> '' then {{ days_after("date '1899-12-30'", serial) }} end
    )
{%- endmacro %}

{#-
  dob_compatible: do two birth dates name the same day, tolerating what typists do:
  equal; same year when either side only knows the year; day and month swapped.
-#}
{% macro dob_compatible(a_date, a_year_only, b_date, b_year_only) -%}
    (
        {{ a_date }} = {{ b_date }}
        or ((coalesce({{ a_year_only }}, false) or coalesce({{ b_year_only }}, false)) and year({{ a_date }}) = year({{ b_date }}))
        or (year({{ a_date }}) = year({{ b_date }}) and month({{ a_date }}) = day({{ b_date }}) and day({{ a_date }}) = month({{ b_date }}))
    )
{%- endmacro %}
