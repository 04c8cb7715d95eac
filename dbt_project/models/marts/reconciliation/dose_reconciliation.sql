{#- One row per dose record received (newest version, tombstones excluded): who it is credited to and why.
    A view of int_dose_records_sequenced (its published columns, typed as the contract says): the chain's
    last model is already incremental by scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql); a copy
    would be rewritten on every build. BI tools read the published file (vaxclean.publish), where it is a table. -#}
with

sequenced as (
    select * from {{ ref('int_dose_records_sequenced') }}
),

final as (
    select
        cast(source as string) as source,
        cast(source_record_id as string) as source_record_id,
        cast(citizen_id as string) as citizen_id,
        cast(match_status as string) as match_status,
        cast(match_score as double) as match_score,
        cast(issues as {{ string_list_type() }}) as issues,
        cast(duplicate_of_source as string) as duplicate_of_source,
        cast(duplicate_of_record_id as string) as duplicate_of_record_id,
        cast(vaccine_code as string) as vaccine_code,
        cast(dose_number_reported as integer) as dose_number_reported,
        cast(dose_sequence as integer) as dose_sequence,
        cast(vaccinated_on as date) as vaccinated_on,
        cast(is_signed as boolean) as is_signed,
        cast(province_code as string) as province_code,
        cast(district_code as string) as district_code,
        cast(commune_code as string) as commune_code,
        cast(match_method as string) as match_method,
        cast(candidate_citizen_id as string) as candidate_citizen_id,
        cast(candidate_score as double) as candidate_score,
        cast(police_result as string) as police_result
    from sequenced
)

select * from final
