{#- Generic test: every element of a list column is one of `values`. -#}
{% test list_values_in(model, column_name, values) %}
    select {{ column_name }}
    from {{ model }}
    where len(list_filter({{ column_name }}, lambda v: v not in ({% for v in values %}'{{ v }}'{{ "," if not loop.last }}{% endfor %}))) > 0
{% endtest %}
