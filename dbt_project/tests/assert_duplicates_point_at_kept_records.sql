-- A duplicate points at a record of the mart that is not itself a duplicate, and only duplicates point.
-- On an incremental build, the records the build re-derived (get_where_subquery, macros/dose_chain.sql): a
-- record outside scope R4 keeps its row and so does its original (R4 takes in the duplicates of every
-- record it re-derives, int_dose_scopes_sequenced), as the scoped generic tests assume.
select d.source, d.source_record_id
from (select * from {{ get_where_subquery(ref('dose_reconciliation')) }}) as d
left join {{ ref('dose_reconciliation') }} as original
    on d.duplicate_of_source = original.source
    and d.duplicate_of_record_id = original.source_record_id
where (d.match_status = 'duplicate' and (original.source is null or original.match_status = 'duplicate'))
    or (d.match_status <> 'duplicate' and d.duplicate_of_record_id is not null)
