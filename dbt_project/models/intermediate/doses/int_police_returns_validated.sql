{#-
  Every police return row of a received dose record, whether it may apply, and which one applies. A return
  is a signed list coming back from one commune's police: it may only speak for the records that commune
  was sent, and a corrected identity must be the record's person. rejection_reason (null: may apply):
    returned_by_another_commune  the file came from another commune's folder than the one whose worklist
                                 lists the record (its reported commune, else its candidate's, else the
                                 commune of the health station that gave the dose: commune_worklist's rule);
    identity_does_not_match      the verified ID names a citizen who is not the record's person: neither the
                                 name nor the birth date agrees with the record's, tolerantly (a close name;
                                 the same, a swapped or a near date: identity resolution's identity conflict;
                                 a worklist case has one wrong detail, not both), or the name or birth date
                                 the police typed disagrees with the register's; for xác nhận and điều chỉnh;
    verified_id_unreadable       a xác nhận or điều chỉnh whose verified ID was typed but reads as no number
                                 (words, a note): what the police verified cannot be told.
  is_applied: the newest row that may apply (by verification day capped at the file's arrival, then load
  time, file and line: stg_police_returns__verifications' order), else the newest row (then rejected): a
  refused file cannot displace a valid return. A verified ID that names nobody is judged by
  int_dose_records_verified (police_id_not_in_population). Only the returned records' rows are read from
  the chain.
-#}
with

return_rows as (
    select * from {{ ref('stg_police_returns__verification_rows') }}
),

records as (
    select
        records.dose_record_key, records.source, records.source_record_id, records.commune_code, records.site_code,
        records.name_key, records.date_of_birth, records.is_dob_year_only
    from {{ ref('int_dose_records_unioned') }} as records
    semi join return_rows
        on records.source = return_rows.source and records.source_record_id = return_rows.source_record_id
),

matched as (
    select matched.dose_record_key, matched.candidate_citizen_id
    from {{ ref('int_dose_records_matched') }} as matched
    semi join records on matched.dose_record_key = records.dose_record_key
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

stations as (
    {{ commune_stations() }}
),

checked as (
    select
        return_rows.*,
        records.dose_record_key,
        {{ worklist_commune_code('records', 'candidate', 'station') }} as worklist_commune_code,
        coalesce(by_id.citizen_id, by_old_id.citizen_id) as verified_citizen_id,
        case
            when coalesce(by_id.citizen_id, by_old_id.citizen_id) is null then true
            else (
                -- the record's person: its name or its birth date agrees
                {{ names_close('records.name_key', 'person.name_key') }}
                or coalesce(
                    {{ dob_compatible('records.date_of_birth', 'records.is_dob_year_only', 'person.date_of_birth', 'person.is_birth_year_only') }}
                    or (not records.is_dob_year_only and not person.is_birth_year_only
                        and abs({{ days_between('records.date_of_birth', 'person.date_of_birth') }}) <= 31),
                    false)
            )
            -- what the police typed, when they did, is the register's
            and (return_rows.police_verified_full_name is null
                 or {{ names_close(name_key('return_rows.police_verified_full_name'), 'person.name_key') }})
            and (return_rows.police_verified_date_of_birth is null
                 or {{ dob_compatible('return_rows.police_verified_date_of_birth', 'false', 'person.date_of_birth', 'person.is_birth_year_only') }})
        end as is_identity_agreed
    from return_rows
    inner join records
        on return_rows.source = records.source and return_rows.source_record_id = records.source_record_id
    left join matched on records.dose_record_key = matched.dose_record_key
    left join citizens as candidate on matched.candidate_citizen_id = candidate.citizen_id
    left join stations as station on records.site_code = station.site_code
    left join citizens as by_id on return_rows.police_verified_id_candidate = by_id.citizen_id
    left join citizens as by_old_id on return_rows.police_verified_id_candidate = by_old_id.old_id_number
    left join citizens as person on coalesce(by_id.citizen_id, by_old_id.citizen_id) = person.citizen_id
),

judged as (
    select
        *,
        case
            when returned_by_commune_code is distinct from worklist_commune_code then 'returned_by_another_commune'
            when police_result in ('confirmed', 'corrected') and nullif(trim(police_verified_id_number_reported), '') is not null
                and police_verified_id_digits is null then 'verified_id_unreadable'
            when not is_identity_agreed then 'identity_does_not_match'
        end as rejection_reason
    from checked
),

final as (
    select
        dose_record_key,
        source,
        source_record_id,
        file_sha256,
        line_number,
        police_result,
        police_verified_id_digits,
        verified_citizen_id,
        returned_by_commune_code,
        worklist_commune_code,
        rejection_reason,
        row_number() over (
            partition by dose_record_key
            order by (rejection_reason is null) desc, {{ police_return_order() }}
        ) = 1 as is_applied
    from judged
)

select * from final
