{#-
  Police verification returns applied over the identity resolution (the newest return per record):
    xác nhận (confirmed) / điều chỉnh (corrected): credited as `corrected` to the citizen the verified
      ID names (for a confirmation without an ID: the suggested candidate); a verified ID that names
      nobody is not applied (worklist status `rejected`, issue police_id_not_in_population);
    không thường trú (not_resident): `unmatched`, issue not_resident, nobody credited;
    không tìm thấy (not_found): `needs_review`, issue police_not_found.
  A return that credits another citizen than the one whose consistent identity (ID, name, birth date)
  the record carried also keeps suspected_borrowed_identity: the identity was borrowed.
  A return from another commune than the record's, or whose verified identity is not the record's person
  (int_police_returns_validated), applies nothing: worklist status `rejected`, police_return_rejection the
  reason (worklist_verification_history publishes it; the issue codes are the contract's).
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

-- the return that applies to each returned record (the newest valid one, else the newest: rejected)
validated as (
    select * from {{ ref('int_police_returns_validated') }}
    where is_applied
),

joined as (
    select
        matched.*,
        -- a rejected return applies nothing: the record keeps its resolution
        case when validated.rejection_reason is null then validated.police_result end as police_result,
        validated.rejection_reason as police_return_rejection,
        -- the returns received for the record: the next incremental build re-derives it when they change
        returns.police_returns_hash as police_return_hash,
        validated.police_verified_id_digits,
        case
            when validated.police_result in ('confirmed', 'corrected') and validated.police_verified_id_digits is null
                then matched.candidate_citizen_id
            else validated.verified_citizen_id
        end as police_citizen_id
    from matched
    left join returns
        on matched.source = returns.source
        and matched.source_record_id = returns.source_record_id
    left join validated on matched.dose_record_key = validated.dose_record_key
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
        concat(
            issues,
            {%- set issue_codes %}
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
            {%- endset %}
            {{ present_codes(issue_codes) }}
        ) as issues,
        police_result,
        police_return_rejection,
        police_return_hash,
        case
            when police_return_rejection is not null then 'rejected'
            when police_result is null then 'open'
            when police_result in ('confirmed', 'corrected') and police_citizen_id is null then 'rejected'
            when police_result = 'not_found' then 'returned'
            else 'applied'
        end as worklist_status
    from joined
)

select * from final
