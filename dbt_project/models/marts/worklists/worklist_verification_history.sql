{#-
  The correction history: one row per police return row ever received (every file, every line), with
  who verified, when, from which file, and what became of it. The newest verification of a dose record
  that may apply is current (int_police_returns_validated: by verification day, capped at the file's
  arrival, then load time, then file and line; the newest row when none may apply) and carries the worklist
  status it produced (`applied`, `rejected`, `returned`), or `unknown_record` when no live dose record has
  that key. A refused row is `rejected` with its rejection_reason; the others are `superseded`.
  Rebuilt from the raw layer, which keeps every returned file: nothing is lost between runs.
-#}
with

return_rows as (
    select * from {{ ref('stg_police_returns__verification_rows') }}
),

reconciled as (
    select * from {{ ref('int_dose_records_sequenced') }}
),

admin_units as (
    select * from {{ ref('ref_admin_units') }}
),

validated as (
    select * from {{ ref('int_police_returns_validated') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by source, source_record_id
            order by {{ police_return_order() }}
        ) as recency_rank,
        row_number() over (
            partition by source, source_record_id
            order by {{ police_return_order(newest_first=false) }}
        ) as return_sequence
    from return_rows
),

final as (
    select
        cast(md5(ranked.file_sha256 || '#' || ranked.line_number) as string) as verification_id,
        cast(md5(ranked.source || '/' || ranked.source_record_id) as string) as worklist_item_id,
        cast(ranked.source as string) as source,
        cast(ranked.source_record_id as string) as source_record_id,
        cast(ranked.return_sequence as integer) as return_sequence,
        cast(coalesce(validated.is_applied, ranked.recency_rank = 1) as boolean) as is_current,
        cast(
            case
                when reconciled.source is null then 'unknown_record'
                when validated.is_applied then reconciled.worklist_status
                when validated.rejection_reason is not null then 'rejected'
                else 'superseded'
            end as string
        ) as outcome,
        cast(ranked.police_result as string) as police_result,
        cast(ranked.police_result_reported as string) as police_result_reported,
        cast(ranked.police_verified_id_number_reported as string) as police_verified_id_number,
        cast(ranked.police_verified_full_name as string) as police_verified_full_name,
        cast(ranked.police_verified_date_of_birth as date) as police_verified_date_of_birth,
        cast(ranked.police_verified_gender as string) as police_verified_gender,
        cast(ranked.police_verifier as string) as police_verifier,
        cast(ranked.police_verified_on as date) as police_verified_on,
        cast(ranked.returned_by_commune_code as string) as returned_by_commune_code,
        cast(ranked.file_name as string) as file_name,
        cast(ranked.file_path as string) as file_path,
        cast(ranked.file_sha256 as string) as file_sha256,
        cast(ranked.line_number as integer) as line_number,
        cast(ranked.loaded_at as timestamp) as loaded_at,
        cast(case when validated.is_applied then reconciled.match_status end as string) as match_status,
        cast(case when validated.is_applied then reconciled.citizen_id end as string) as citizen_id,
        -- where the dose record belongs (dose_reconciliation's place), else the commune that returned it
        cast(coalesce(reconciled.province_code, case when admin_units.commune_code is not null then '19' end)
             as string) as province_code,
        cast(coalesce(reconciled.district_code, admin_units.district_code) as string) as district_code,
        cast(coalesce(reconciled.commune_code, ranked.returned_by_commune_code) as string) as commune_code,
        cast(validated.rejection_reason as string) as rejection_reason
    from ranked
    left join reconciled
        on ranked.source = reconciled.source
        and ranked.source_record_id = reconciled.source_record_id
    left join admin_units on ranked.returned_by_commune_code = admin_units.commune_code
    left join validated
        on ranked.file_sha256 = validated.file_sha256
        and ranked.line_number = validated.line_number
)

select * from final
