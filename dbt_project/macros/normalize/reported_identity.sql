{#-
  The identity columns a staging model exposes for what a record reports about a person, in one order,
  so the dose sources (platform, site batches) and the complaint sources (portal, hotline) stay alike.
  They expect, in the model's last CTE: the normalised text columns named below and `dob`, the struct of
  parse_dob() (date_of_birth, is_year_only, is_day_month_swapped, is_excel_serial).
-#}

{#- Dose records: date of birth (with its parse flags) through the commune code. -#}
{% macro dose_identity_columns() -%}
        date_of_birth_reported,
        dob.date_of_birth as date_of_birth,
        dob.is_year_only as is_dob_year_only,
        dob.is_day_month_swapped as is_dob_day_month_swapped,
        dob.is_excel_serial as is_dob_excel_serial,
        gender,
        id_number_reported,
        id_digits,
        {{ id_class('id_digits') }} as id_class,
        {{ id_candidate('id_digits') }} as id_candidate,
        phone_reported,
        phone,
        address,
        province_code,
        district_code,
        commune_code
{%- endmacro %}

{#- Complaints: who complains, as they typed it (name through commune code). -#}
{% macro complainant_identity_columns() -%}
        full_name,
        {{ name_key('full_name') }} as name_key,
        id_digits,
        {{ id_class('id_digits') }} as id_class,
        {{ id_candidate('id_digits') }} as id_candidate,
        phone,
        date_of_birth_reported,
        dob.date_of_birth as date_of_birth,
        dob.is_year_only as is_dob_year_only,
        commune_code
{%- endmacro %}
