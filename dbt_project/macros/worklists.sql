{#- SQL (a select): the commune health stations and the commune each serves (site_code, commune_code,
    district_code), as int_vaccination_sites_classified finds them from evidence. Site codes follow no convention the
    pipeline may rely on. One definition, for the worklist routing and the check of police returns alike. -#}
{% macro commune_stations() -%}
    select sites.site_code, units.commune_code, units.district_code
    from {{ ref('int_vaccination_sites_classified') }} as sites
    inner join {{ ref('ref_admin_units') }} as units on sites.commune_code = units.commune_code
    where sites.site_kind = 'commune_station'
{%- endmacro %}

{#- SQL: the commune a case goes to: the record's reported commune, else its candidate's, else the commune of
    the commune health station that gave the dose (aliases of the relations holding a commune_code). One rule
    for the routing (commune_worklist) and for the check of who may return the case (int_police_returns_validated). -#}
{% macro worklist_commune_code(record, candidate, station) -%}
    coalesce({{ record }}.commune_code, {{ candidate }}.commune_code, {{ station }}.commune_code)
{%- endmacro %}
