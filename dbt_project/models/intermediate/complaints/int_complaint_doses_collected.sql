{#-
  The dose records complaint_tracking weighs as evidence: every record of int_dose_records_sequenced
  credited to, or suggesting (candidate_citizen_id), a citizen a complaint names, keyed by that citizen
  (linked_citizen_id). complaint_tracking reads these few rows instead of filtering every dose record
  by the complained citizens on every build.

  Incremental with the dose chain (macros/dose_chain.sql): a record's row changes only when the chain
  re-derives it (scope R4, int_dose_scopes_sequenced). The pre-hook (delete_complaint_dose_scope) drops
  R4's rows and the rows of citizens no complaint names any more; the select adds R4's re-derived rows of
  complained citizens and every record of the citizens newly named by a complaint (named in no complaint
  of the previous build: its int_complaint_citizens_collected). Only those citizens' records are read
  from the whole table: none, and that read is skipped.
-#}
{#- The previous build's list is read only when continuing it (below); the line declares the dependency for
    dbt (this model runs before the one that writes it), also on a full build. -#}
-- depends_on: {{ source('previous_build', 'complaint_citizens') }}
with

complained as (
    {{ complained_citizens_sql() }}
),

-- R4's records as int_dose_records_sequenced re-derived them (every record on a full build)
rederived as (
    select * from {{ dose_scope_rows(ref('int_dose_records_sequenced'), ref('int_dose_scopes_sequenced')) }}
    where coalesce(citizen_id, candidate_citizen_id) in (select citizen_id from complained)
),

{% if is_incremental() %}
-- read only when continuing the previous build: a full build has no previous list (the table may not exist)
newly_named as (
    {{ complaints_newly_named_citizens_sql() }}
),

doses as (
    select * from rederived
    where coalesce(citizen_id, candidate_citizen_id) not in (select citizen_id from newly_named)
    -- both sides have int_dose_records_sequenced's columns in its order (its kept rows are copied so)
    union all
    select * from {{ ref('int_dose_records_sequenced') }}
    where coalesce(citizen_id, candidate_citizen_id) in (select citizen_id from newly_named)
),
{% else %}
doses as (
    select * from rederived
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
