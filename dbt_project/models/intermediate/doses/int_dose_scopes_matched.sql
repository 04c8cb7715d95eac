{#-
  R1 of the incremental dose chain (macros/dose_chain.sql): R0 and every record sharing a phone with a
  record of R0 whose phone evidence can differ from the previous build's (new, gone, or another
  phone_evidence_hash: phone, ID, name, birth date or gender changed), its new phone or the one the
  previous build saw. int_dose_records_matched reads across records through the phone only (whose doses
  a phone is on: phone_owners, a function of those columns and the population), so outside R1 nothing
  it computes changes. A record of R1 whose phone others share reads their evidence
  (int_dose_records_matched reads it for the phones of R1), not their rows in the chain.
  Also in R1: a returned record whose site's kind or commune (int_vaccination_sites_classified) is not the
  one the previous build used: whether its police return may apply reads the station's commune
  (int_police_returns_validated), and int_dose_records_verified applies it.
-#}
{#- The previous build's state is read only when continuing it (below); the line declares the dependency for
    dbt (this model runs before the one that writes it), also on a full build. -#}
-- depends_on: {{ source('previous_build', 'dose_chain_state') }}
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

sites as (
    select site_code, site_kind, commune_code from {{ ref('int_vaccination_sites_classified') }}
),

{% if dose_chain_is_incremental() %}
previous as (
    select dose_record_key, phone, phone_evidence_hash, police_return_hash, site_code, site_kind, site_commune_code
    from {{ source('previous_build', 'dose_chain_state') }}
),

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

returned_at_changed_sites as (
    select previous.dose_record_key
    from previous
    left join sites on previous.site_code = sites.site_code
    where previous.police_return_hash is not null
        and (previous.site_kind is distinct from sites.site_kind
             or previous.site_commune_code is distinct from sites.commune_code)
),

scope as (
    select dose_record_key from changed
    union
    select records.dose_record_key from records semi join phones using (phone)
    union
    select dose_record_key from returned_at_changed_sites
)
{% else %}
scope as (
    select dose_record_key from changed
)
{% endif %}

select dose_record_key from scope
