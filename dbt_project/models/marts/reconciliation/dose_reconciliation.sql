{#- One row per dose record received (newest version, tombstones excluded): who it is credited to and why.
    A view of int_dose_records_sequenced (its published columns, typed as the contract says): the chain's
    last model is already incremental by scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql), and a
    second 3.2 M-row copy of it cost a delete + insert of the scope on every incremental build and a full
    write on full builds. BI tools read the published file (vaxclean.publish), where it is a table. -#}
-- depends_on: {{ ref('int_dose_scopes_sequenced') }}
{#- Scheduled after complaint_tracking (no model reads this view): dbt starts the ready node of the least
    graph depth first, so this view and its dozen tests would otherwise run before person_vaccination,
    commune_worklist and complaint_tracking, which the KPIs wait for; now they fill dbt's second thread
    while the KPIs build. -#}
-- depends_on: {{ ref('complaint_tracking') }}
with

sequenced as (
    select * from {{ ref('int_dose_records_sequenced') }}
),

final as (
    select
        cast(source as varchar) as source,
        cast(source_record_id as varchar) as source_record_id,
        cast(citizen_id as varchar) as citizen_id,
        cast(match_status as varchar) as match_status,
        cast(match_score as double) as match_score,
        cast(issues as varchar[]) as issues,
        cast(duplicate_of_source as varchar) as duplicate_of_source,
        cast(duplicate_of_record_id as varchar) as duplicate_of_record_id,
        cast(vaccine_code as varchar) as vaccine_code,
        cast(dose_number_reported as integer) as dose_number_reported,
        cast(dose_sequence as integer) as dose_sequence,
        cast(vaccinated_on as date) as vaccinated_on,
        cast(is_signed as boolean) as is_signed,
        cast(province_code as varchar) as province_code,
        cast(district_code as varchar) as district_code,
        cast(commune_code as varchar) as commune_code,
        cast(match_method as varchar) as match_method,
        cast(candidate_citizen_id as varchar) as candidate_citizen_id,
        cast(candidate_score as double) as candidate_score,
        cast(police_result as varchar) as police_result
    from sequenced
)

select * from final
