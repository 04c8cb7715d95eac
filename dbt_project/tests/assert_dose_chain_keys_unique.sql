{#-
  The keys of the dose chain's tables up to int_dose_records_sequenced (macros/dose_chain.sql): never
  null, never twice. One test after the chain rather than a primary_key test per model: `dbt build` starts
  a model's children only once its tests passed, so ten key tests stood between the chain's models (about
  1 s of an incremental build at 1.3 M residents, more on a full one); here they run beside the marts. On
  an incremental build each table's re-derived rows are checked (duckdb__get_where_subquery), as the
  per-model tests did. A failure still fails the build, before any gate or publishing.
  It also reads int_run_clocks_resolved, which the chain does not: `dbt build` holds a node back for a
  test only when the node descends from every model the test reads (dbt's add_test_edges), so only the
  clock-dependent tables (complaint_tracking, the KPIs: built last anyway) wait for this test, not
  dose_reconciliation, person_vaccination or commune_worklist.
-#}
-- depends_on: {{ ref('int_run_clocks_resolved') }}
{%- set chain_keys = [
    ('int_dose_scopes_changed', 'dose_record_key'),
    ('int_dose_records_unioned', 'dose_record_key'),
    ('int_dose_records_linked', 'dose_record_key'),
    ('int_dose_scopes_matched', 'dose_record_key'),
    ('int_dose_records_matched', 'dose_record_key'),
    ('int_dose_records_verified', 'dose_record_key'),
    ('int_dose_scopes_paired', 'dose_record_key'),
    ('int_dose_records_deduplicated', 'dose_record_key'),
    ('int_dose_scopes_sequenced', 'dose_record_key'),
    ('int_dose_records_sequenced', 'dose_record_key'),
] -%}
{%- for model_name, key in chain_keys %}
{% if not loop.first %}union all{% endif %}
select '{{ model_name }}' as model_name, {{ key }} as key_value, count(*) as rows_with_key
from {{ get_where_subquery(ref(model_name)) }}
group by {{ key }}
having {{ key }} is null or count(*) > 1
{%- endfor %}
