{#- None of `columns` is null: one test node and one scan for a model's required columns, where dbt's
    `not_null` takes a node per column (each node costs dbt's own work, and the marts' tests keep both dbt
    threads busy at the end of an incremental build). Fails with a row per
    column that has nulls. -#}
{% test not_null_columns(model, columns) %}
with null_counts as (
    select
        {%- for column in columns %}
        count(*) filter (where {{ column }} is null) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
),

-- one row per column (the counts above, unpivoted)
per_column as (
    {%- for column in columns %}
    select '{{ column }}' as column_name, {{ column }} as null_rows from null_counts
    {{- "\n    union all" if not loop.last }}
    {%- endfor %}
)

select column_name, null_rows
from per_column
where null_rows > 0
{% endtest %}
