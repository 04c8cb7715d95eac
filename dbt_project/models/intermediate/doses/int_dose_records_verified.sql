{#-
  Police verification returns applied over the identity resolution (the newest return per record):
    xác nhận (confirmed) / điều chỉnh (corrected): credited as `corrected` to the citizen the verified
      ID names (for a confirmation without an ID: the suggested candidate); a verified ID that names
      nobody is not applied (worklist status `rejected`, issue police_id_not_in_population);
    không thường trú (not_resident): `unmatched`, issue not_resident, nobody credited;
    không tìm thấy (not_found): `needs_review`, issue police_not_found.
  A return that credits another citizen than the one whose consistent identity (ID, name, birth date)
  the record carried also keeps suspected_borrowed_identity: the identity was borrowed.
  worklist_status: open (no return yet), returned (returned, still to be reviewed), applied, rejected.
  Incremental by scope R1 (int_dose_scopes_matched, macros/dose_chain.sql): a row reads its record only
  (a new or changed return puts its record in R0: police_return_hash; a new population makes the build
  full).
-#}
with

matched as (
    select * from {{ dose_scope_rows(ref('int_dose_records_matched'), ref('int_dose_scopes_matched')) }}
),

returns as (
    select * from {{ ref('stg_police_returns__verifications') }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

verified_ids as (
    select
        returns.source,
        returns.source_record_id,
        coalesce(by_id.citizen_id, by_old_id.citizen_id) as verified_citizen_id
    from returns
    left join citizens as by_id on returns.police_verified_id_candidate = by_id.citizen_id
    left join citizens as by_old_id on returns.police_verified_id_candidate = by_old_id.old_id_number
),

joined as (
    select
        matched.*,
        returns.police_result,
        -- which return was applied: the next incremental build re-derives the record when it changes
        case when returns.source is not null then hash(returns) end as police_return_hash,
        returns.police_verified_id_digits,
        case
            when returns.police_result in ('confirmed', 'corrected') and returns.police_verified_id_digits is null
                then matched.candidate_citizen_id
            else verified_ids.verified_citizen_id
        end as police_citizen_id
    from matched
    left join returns
        on matched.source = returns.source
        and matched.source_record_id = returns.source_record_id
    left join verified_ids
        on returns.source = verified_ids.source
        and returns.source_record_id = verified_ids.source_record_id
),

final as (
    select
        dose_record_key,
        source,
        source_record_id,
        case
            when police_result in ('confirmed', 'corrected') and police_citizen_id is not null then police_citizen_id
            when police_result in ('not_resident', 'not_found') then null
            else citizen_id
        end as citizen_id,
        case
            when police_result in ('confirmed', 'corrected') and police_citizen_id is not null then 'corrected'
            when police_result = 'not_resident' then 'unmatched'
            when police_result = 'not_found' then 'needs_review'
            else match_status
        end as match_status,
        case
            when police_result in ('confirmed', 'corrected') and police_citizen_id is not null then 1.0
            when police_result in ('not_resident', 'not_found') then null
            else match_score
        end as match_score,
        case
            when police_result in ('confirmed', 'corrected') and police_citizen_id is not null then 'police'
            else match_method
        end as match_method,
        case
            when police_result in ('confirmed', 'corrected') and police_citizen_id is not null then police_citizen_id
            else candidate_citizen_id
        end as candidate_citizen_id,
        candidate_score,
        list_concat(
            issues,
            list_filter(
                [
                    case when police_result = 'not_resident' then 'not_resident' end,
                    case when police_result = 'not_found' then 'police_not_found' end,
                    case when police_result in ('confirmed', 'corrected') and police_citizen_id is null
                        then 'police_id_not_in_population' end,
                    case when police_result in ('confirmed', 'corrected') and police_citizen_id is not null
                        then 'police_verified' end,
                    -- the record carried another real citizen's consistent identity: a borrowed identity
                    case when police_result in ('confirmed', 'corrected') and police_citizen_id is not null
                        and citizen_id is not null and police_citizen_id <> citizen_id
                        and match_method in ('id', 'id_repaired', 'old_id', 'old_id_repaired')
                        then 'suspected_borrowed_identity' end
                ],
                lambda code: code is not null
            )
        ) as issues,
        police_result,
        police_return_hash,
        case
            when police_result is null then 'open'
            when police_result in ('confirmed', 'corrected') and police_citizen_id is null then 'rejected'
            when police_result = 'not_found' then 'returned'
            else 'applied'
        end as worklist_status
    from joined
)

select * from final
