{#-
  parse_dob: a birth date as typed, to a struct
    {date_of_birth DATE, is_year_only BOOLEAN, is_day_month_swapped BOOLEAN, is_excel_serial BOOLEAN}.
  Accepted: dd/mm/yyyy, d/m/yyyy (also with . or -), yyyy-mm-dd (optionally with a midnight time),
  yyyy alone (-> yyyy-01-01, is_year_only), Excel serial numbers (days since 1899-12-30, from XLSX
  cells). An impossible day/month (31/13/1990) is tried swapped and flagged. Anything else -> null date.
-#}
{% macro _safe_date(y, m, d) -%}
    cast(try_strptime(lpad({{ y }}, 4, '0') || '-' || lpad({{ m }}, 2, '0') || '-' || lpad({{ d }}, 2, '0'), '%Y-%m-%d') as date)
{%- endmacro %}

{% macro parse_dob(column) -%}
    {%- set t = "regexp_replace(trim(cast(" ~ column ~ " as varchar)), '([T ]00:00(:00)?(\\.0+)?)$', '')" -%}
    {%- set dmy = "regexp_extract(" ~ t ~ ", '^(\\d{1,2})[/.\\-](\\d{1,2})[/.\\-](\\d{4})$', ['d', 'm', 'y'])" -%}
    {%- set ymd = "regexp_extract(" ~ t ~ ", '^(\\d{4})[/.\\-](\\d{1,2})[/.\\-](\\d{1,2})$', ['y', 'm', 'd'])" -%}
    {%- set yr = "regexp_extract(" ~ t ~ ", '^(\\d{4})$', 1)" -%}
    {%- set serial = "regexp_extract(" ~ t ~ ", '^(\\d{5})(\\.0+)?$', 1)" -%}
    {%- set dmy_direct = _safe_date(dmy ~ ".y", dmy ~ ".m", dmy ~ ".d") -%}
    {%- set dmy_swapped = _safe_date(dmy ~ ".y", dmy ~ ".d", dmy ~ ".m") -%}
    {%- set ymd_direct = _safe_date(ymd ~ ".y", ymd ~ ".m", ymd ~ ".d") -%}
    {%- set ymd_swapped = _safe_date(ymd ~ ".y", ymd ~ ".d", ymd ~ ".m") -%}
    (case
        when {{ dmy }}.y <> '' and {{ dmy_direct }} is not null
            then {'date_of_birth': {{ dmy_direct }}, 'is_year_only': false, 'is_day_month_swapped': false, 'is_excel_serial': false}
        when {{ dmy }}.y <> '' and {{ dmy_swapped }} is not null
            then {'date_of_birth': {{ dmy_swapped }}, 'is_year_only': false, 'is_day_month_swapped': true, 'is_excel_serial': false}
        when {{ ymd }}.y <> '' and {{ ymd_direct }} is not null
            then {'date_of_birth': {{ ymd_direct }}, 'is_year_only': false, 'is_day_month_swapped': false, 'is_excel_serial': false}
        when {{ ymd }}.y <> '' and {{ ymd_swapped }} is not null
            then {'date_of_birth': {{ ymd_swapped }}, 'is_year_only': false, 'is_day_month_swapped': true, 'is_excel_serial': false}
        when {{ yr }} <> '' and cast({{ yr }} as integer) between 1880 and 2100
            then {'date_of_birth': make_date(cast({{ yr }} as integer), 1, 1), 'is_year_only': true, 'is_day_month_swapped': false, 'is_excel_serial': false}
        when {{ serial }} <> '' and cast({{ serial }} as integer) between 1 and 73050
            then {'date_of_birth': cast(date '1899-12-30' + to_days(cast({{ serial }} as integer)) as date), 'is_year_only': false, 'is_day_month_swapped': false, 'is_excel_serial': true}
        else {'date_of_birth': null::date, 'is_year_only': false, 'is_day_month_swapped': false, 'is_excel_serial': false}
    end)
{%- endmacro %}

{#- parse_date_dmy: an administrative date typed as dd/mm/yyyy (or ISO, or an Excel serial); no swapping. -#}
{% macro parse_date_dmy(column) -%}
    {%- set t = "regexp_replace(trim(cast(" ~ column ~ " as varchar)), '([T ]00:00(:00)?(\\.0+)?)$', '')" -%}
    {%- set dmy = "regexp_extract(" ~ t ~ ", '^(\\d{1,2})[/.\\-](\\d{1,2})[/.\\-](\\d{4})$', ['d', 'm', 'y'])" -%}
    {%- set serial = "regexp_extract(" ~ t ~ ", '^(\\d{5})(\\.0+)?$', 1)" -%}
    coalesce(
        case when {{ dmy }}.y <> '' then {{ _safe_date(dmy ~ ".y", dmy ~ ".m", dmy ~ ".d") }} end,
        cast(try_strptime({{ t }}, '%Y-%m-%d') as date),
        case when {{ serial }} <> '' then cast(date '1899-12-30' + to_days(cast({{ serial }} as integer)) as date) end
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
