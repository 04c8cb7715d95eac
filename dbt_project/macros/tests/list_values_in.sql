{#- Generic test: every element of a list column is one of `values`. -#}
{% test list_values_in(model, column_name, values) %}
    {%- set allowed -%}
        v not in ({% for v in values %}'{{ v }}'{{ "," if not loop.last }}{% endfor %})
    {%- endset %}
    select {{ column_name }}
    from {{ model }}
    where cardinality({{ list_keep(column_name, 'v', allowed) }}) > 0
{% endtest %}
