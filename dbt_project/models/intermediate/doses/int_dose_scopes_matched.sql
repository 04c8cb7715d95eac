{#-
  R1 of the incremental dose chain (macros/dose_chain.sql): R0 and every record sharing a phone with a
  record of R0 whose phone evidence can differ from the previous build's (new, gone, or another
  phone_evidence_hash: phone, ID, name, birth date or gender changed), its new phone or the one the
  previous build saw. int_dose_records_matched reads across records through the phone only (whose doses
  a phone is on: phone_owners, a function of those columns and the population), so outside R1 nothing
  it computes changes. A record of R1 whose phone others share reads their evidence
  (int_dose_records_matched reads it for the phones of R1), not their rows in the chain.
-#}
with

changed as (
    select dose_record_key from {{ ref('int_dose_scopes_changed') }}
),

records as (
    select dose_record_key, phone from {{ ref('int_dose_records_unioned') }}
),

-- R0's rows as int_dose_records_unioned re-derived them
changed_records as (
    select dose_record_key, phone, phone_evidence_hash
    from {{ dose_scope_rows(ref('int_dose_records_unioned'), ref('int_dose_scopes_changed')) }}
),

previous as (
    select dose_record_key, phone, phone_evidence_hash from {{ source('previous_build', 'dose_chain_state') }}
),

{% if dose_chain_is_incremental() %}
-- the records of R0 whose contribution to a phone's evidence can have changed, with both phones
evidence_changed as (
    select now.phone as new_phone, previous.phone as old_phone
    from changed_records as now
    full outer join (
        select * from previous semi join changed using (dose_record_key)
    ) as previous on now.dose_record_key = previous.dose_record_key
    where now.phone_evidence_hash is distinct from previous.phone_evidence_hash
),

phones as (
    select new_phone as phone from evidence_changed where new_phone is not null
    union
    select old_phone from evidence_changed where old_phone is not null
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
