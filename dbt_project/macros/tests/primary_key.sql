{#- The column is a key: never null and no value twice. One scan where dbt's `unique` and `not_null` take
    two (the dose chain's tables hold a row per dose record; on an incremental build the scoped rows,
    get_where_subquery). -#}
{% test primary_key(model, column_name) %}
select {{ column_name }} as key_value, count(*) as rows_with_key
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}
