{#-
  One row per dose record sent to a commune for verification: in review, unmatched with a
  candidate, suspected borrowed identity, or already returned by the police. The commune is the
  reported one, else the candidate's, else the commune of the commune health station that gave the dose (int_vaccination_sites_classified,
  macro commune_stations); a case with none of these stays unrouted (commune_code null) for the province.
  worklist_item_id = md5(source || '/' || source_record_id) is stable across runs. The police columns, the
  file and the status are those of one return, the current one of worklist_verification_history (the newest
  that may apply, else the newest: a refused newer return never shows beside the applied one's status),
  with how many returns the record had. status: open (no return yet) -> returned (returned,
  not applicable yet: not found) -> applied (credited / unmatched as returned) or rejected (the verified
  ID names nobody in the population).
  Incremental by scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql): a row per record (a new or
  changed police return puts its record in R0; a new population makes the build full).
-#}
with

reconciled as (
    select * from {{ dose_scope_rows(ref('int_dose_records_sequenced'), ref('int_dose_scopes_sequenced')) }}
),

records as (
    select * from {{ ref('int_dose_records_unioned') }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

stations as (
    {{ commune_stations() }}
),

history as (
    select
        *,
        count(*) over (partition by source, source_record_id) as return_count
    from {{ ref('worklist_verification_history') }}
),

current_return as (
    select * from history
    where is_current
),

cases as (
    select * from reconciled
    where
        match_status = 'needs_review'
        or (match_status = 'unmatched' and candidate_citizen_id is not null)
        or array_contains(issues, 'suspected_borrowed_identity')
        or police_result is not null
),

final as (
    select
        cast(md5(cases.source || '/' || cases.source_record_id) as string) as worklist_item_id,
        cast(coalesce(records.province_code, candidate.province_code) as string) as province_code,
        cast(coalesce(records.district_code, candidate.district_code, station.district_code) as string)
            as district_code,
        cast({{ worklist_commune_code('records', 'candidate', 'station') }} as string) as commune_code,
        cast(cases.source as string) as source,
        cast(cases.source_record_id as string) as source_record_id,
        cast(array_sort(array_distinct(cases.issues)) as {{ string_list_type() }}) as reasons,
        cast(records.full_name as string) as full_name,
        cast(records.date_of_birth_reported as string) as date_of_birth,
        cast(records.gender as string) as gender,
        cast(records.id_number_reported as string) as id_number,
        cast(records.phone as string) as phone,
        cast(cases.candidate_citizen_id as string) as candidate_citizen_id,
        cast(candidate.full_name as string) as candidate_full_name,
        cast(candidate.date_of_birth as date) as candidate_date_of_birth,
        cast(candidate.gender as string) as candidate_gender,
        cast(cases.candidate_score as double) as candidate_score,
        cast(cases.worklist_status as string) as status,
        cast(current_return.police_result_reported as string) as police_result,
        cast(current_return.police_verified_id_number as string) as police_verified_id_number,
        cast(current_return.police_verified_full_name as string) as police_verified_full_name,
        cast(current_return.police_verified_date_of_birth as date) as police_verified_date_of_birth,
        cast(current_return.police_verified_gender as string) as police_verified_gender,
        cast(current_return.police_verifier as string) as police_verifier,
        cast(current_return.police_verified_on as date) as police_verified_on,
        cast(cases.match_status as string) as match_status,
        cast(records.vaccine_reported as string) as vaccine,
        cast(cases.vaccinated_on as date) as vaccinated_on,
        cast(records.site_code as string) as site_code,
        cast(current_return.file_name as string) as police_return_file,
        cast(coalesce(current_return.return_count, 0) as integer) as police_return_count
    from cases
    inner join records on cases.dose_record_key = records.dose_record_key
    left join citizens as candidate on cases.candidate_citizen_id = candidate.citizen_id
    left join stations as station on records.site_code = station.site_code
    left join current_return
        on cases.source = current_return.source and cases.source_record_id = current_return.source_record_id
)

select * from final
