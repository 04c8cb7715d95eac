{#-
  R4 of the incremental dose chain (macros/dose_chain.sql), the scope of int_dose_records_sequenced (its
  screening and sequence) and the per-record marts:
    X    = R2, the originals of R2's records (new and old: a kept record inherits its copies' signature)
           and the records whose original is in R2;
    core = X and every record credited (int_dose_records_verified) to a citizen of X, old or new (the
           borrowed-identity signals and the dose sequence read all of a citizen's doses);
    R4   = core and the duplicates of core's records (a duplicate of a suspected record is suspected).
  previous_citizen_id: the citizen the previous build credited the record to (person_vaccination
  recomputes the old and the new citizens of R4); has_previous_row and previous_commune_code,
  previous_district_code, previous_vaccinated_on, previous_match_status: whether the previous build had
  the record and how it counted it (int_dose_counts_aggregated takes those counts back).
-#}
-- depends_on: {{ ref('int_dose_records_deduplicated') }}
-- depends_on: {{ ref('int_dose_records_verified') }}
{% set previous_build = dose_chain_state_relation() if execute else none %}
with

paired as (
    select dose_record_key from {{ ref('int_dose_scopes_paired') }}
),

{% if dose_chain_is_incremental() %}
deduplicated as (
    select
        dose_record_key,
        case when is_duplicate then duplicate_of_source || '/' || duplicate_of_record_id end as original_key
    from {{ ref('int_dose_records_deduplicated') }}
),

verified as (
    select dose_record_key, citizen_id from {{ ref('int_dose_records_verified') }}
),

previous as (
    select
        dose_record_key, verified_citizen_id, citizen_id, original_key,
        commune_code, district_code, vaccinated_on, match_status
    from {{ previous_build }}
),

x as (
    select dose_record_key from paired
    union
    -- R2's rows as int_dose_records_deduplicated re-derived them (macros/dose_chain.sql)
    select original_key from (
        select case when is_duplicate then duplicate_of_source || '/' || duplicate_of_record_id end as original_key
        from {{ dose_scope_rows(ref('int_dose_records_deduplicated'), ref('int_dose_scopes_paired')) }}
    )
    where original_key is not null
    union
    select previous.original_key from previous semi join paired using (dose_record_key)
    where previous.original_key is not null
    union
    select deduplicated.dose_record_key from deduplicated
    where deduplicated.original_key in (select dose_record_key from paired)
),

x_citizens as (
    select verified.citizen_id from verified semi join x using (dose_record_key)
    where verified.citizen_id is not null
    union
    select previous.verified_citizen_id from previous semi join x using (dose_record_key)
    where previous.verified_citizen_id is not null
),

core as (
    select dose_record_key from x
    union
    select verified.dose_record_key from verified semi join x_citizens using (citizen_id)
),

scope as (
    select dose_record_key from core
    union
    select deduplicated.dose_record_key from deduplicated
    where deduplicated.original_key in (select dose_record_key from core)
)

select
    scope.dose_record_key,
    previous.citizen_id as previous_citizen_id,
    previous.dose_record_key is not null as has_previous_row,
    previous.commune_code as previous_commune_code,
    previous.district_code as previous_district_code,
    previous.vaccinated_on as previous_vaccinated_on,
    previous.match_status as previous_match_status
from scope
left join previous on scope.dose_record_key = previous.dose_record_key
{% else %}
scope as (
    select dose_record_key from paired
)

select
    dose_record_key,
    null::varchar as previous_citizen_id,
    false as has_previous_row,
    null::varchar as previous_commune_code,
    null::varchar as previous_district_code,
    null::date as previous_vaccinated_on,
    null::varchar as previous_match_status
from scope
{% endif %}
