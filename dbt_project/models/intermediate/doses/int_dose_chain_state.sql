{#-
  What the next build of the dose chain needs from this one (macros/dose_chain.sql), one row per dose record
  of this build: the next build reads it as the source `previous_build.dose_chain_state` to find what
  changed since (its scopes compare these values with the new ones) and to take back the old counts.
    received_at, extracted_at               int_dose_records_unioned (R0: new or received again;
                                            the newest extracted_at is the next build's platform watermark)
    phone, phone_evidence_hash              int_dose_records_unioned (R1: whose phone evidence changed)
    id_candidate, name_key, date_of_birth   int_dose_records_unioned (R2: the pairing keys)
    verified_citizen_id, police_return_hash int_dose_records_verified (R2: citizen before duplicates and
                                            screening; R0: which police return was applied)
    original_key                            int_dose_records_deduplicated (R2, R4: the kept record of a duplicate)
    site_code                               int_dose_records_unioned (R0)
    site_kind, site_commune_code            int_vaccination_sites_classified, for the record's site (R4: whose site's kind
                                            or commune changed)
    citizen_id, commune_code, district_code, vaccinated_on, match_status
                                            int_dose_records_sequenced (R4, the counts, person_vaccination)
  Incremental by scope R4 (int_dose_scopes_sequenced), which holds every record any model re-derived: a
  value comes from the model that re-derived the record in this build (its kept rows), else it is the
  previous build's (int_dose_scopes_sequenced carries it): that model did not re-derive the record, so its
  value did not change.
-#}
with

scope as (
    select * from {{ ref('int_dose_scopes_sequenced') }}
),

records as (
    select
        dose_record_key, received_at, extracted_at, phone, phone_evidence_hash, id_candidate, name_key, date_of_birth,
        site_code
    from {{ dose_scope_rows(ref('int_dose_records_unioned'), ref('int_dose_scopes_changed')) }}
),

verified as (
    select dose_record_key, citizen_id as verified_citizen_id, police_return_hash
    from {{ dose_scope_rows(ref('int_dose_records_verified'), ref('int_dose_scopes_matched')) }}
),

deduplicated as (
    select dose_record_key, original_key
    from {{ dose_scope_rows(ref('int_dose_records_deduplicated'), ref('int_dose_scopes_paired')) }}
),

sequenced as (
    select dose_record_key, citizen_id, commune_code, district_code, vaccinated_on, match_status
    from {{ dose_scope_rows(ref('int_dose_records_sequenced'), ref('int_dose_scopes_sequenced')) }}
),

sites as (
    select site_code, site_kind, commune_code from {{ ref('int_vaccination_sites_classified') }}
),

chained as (
    select
        sequenced.dose_record_key,
        {%- if is_incremental() %}
        {%- for column in ['received_at', 'extracted_at', 'phone', 'phone_evidence_hash', 'id_candidate', 'name_key',
                           'date_of_birth', 'site_code'] %}
        case when records.dose_record_key is not null then records.{{ column }} else scope.previous_{{ column }} end
            as {{ column }},
        {%- endfor %}
        {%- for column in ['verified_citizen_id', 'police_return_hash'] %}
        case when verified.dose_record_key is not null then verified.{{ column }} else scope.previous_{{ column }} end
            as {{ column }},
        {%- endfor %}
        case when deduplicated.dose_record_key is not null then deduplicated.original_key else scope.previous_original_key end
            as original_key,
        {%- else %}
        records.received_at,
        records.extracted_at,
        records.phone,
        records.phone_evidence_hash,
        records.id_candidate,
        records.name_key,
        records.date_of_birth,
        records.site_code,
        verified.verified_citizen_id,
        verified.police_return_hash,
        deduplicated.original_key,
        {%- endif %}
        sequenced.citizen_id,
        sequenced.commune_code,
        sequenced.district_code,
        sequenced.vaccinated_on,
        sequenced.match_status
    from sequenced
    left join records on sequenced.dose_record_key = records.dose_record_key
    left join verified on sequenced.dose_record_key = verified.dose_record_key
    left join deduplicated on sequenced.dose_record_key = deduplicated.dose_record_key
    {%- if is_incremental() %}
    left join scope on sequenced.dose_record_key = scope.dose_record_key
    {%- endif %}
),

-- the site's kind and commune this build's screening and routing used
final as (
    select chained.*, sites.site_kind, sites.commune_code as site_commune_code
    from chained
    left join sites on chained.site_code = sites.site_code
)

select * from final
