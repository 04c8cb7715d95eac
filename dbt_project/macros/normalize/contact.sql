{#-
  normalize_phone: a Vietnamese phone number in its domestic 10-digit form 0xxxxxxxxx: separators
  removed, +84 / 84 / 0084 turned into 0, pre-2018 11-digit mobile prefixes mapped to the new ones
  (sources.md, reference data). Landlines (02x, 11 digits) are kept. Anything else -> null.
-#}
{% macro normalize_phone(column) -%}
    {%- set prefixes = {
        '0162': '032', '0163': '033', '0164': '034', '0165': '035', '0166': '036', '0167': '037', '0168': '038', '0169': '039',
        '0120': '070', '0121': '079', '0122': '077', '0126': '076', '0128': '078',
        '0123': '083', '0124': '084', '0125': '085', '0127': '081', '0129': '082',
        '0186': '056', '0188': '058', '0199': '059'} -%}
    {%- set d = regexp_replace_all("regexp_replace(cast(" ~ column ~ " as string), '\\.0+$', '')", "'[^0-9+]'", "''") -%}
    {%- set local = "(case when left(" ~ d ~ ", 3) = '+84' then '0' || substr(" ~ d ~ ", 4) when left(" ~ d ~ ", 4) = '0084' then '0' || substr(" ~ d ~ ", 5) when left(" ~ d ~ ", 2) = '84' and length(" ~ d ~ ") in (11, 12) then '0' || substr(" ~ d ~ ", 3) when " ~ matches_fully(d, "'[1-9]\\d{8,9}'") ~ " then '0' || " ~ d ~ " else " ~ d ~ " end)" -%}
    (case
        when {{ matches_fully(local, "'0[35789]\\d{8}'") }} then {{ local }}
        when {{ matches_fully(local, "'01\\d{9}'") }} then
            case left({{ local }}, 4)
            {%- for old, new in prefixes.items() %}
                when '{{ old }}' then '{{ new }}' || substr({{ local }}, 5)
            {%- endfor %}
            end
        when {{ matches_fully(local, "'02\\d{9}'") }} then {{ local }}
    end)
{%- endmacro %}

{#- normalize_gender: Nam / Nữ / nu / male / female / M / F -> male | female | null. -#}
{% macro normalize_gender(column) -%}
    case lower({{ without_accents("trim(" ~ nfc("cast(" ~ column ~ " as string)") ~ ")") }})
        when 'nam' then 'male'
        when 'male' then 'male'
        when 'm' then 'male'
        when 'trai' then 'male'
        when 'nu' then 'female'
        when 'female' then 'female'
        when 'f' then 'female'
        when 'gai' then 'female'
    end
{%- endmacro %}

{#- normalize_admin_code: GSO codes as text of fixed width with leading zeros (2 province, 3 district, 5 commune). -#}
{% macro normalize_admin_code(column, width) -%}
    case
        when {{ matches_fully("regexp_replace(trim(cast(" ~ column ~ " as string)), '\\.0+$', '')", "'\\d{1," ~ width ~ "}'") }}
            then lpad(regexp_replace(trim(cast({{ column }} as string)), '\.0+$', ''), {{ width }}, '0')
    end
{%- endmacro %}

{#- vaccine_key: the vaccine as typed, reduced to lower-case ASCII letters and digits (for alias lookup). -#}
{% macro vaccine_key(column) -%}
    nullif({{ regexp_replace_all("lower(" ~ without_accents("replace(replace(" ~ nfc("cast(" ~ column ~ " as string)") ~ ", 'đ', 'd'), 'Đ', 'D')") ~ ")", "'[^a-z0-9]'", "''") }}, '')
{%- endmacro %}

{#- text_key: free text for keyword rules: NFC, lower case, no diacritics, đ -> d, single spaces. -#}
{% macro text_key(column) -%}
    ' ' || {{ regexp_replace_all("lower(" ~ without_accents("replace(replace(" ~ nfc("cast(" ~ column ~ " as string)") ~ ", 'đ', 'd'), 'Đ', 'D')") ~ ")", "'[^a-z0-9]+'", "' '") }} || ' '
{%- endmacro %}
