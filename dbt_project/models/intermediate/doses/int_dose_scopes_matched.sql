{#-
  R1 of the incremental dose chain (macros/dose_chain.sql): R0 and every record sharing a phone with a
  record of R0, its new phone or the one the previous build saw. int_dose_records_matched reads across
  records through the phone only (whose doses a phone is on), so outside R1 nothing it computes changes.
-#}
{% set previous_build = dose_chain_state_relation() if execute else none %}
with

changed as (
    select dose_record_key from {{ ref('int_dose_scopes_changed') }}
),

records as (
    select dose_record_key, phone from {{ ref('int_dose_records_unioned') }}
),

{% if dose_chain_is_incremental() %}
phones as (
    select records.phone from records semi join changed using (dose_record_key)
    where records.phone is not null
    union
    select previous.phone from {{ previous_build }} as previous semi join changed using (dose_record_key)
    where previous.phone is not null
),

scope as (
    select dose_record_key from changed
    union
    select records.dose_record_key from records semi join phones using (phone)
)
{% else %}
scope as (
    select dose_record_key from changed
)
{% endif %}

select dose_record_key from scope
