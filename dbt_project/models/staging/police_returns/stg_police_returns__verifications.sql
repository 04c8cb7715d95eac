{#-
  One row per returned dose record (source, source_record_id): the newest verification, by the
  verification date (a date typed after the file arrived counts as the arrival day: a future date must not
  win for ever) then the load time, among every returned row (stg_police_returns__verification_rows,
  which normalises them and maps the results: xác nhận -> confirmed, điều chỉnh -> corrected,
  không tìm thấy -> not_found, không thường trú -> not_resident).
-#}
{{ config(materialized='table') }}  {#- read by tests, the staging gate and every intermediate model: computed once -#}
with

verification_rows as (
    select * from {{ ref('stg_police_returns__verification_rows') }}
),

ranked as (
    select
        *,
        count(*) over (partition by source, source_record_id) as return_count,
        -- every return row of the record (order-free): a new or changed one re-derives the record
        sum(cast({{ row_fingerprint('verification_rows') }} as decimal(38, 0))) over (partition by source, source_record_id) as police_returns_hash,
        row_number() over (
            partition by source, source_record_id
            order by {{ police_return_order() }}
        ) as return_rank
    from verification_rows
),

final as (
    select
        source,
        source_record_id,
        police_result,
        police_result_reported,
        police_verified_id_number_reported,
        police_verified_id_digits,
        police_verified_id_candidate,
        police_verified_full_name,
        police_verified_date_of_birth,
        police_verified_gender,
        police_verifier,
        police_verified_on,
        returned_by_commune_code,
        loaded_at,
        return_count,
        police_returns_hash
    from ranked
    where return_rank = 1
)

select * from final
