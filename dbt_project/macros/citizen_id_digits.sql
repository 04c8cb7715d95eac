{#-
  What a 12-digit citizen ID says about its holder (sources.md, reference data): the 4th digit is century
  and gender (0 / 1: born in the 1900s, male / female; 2 / 3: the 2000s), the 5th-6th the birth year.
    citizen_id_birth_year(id) -> the birth year the ID encodes, or null (not 12 digits, other century digit)
    citizen_id_gender(id)     -> 'male' | 'female' the ID encodes, or null
-#}
{% macro citizen_id_birth_year(id_column) -%}
    case
        when {{ matches_fully(id_column, "'\\d{12}'") }} and substr({{ id_column }}, 4, 1) in ('0', '1', '2', '3')
            then case when substr({{ id_column }}, 4, 1) in ('0', '1') then 1900 else 2000 end
                + cast(substr({{ id_column }}, 5, 2) as integer)
    end
{%- endmacro %}

{% macro citizen_id_gender(id_column) -%}
    case
        when {{ matches_fully(id_column, "'\\d{12}'") }} then
            case substr({{ id_column }}, 4, 1)
                when '0' then 'male' when '2' then 'male'
                when '1' then 'female' when '3' then 'female'
            end
    end
{%- endmacro %}
