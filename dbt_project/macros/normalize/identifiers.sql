{#-
  ID numbers (sources.md §1): digits only after removing spaces, dots and dashes; XLSX numeric text
  ("19012345678.0", "1.9012345678E10") is turned back into its digits first.
    id_digits(col)          -> the digits, or null (missing) / the cleaned text when not all digits
    id_class(digits)        -> cccd12 | cmnd9 | cccd12_lost_zero | cmnd9_lost_zero | invalid | missing
    id_candidate(digits)    -> the ID to look up: the digits, or '0' || digits for a lost leading zero
  A 12-digit citizen ID: 3 digits birth-registration province, 1 digit century+gender (0/1: 1900s
  male/female, 2/3: 2000s), 2 digits birth year, 6 digits serial.
-#}
{% macro id_digits(column) -%}
    {%- set t = "trim(cast(" ~ column ~ " as string))" -%}
    nullif(
        case
            when {{ matches_fully(t, "'\\d+\\.0+'") }} then regexp_replace({{ t }}, '\.0+$', '')
            -- a number too large for any ID (9E99) stays as typed: one value must not stop the build
            when {{ matches_fully(t, "'\\d(\\.\\d+)?[eE]\\+?\\d{1,2}'") }}
                then coalesce(cast(try_cast(try_cast({{ t }} as double) as decimal(38, 0)) as string), upper({{ t }}))
            else upper({{ regexp_replace_all(t, "'[\\s.\\-_/,]'", "''") }})
        end,
        ''
    )
{%- endmacro %}

{% macro id_class(digits) -%}
    case
        when {{ digits }} is null then 'missing'
        when not {{ matches_fully(digits, "'\\d+'") }} then 'invalid'
        when length({{ digits }}) = 12 then 'cccd12'
        when length({{ digits }}) = 9 then 'cmnd9'
        when length({{ digits }}) = 11 then 'cccd12_lost_zero'
        when length({{ digits }}) = 8 then 'cmnd9_lost_zero'
        else 'invalid'
    end
{%- endmacro %}

{% macro id_candidate(digits) -%}
    case {{ id_class(digits) }}
        when 'cccd12' then {{ digits }}
        when 'cmnd9' then {{ digits }}
        when 'cccd12_lost_zero' then '0' || {{ digits }}
        when 'cmnd9_lost_zero' then '0' || {{ digits }}
    end
{%- endmacro %}

{#- For a 12-digit citizen ID: the decoded gender and birth year (null otherwise). -#}
{% macro cccd_gender(id12) -%}
    case when {{ matches_fully(id12, "'\\d{12}'") }} then
        case substr({{ id12 }}, 4, 1) when '0' then 'male' when '1' then 'female' when '2' then 'male' when '3' then 'female' end
    end
{%- endmacro %}

{% macro cccd_birth_year(id12) -%}
    case when {{ matches_fully(id12, "'\\d{12}'") }} and substr({{ id12 }}, 4, 1) in ('0', '1', '2', '3') then
        (case when substr({{ id12 }}, 4, 1) in ('0', '1') then 1900 else 2000 end) + cast(substr({{ id12 }}, 5, 2) as integer)
    end
{%- endmacro %}
