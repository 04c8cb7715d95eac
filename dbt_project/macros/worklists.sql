{#- SQL: the commune health station `site_code` belongs to is the commune `commune_code`. The station code
    TYT-<commune code> is a convention of this project's own generator, not of the sources contract (issue
    #20, site kinds from evidence, replaces it): one definition, for the worklist routing and the check of
    police returns alike. -#}
{% macro is_station_of_commune(site_code, commune_code) -%}
    {{ site_code }} = 'TYT-' || {{ commune_code }}
{%- endmacro %}
