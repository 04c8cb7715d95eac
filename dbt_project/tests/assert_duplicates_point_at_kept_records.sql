-- A duplicate points at a record of the mart that is not itself a duplicate, and only duplicates point.
select d.source, d.source_record_id
from {{ ref('dose_reconciliation') }} as d
left join {{ ref('dose_reconciliation') }} as original
    on d.duplicate_of_source = original.source
    and d.duplicate_of_record_id = original.source_record_id
where (d.match_status = 'duplicate' and (original.source is null or original.match_status = 'duplicate'))
    or (d.match_status <> 'duplicate' and d.duplicate_of_record_id is not null)
