-- Every code a mart carries has a Vietnamese label in ref_code_labels (the BI layer and the worklist files
-- show the labels): a new issue code or status added to a model without its label fails here.
-- dose_reconciliation's issues are read from the rows the build re-derived on an incremental build (the
-- others were checked by the build that derived them), as assert_duplicates_point_at_kept_records does.
with

labels as (
    select * from {{ ref('ref_code_labels') }}
),

doses as (
    select * from {{ get_where_subquery(ref('dose_reconciliation')) }}
),

codes as (
    select distinct 'issue' as domain, {{ explode_list('issues') }} as code from doses
    union
    select distinct 'match_status', match_status from doses
    union
    select distinct 'match_method', match_method from doses
    union
    select distinct 'dose_source', source from doses
    union
    select distinct 'police_result', police_result from doses
    union
    select distinct 'worklist_status', status from {{ ref('commune_worklist') }}
    union
    select distinct 'issue', {{ explode_list('reasons') }} from {{ ref('commune_worklist') }}
    union
    select distinct 'verification_outcome', outcome from {{ ref('worklist_verification_history') }}
    union
    select distinct 'return_rejection', rejection_reason from {{ ref('worklist_verification_history') }}
    union
    select distinct 'complaint_source', source from {{ ref('complaint_tracking') }}
    union
    select distinct 'complaint_channel', channel from {{ ref('complaint_tracking') }}
    union
    select distinct 'complaint_category', category from {{ ref('complaint_tracking') }}
    union
    select distinct 'complaint_status', status from {{ ref('complaint_tracking') }}
    union
    select distinct 'sla_state', sla_state from {{ ref('complaint_tracking') }}
    union
    select distinct 'quarantine_reason', reason_code from {{ ref('intake_quarantine_daily') }}
    union
    select distinct 'site_kind', site_kind from {{ ref('vaccination_sites') }}
    union
    select distinct 'site_kind_source', kind_source from {{ ref('vaccination_sites') }}
    union
    select distinct 'site_evidence', {{ explode_list('evidence') }} from {{ ref('vaccination_sites') }}
)

select codes.domain, codes.code
from codes
left join labels on codes.domain = labels.domain and codes.code = labels.code
where codes.code is not null and labels.code is null
