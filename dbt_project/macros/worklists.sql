{#- SQL (a select): the commune health stations and the commune each serves (site_code, commune_code,
    district_code), as int_vaccination_sites_classified finds them from evidence. Site codes follow no convention the
    pipeline may rely on. One definition, for the worklist routing and the check of police returns alike. -#}
{% macro commune_stations() -%}
    select sites.site_code, units.commune_code, units.district_code
    from {{ ref('int_vaccination_sites_classified') }} as sites
    inner join {{ ref('ref_admin_units') }} as units on sites.commune_code = units.commune_code
    where sites.site_kind = 'commune_station'
{%- endmacro %}
