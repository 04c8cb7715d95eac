{#-
  R4 of the incremental dose chain (macros/dose_chain.sql), the scope of int_dose_records_screened,
  int_dose_records_sequenced and the per-record marts:
    X    = R2, the originals of R2's records (new and old: a kept record inherits its copies' signature),
           the records whose original is in R2, and the records of a site whose kind or commune
           (int_vaccination_sites_classified) is not the one the previous build used (the screening and the worklist
           routing read them);
    core = X and every record credited (int_dose_records_verified) to a citizen of X, old or new, or to a
           citizen with a record (old or new) that shares a phone (old or new) with such a record (the
           borrowed-identity signals and the dose sequence read all of a citizen's doses; the phone signal
           reads two citizens who share a phone);
    R4   = core and the duplicates of core's records (a duplicate of a suspected record is suspected).
  With each record, its row of the previous build's chain state (previous_*; has_previous_row: the
  previous build had the record): person_vaccination recomputes the old and the new citizens of R4,
  int_dose_counts_aggregated takes the old counts back, and int_dose_chain_state keeps the values of the
  models that did not re-derive the record.
-#}
{#- the chain state's columns and their types (int_dose_chain_state) -#}
{%- set state_columns = [('received_at', 'timestamp'), ('extracted_at', 'timestamp'), ('phone', 'string'),
                         ('phone_evidence_hash', fingerprint_type()), ('id_candidate', 'string'), ('name_key', 'string'),
                         ('date_of_birth', 'date'), ('verified_citizen_id', 'string'),
                         ('police_return_hash', 'decimal(38, 0)'), ('original_key', 'string'), ('citizen_id', 'string'),
                         ('commune_code', 'string'), ('district_code', 'string'), ('vaccinated_on', 'date'),
                         ('match_status', 'string'), ('site_code', 'string'), ('site_kind', 'string'),
                         ('site_commune_code', 'string')] %}
{#- The previous build's state is read only when continuing it (below); the line declares the dependency for
    dbt (this model runs before the one that writes it), also on a full build. -#}
-- depends_on: {{ source('previous_build', 'dose_chain_state') }}
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

sites as (
    select site_code, site_kind, commune_code from {{ ref('int_vaccination_sites_classified') }}
),

-- R0's records as int_dose_records_unioned re-derived them (their phones now)
changed as (
    select dose_record_key, phone
    from {{ dose_scope_rows(ref('int_dose_records_unioned'), ref('int_dose_scopes_changed')) }}
),

-- R1's records as int_dose_records_verified re-derived them (their citizens now)
rederived_citizens as (
    select dose_record_key, citizen_id
    from {{ dose_scope_rows(ref('int_dose_records_verified'), ref('int_dose_scopes_matched')) }}
),

{% if dose_chain_is_incremental() %}
-- read where used, each read taking only its few columns (materialised once, it would hold every column of
-- every record: docs/scaling.md)
previous as {{ cte_hint('not materialized') }} (
    select * from {{ source('previous_build', 'dose_chain_state') }}
),

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
    union
    select previous.dose_record_key from previous
    left join sites on previous.site_code = sites.site_code
    where previous.site_kind is distinct from sites.site_kind
        or previous.site_commune_code is distinct from sites.commune_code
),

x_citizens as (
    select verified.citizen_id from verified semi join x using (dose_record_key)
    where verified.citizen_id is not null
    union
    select previous.verified_citizen_id from previous semi join x using (dose_record_key)
    where previous.verified_citizen_id is not null
),

-- one phone hop: the phones (old and new) of X's records and of its citizens' records, and the citizens
-- (old and new) of every record carrying one of them. A record's phone now is R0's (changed) or its old one;
-- its citizen now is R1's (int_dose_records_verified's kept rows) or its old one; R1 and R0 lie within X.
x_phones as (
    select phone from previous
    where phone is not null
        and (verified_citizen_id in (select citizen_id from x_citizens)
             or dose_record_key in (select dose_record_key from x))
    union
    select phone from changed where phone is not null
),

phone_sharers as (
    select dose_record_key, verified_citizen_id as citizen_id from previous
    where phone in (select phone from x_phones)
    union all
    select dose_record_key, cast(null as string) as citizen_id from changed
    where phone in (select phone from x_phones)
),

citizens as (
    select citizen_id from x_citizens
    union
    select citizen_id from phone_sharers where citizen_id is not null
    union
    select rederived.citizen_id from rederived_citizens as rederived
    semi join phone_sharers using (dose_record_key)
    where rederived.citizen_id is not null
),

core as (
    select dose_record_key from x
    union
    select verified.dose_record_key from verified semi join citizens using (citizen_id)
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
        {%- for column, type in state_columns %}
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
        {%- for column, type in state_columns %}
        cast(null as {{ type }}) as previous_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from paired
)
{% endif %}

select * from final
