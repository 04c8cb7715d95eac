{#-
  The reconciled dose records: identity (after police returns), duplicates, and each credited dose's
  place in its citizen's history recomputed by date, with the dose-level checks:
    implausible_dose_interval: fewer days since the previous credited dose than the previous
      product's minimum (primary series) or var('booster_min_interval_days') (after the primary series);
    dose_number_inconsistent: the reported dose number differs from the recomputed sequence;
    unknown_vaccine: the typed vaccine matches no alias.
    dose_before_campaign: dated before var('campaign_start_on').
  The issues of a record are distinct and sorted (dose_reconciliation publishes them as they are).
  Duplicates take status `duplicate`, credit nobody and carry no sequence. A kept record is signed when it
  or one of its duplicates (its re-keyed copy) carries the site's signature.
  Borrowed identities (the screening): a young factory worker vaccinated at a factory clinic under an
  older relative's full identity (ID, name, birth date all the relative's, so identity resolution credits
  the relative). A credited, kept (non-duplicate) dose at a factory clinic is suspected when the credited
  identity
    - is older than var('factory_worker_max_age') on the day (factory clinics vaccinate their workers), or
    - has another credited dose fewer than var('borrowed_identity_site_gap_days') days apart (but not the
      same dose: more than var('duplicate_window_days')), at this or another site: no product allows it,
      two people share the identity, or
    - has a credited dose at another site with the same reported dose number at another date (two
      interleaved dose sequences: the relative's own and the borrower's).
  Duplicates of a suspected record are suspected too (they carry the same identity). A suspected record
  is not credited: needs_review with suspected_borrowed_identity (is_suspected_borrowed_identity;
  has_borrowed_identity_signal: the record's own signals, not inherited from its original). The screening
  was a model of its own: computed here, it reads the scope's rows once with the resolution.
  It also keeps the keys the next incremental build scopes by: phone, id_candidate, name_key,
  date_of_birth, phone_evidence_hash (what the record's phone evidence reads), verified_citizen_id (before duplicates and screening), original_key (of a duplicate),
  police_return_hash (the police return applied).
  Incremental by scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql): the scope holds every
  record of each citizen it touches (the sequence and the screening are per citizen) and the originals of
  its duplicates; an original outside it keeps its signal from this table.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='dose_scope',
    on_schema_change='fail',
    pre_hook="{{ delete_dose_scope(ref('int_dose_scopes_sequenced')) }}",
) }}
{#- The scope's rows are read by the screening and the resolution: kept once on an incremental build
    (a few thousand rows), read again by each on a full build (materialising 3.2 M wide rows costs more). -#}
{%- set scope_rows = 'materialized' if is_incremental() else 'not materialized' %}
with

records as {{ scope_rows }} (
    select * from {{ ref('int_dose_records_unioned') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

signatures as (
    select dose_record_key, is_signed from {{ ref('int_dose_records_unioned') }}
),

verified as {{ scope_rows }} (
    select * from {{ ref('int_dose_records_verified') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

deduplicated as {{ scope_rows }} (
    select * from {{ ref('int_dose_records_deduplicated') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

-- borrowed identities (the screening) ------------------------------------------------------------------
site_kinds as (
    select * from {{ ref('ref_vaccination_site_kinds') }}
),

screen_credited as (
    select
        records.dose_record_key,
        records.site_code,
        records.vaccinated_on,
        records.dose_number_reported,
        verified.citizen_id,
        coalesce(
            (
                select any_value(site_kinds.site_kind order by length(site_kinds.site_code_prefix) desc)
                from site_kinds
                where starts_with(records.site_code, site_kinds.site_code_prefix)
            ),
            'other'
        ) as site_kind
    from records
    inner join verified on records.dose_record_key = verified.dose_record_key
    inner join deduplicated on records.dose_record_key = deduplicated.dose_record_key
    where verified.match_status in ('verified', 'corrected', 'probable')
        and verified.match_method <> 'police'
        and not deduplicated.is_duplicate
),

factory_doses as (
    select screen_credited.*, citizens.date_of_birth, citizens.is_birth_year_only
    from screen_credited
    inner join citizens on screen_credited.citizen_id = citizens.citizen_id
    where screen_credited.site_kind = 'factory_clinic'
),

age_signal as (
    select dose_record_key
    from factory_doses
    where date_diff('year', date_of_birth, vaccinated_on)
        - case when not is_birth_year_only
            and (month(vaccinated_on), day(vaccinated_on)) < (month(date_of_birth), day(date_of_birth))
            then 1 else 0 end
        > {{ var('factory_worker_max_age') }}
),

other_site_signal as (
    select distinct factory_doses.dose_record_key
    from factory_doses
    inner join screen_credited as other
        on factory_doses.citizen_id = other.citizen_id
        and factory_doses.dose_record_key <> other.dose_record_key
    where abs(date_diff('day', factory_doses.vaccinated_on, other.vaccinated_on))
            between {{ var('duplicate_window_days') }} + 1 and {{ var('borrowed_identity_site_gap_days') }} - 1
        or (
            factory_doses.dose_number_reported = other.dose_number_reported
            and factory_doses.site_code is distinct from other.site_code
            and abs(date_diff('day', factory_doses.vaccinated_on, other.vaccinated_on)) > {{ var('duplicate_window_days') }}
        )
),

suspected as (
    select dose_record_key from age_signal
    union
    select dose_record_key from other_site_signal
),

originals_suspected as (
    select dose_record_key from suspected
    {%- if is_incremental() %}
    union all
    -- originals outside the scope keep their signal (the pre-hook deleted the scope's rows)
    select dose_record_key from {{ this }} where has_borrowed_identity_signal
    {%- endif %}
),

screened as (
    select
        deduplicated.dose_record_key,
        (
            suspected.dose_record_key is not null
            or kept_suspected.dose_record_key is not null
        ) as is_suspected_borrowed_identity,
        suspected.dose_record_key is not null as has_own_signal
    from deduplicated
    semi join records on deduplicated.dose_record_key = records.dose_record_key
    left join suspected on deduplicated.dose_record_key = suspected.dose_record_key
    left join originals_suspected as kept_suspected
        on deduplicated.is_duplicate
        and kept_suspected.dose_record_key = deduplicated.duplicate_of_source || '/' || deduplicated.duplicate_of_record_id
),

-- resolution and sequence ------------------------------------------------------------------------------
signed_copies as (
    -- a kept record whose duplicate (e.g. its re-keyed platform copy) is signed: the dose is signed
    select duplicate_of_source || '/' || duplicate_of_record_id as dose_record_key
    from {{ ref('int_dose_records_deduplicated') }} as deduplicated
    inner join signatures on deduplicated.dose_record_key = signatures.dose_record_key
    where deduplicated.is_duplicate and signatures.is_signed
    group by all
),

vaccines as (
    select * from {{ ref('ref_vaccines') }}
),

resolved as (
    select
        records.dose_record_key,
        records.source,
        records.source_record_id,
        case
            when deduplicated.is_duplicate then 'duplicate'
            when screened.is_suspected_borrowed_identity then 'needs_review'
            else verified.match_status
        end as match_status,
        case when not deduplicated.is_duplicate and not screened.is_suspected_borrowed_identity
            then verified.citizen_id end as citizen_id,
        case when not deduplicated.is_duplicate and not screened.is_suspected_borrowed_identity
            then verified.match_score end as match_score,
        verified.match_method,
        verified.candidate_citizen_id,
        verified.candidate_score,
        case when screened.is_suspected_borrowed_identity
            then list_append(verified.issues, 'suspected_borrowed_identity')
            else verified.issues end as issues,
        verified.police_result,
        verified.police_return_hash,
        verified.worklist_status,
        deduplicated.duplicate_of_source,
        deduplicated.duplicate_of_record_id,
        records.vaccine_code,
        records.vaccine_family,
        records.dose_number_reported,
        records.vaccinated_on,
        (records.is_signed or signed_copies.dose_record_key is not null) as is_signed,
        records.province_code as reported_province_code,
        records.district_code as reported_district_code,
        records.commune_code as reported_commune_code,
        records.received_at,
        -- the keys the next incremental build scopes by (macros/dose_chain.sql)
        records.phone,
        records.id_candidate,
        records.name_key,
        records.date_of_birth,
        records.phone_evidence_hash,
        verified.citizen_id as verified_citizen_id,
        case when deduplicated.is_duplicate
            then deduplicated.duplicate_of_source || '/' || deduplicated.duplicate_of_record_id end as original_key,
        screened.is_suspected_borrowed_identity,
        screened.has_own_signal as has_borrowed_identity_signal
    from records
    inner join verified on records.dose_record_key = verified.dose_record_key
    inner join deduplicated on records.dose_record_key = deduplicated.dose_record_key
    inner join screened on records.dose_record_key = screened.dose_record_key
    left join signed_copies on records.dose_record_key = signed_copies.dose_record_key
),

credited as (
    select
        resolved.dose_record_key,
        row_number() over (
            partition by resolved.citizen_id
            order by resolved.vaccinated_on, resolved.is_signed desc, resolved.source, resolved.source_record_id
        ) as dose_sequence,
        resolved.vaccinated_on,
        vaccines.primary_series_doses,
        vaccines.min_interval_days,
        resolved.citizen_id
    from resolved
    left join vaccines on resolved.vaccine_code = vaccines.vaccine_code
    where resolved.match_status in ('verified', 'corrected', 'probable')
),

intervals as (
    select
        dose_record_key,
        dose_sequence,
        date_diff('day', lag(vaccinated_on) over by_citizen, vaccinated_on) as days_since_previous,
        case
            when lag(dose_sequence) over by_citizen < lag(primary_series_doses) over by_citizen
                then lag(min_interval_days) over by_citizen
            else {{ var('booster_min_interval_days') }}
        end as min_days_since_previous
    from credited
    window by_citizen as (partition by citizen_id order by dose_sequence)
),

final as (
    select
        resolved.source,
        resolved.source_record_id,
        resolved.citizen_id,
        resolved.match_status,
        resolved.match_score,
        list_sort(list_distinct(list_concat(
            resolved.issues,
            list_filter(
                [
                    case when resolved.vaccine_code is null then 'unknown_vaccine' end,
                    case when resolved.vaccinated_on < date '{{ var('campaign_start_on') }}' then 'dose_before_campaign' end,
                    case when intervals.days_since_previous < intervals.min_days_since_previous
                        then 'implausible_dose_interval' end,
                    case when intervals.dose_sequence is not null
                        and resolved.dose_number_reported is distinct from intervals.dose_sequence
                        then 'dose_number_inconsistent' end
                ],
                lambda code: code is not null
            )
        ))) as issues,
        resolved.duplicate_of_source,
        resolved.duplicate_of_record_id,
        resolved.vaccine_code,
        resolved.dose_number_reported,
        cast(intervals.dose_sequence as integer) as dose_sequence,
        resolved.vaccinated_on,
        resolved.is_signed,
        coalesce(citizens.province_code, resolved.reported_province_code) as province_code,
        case when citizens.citizen_id is not null then citizens.district_code else resolved.reported_district_code end
            as district_code,
        case when citizens.citizen_id is not null then citizens.commune_code else resolved.reported_commune_code end
            as commune_code,
        resolved.dose_record_key,
        resolved.match_method,
        resolved.candidate_citizen_id,
        resolved.candidate_score,
        resolved.police_result,
        resolved.worklist_status,
        resolved.vaccine_family,
        resolved.received_at,
        resolved.phone,
        resolved.id_candidate,
        resolved.name_key,
        resolved.date_of_birth,
        resolved.phone_evidence_hash,
        resolved.verified_citizen_id,
        resolved.original_key,
        resolved.police_return_hash,
        resolved.is_suspected_borrowed_identity,
        resolved.has_borrowed_identity_signal
    from resolved
    left join intervals on resolved.dose_record_key = intervals.dose_record_key
    left join citizens on resolved.citizen_id = citizens.citizen_id
)

select * from final
