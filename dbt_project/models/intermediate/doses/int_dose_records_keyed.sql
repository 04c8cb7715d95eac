{#-
  What the next build of the dose chain needs to know about this one (macros/dose_chain.sql): per dose
  record, when it was received and the keys it was grouped by (phone, ID, name key + birth date, the
  citizen identity resolution credited it to, its original when a duplicate, the citizen finally
  credited). The scope models of the next build read it by name, before this model replaces its rows.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_dose_scope(ref('int_dose_scopes_sequenced')) }}",
) }}
with

records as (
    select * from {{ ref('int_dose_records_unioned') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced'), 'dose_record_key') }}
),

verified as (
    select * from {{ ref('int_dose_records_verified') }}
),

deduplicated as (
    select * from {{ ref('int_dose_records_deduplicated') }}
),

sequenced as (
    select * from {{ ref('int_dose_records_sequenced') }}
),

final as (
    select
        records.dose_record_key,
        records.received_at,
        records.phone,
        records.id_candidate,
        records.name_key,
        records.date_of_birth,
        verified.citizen_id as verified_citizen_id,
        sequenced.citizen_id,
        case when deduplicated.is_duplicate
            then deduplicated.duplicate_of_source || '/' || deduplicated.duplicate_of_record_id end as original_key
    from records
    inner join verified on records.dose_record_key = verified.dose_record_key
    inner join deduplicated on records.dose_record_key = deduplicated.dose_record_key
    inner join sequenced on records.dose_record_key = sequenced.dose_record_key
)

select * from final
