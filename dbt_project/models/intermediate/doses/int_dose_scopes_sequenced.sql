{#-
  R4 of the incremental dose chain (macros/dose_chain.sql), the scope of int_dose_records_screened,
  int_dose_records_sequenced and the per-record marts:
    X    = R2, the originals of R2's records (new and old: a kept record inherits its copies' signature)
           and the records whose original is in R2;
    core = X and every record credited (int_dose_records_verified) to a citizen of X, old or new (the
           borrowed-identity signals and the dose sequence read all of a citizen's doses);
    R4   = core and the duplicates of core's records (a duplicate of a suspected record is suspected).
  With each record, its row of the previous build's chain state (previous_*; has_previous_row: the
  previous build had the record): person_vaccination recomputes the old and the new citizens of R4,
  int_dose_counts_aggregated takes the old counts back, and int_dose_chain_state keeps the values of the
  models that did not re-derive the record.
-#}
{%- set state_columns = ['received_at', 'extracted_at', 'phone', 'phone_evidence_hash', 'id_candidate', 'name_key',
                         'date_of_birth', 'verified_citizen_id', 'police_return_hash', 'original_key', 'citizen_id',
                         'commune_code', 'district_code', 'vaccinated_on', 'match_status'] %}
with

paired as (
    select dose_record_key from {{ ref('int_dose_scopes_paired') }}
),

deduplicated as (
    select dose_record_key, original_key from {{ ref('int_dose_records_deduplicated') }}
),

-- R2's rows as int_dose_records_deduplicated re-derived them
paired_deduplicated as (
    select dose_record_key, original_key
    from {{ dose_scope_rows(ref('int_dose_records_deduplicated'), ref('int_dose_scopes_paired')) }}
),

verified as (
    select dose_record_key, citizen_id from {{ ref('int_dose_records_verified') }}
),

previous as (
    select * from {{ source('previous_build', 'dose_chain_state') }}
),

{% if dose_chain_is_incremental() %}
x as (
    select dose_record_key from paired
    union
    select original_key from paired_deduplicated where original_key is not null
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
),

final as (
    select
        scope.dose_record_key,
        previous.dose_record_key is not null as has_previous_row,
        {%- for column in state_columns %}
        previous.{{ column }} as previous_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from scope
    left join previous on scope.dose_record_key = previous.dose_record_key
)
{% else %}
final as (
    select
        dose_record_key,
        false as has_previous_row,
        {%- for column in state_columns %}
        null as previous_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from paired
)
{% endif %}

select * from final
