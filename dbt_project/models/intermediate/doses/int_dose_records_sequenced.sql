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
  A record the borrowed-identity screening suspects (int_dose_records_screened) is not credited:
  needs_review with suspected_borrowed_identity and the signals that fired (borrowed_identity_*).
  Incremental by scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql): the scope holds every
  record of each citizen it touches (the sequence is per citizen) and the originals of its duplicates.
-#}
with

records as (
    select * from {{ ref('int_dose_records_unioned') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

signatures as (
    select dose_record_key, is_signed from {{ ref('int_dose_records_unioned') }}
),

verified as (
    select * from {{ ref('int_dose_records_verified') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

deduplicated as (
    select * from {{ ref('int_dose_records_deduplicated') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

-- the suspected records of the scope (int_dose_records_screened holds only suspected records)
screened as (
    select dose_record_key, borrowed_identity_signals
    from {{ dose_scope_rows(ref('int_dose_records_screened'), ref('int_dose_scopes_sequenced')) }}
),

signed_copies as (
    -- a kept record whose duplicate (e.g. its re-keyed platform copy) is signed: the dose is signed
    select deduplicated.original_key as dose_record_key
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
            when screened.dose_record_key is not null then 'needs_review'
            else verified.match_status
        end as match_status,
        case when not deduplicated.is_duplicate and screened.dose_record_key is null
            then verified.citizen_id end as citizen_id,
        case when not deduplicated.is_duplicate and screened.dose_record_key is null
            then verified.match_score end as match_score,
        verified.match_method,
        verified.candidate_citizen_id,
        verified.candidate_score,
        case when screened.dose_record_key is not null
            then concat(verified.issues, {{ list_of(["'suspected_borrowed_identity'"]) }}, screened.borrowed_identity_signals)
            else verified.issues end as issues,
        verified.police_result,
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
        records.received_at
    from records
    inner join verified on records.dose_record_key = verified.dose_record_key
    inner join deduplicated on records.dose_record_key = deduplicated.dose_record_key
    left join screened on records.dose_record_key = screened.dose_record_key
    left join signed_copies on records.dose_record_key = signed_copies.dose_record_key
),

credited as (
    select
        resolved.dose_record_key,
        row_number() over (
            -- a dose without a date comes after every dated one
            partition by resolved.citizen_id
            order by resolved.vaccinated_on nulls last, resolved.is_signed desc, resolved.source, resolved.source_record_id
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
        {{ days_between('lag(vaccinated_on) over by_citizen', 'vaccinated_on') }} as days_since_previous,
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
        array_sort(array_distinct(concat(
            resolved.issues,
            {%- set issue_codes %}
                    case when resolved.vaccine_code is null then 'unknown_vaccine' end,
                    case when resolved.vaccinated_on < date '{{ var('campaign_start_on') }}' then 'dose_before_campaign' end,
                    case when intervals.days_since_previous < intervals.min_days_since_previous
                        then 'implausible_dose_interval' end,
                    case when intervals.dose_sequence is not null
                        and resolved.dose_number_reported is distinct from intervals.dose_sequence
                        then 'dose_number_inconsistent' end
            {%- endset %}
            {{ present_codes(issue_codes) }}
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
        resolved.received_at
    from resolved
    left join intervals on resolved.dose_record_key = intervals.dose_record_key
    left join citizens on resolved.citizen_id = citizens.citizen_id
)

select * from final
