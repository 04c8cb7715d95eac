{#-
  The dose records complaint_tracking weighs as evidence: every record of int_dose_records_sequenced
  credited to, or suggesting (candidate_citizen_id), a citizen a complaint names, keyed by that citizen
  (linked_citizen_id). ~27 k rows at 1.3 M residents: complaint_tracking reads them instead of filtering
  the 3.2 M-row table by the complained citizens, which decodes two whole columns on every build.

  Incremental with the dose chain (macros/dose_chain.sql): a record's row changes only when the chain
  re-derives it (scope R4, int_dose_scopes_sequenced). The pre-hook (delete_complaint_dose_scope) drops
  R4's rows and the rows of citizens no complaint names any more; the select adds R4's re-derived rows of
  complained citizens and every record of the citizens newly named by a complaint (the previous build's
  complaint_tracking tells who was named before: read by name, it is downstream). A scan of the 3.2 M
  rows happens only when there are such citizens (complaints_newly_named_citizens). Like the chain's read
  of its previous state, this assumes the previous build succeeded: vaxclean.build runs a full refresh
  after a failed one (no build stamp).
-#}
-- depends_on: {{ ref('int_dose_scopes_sequenced') }}
{%- set newly_named = complaints_newly_named_citizens() if is_incremental() else none %}
with

complained as (
    {{ complained_citizens_sql() }}
),

{% if is_incremental() %}
-- R4's records as int_dose_records_sequenced re-derived them (macros/dose_chain.sql)
rederived as (
    select * from {{ dose_scope_rows(ref('int_dose_records_sequenced'), ref('int_dose_scopes_sequenced')) }}
    where coalesce(citizen_id, candidate_citizen_id) in (select citizen_id from complained)
    {%- if newly_named['count'] > 0 %}
        and coalesce(citizen_id, candidate_citizen_id) not in ({{ newly_named['sql'] }})
    {%- endif %}
),

{%- if newly_named['count'] > 0 %}

newly_named as (
    select * from {{ ref('int_dose_records_sequenced') }}
    where coalesce(citizen_id, candidate_citizen_id) in ({{ newly_named['sql'] }})
),
{%- endif %}

doses as (
    select * from rederived
    {%- if newly_named['count'] > 0 %}
    union all by name
    select * from newly_named
    {%- endif %}
),
{% else %}
doses as (
    select * from {{ ref('int_dose_records_sequenced') }}
    where coalesce(citizen_id, candidate_citizen_id) in (select citizen_id from complained)
),
{% endif %}

final as (
    select
        dose_record_key,
        coalesce(citizen_id, candidate_citizen_id) as linked_citizen_id,
        source,
        source_record_id,
        citizen_id,
        candidate_citizen_id,
        match_status,
        issues,
        vaccinated_on,
        police_result,
        received_at
    from doses
)

select * from final
