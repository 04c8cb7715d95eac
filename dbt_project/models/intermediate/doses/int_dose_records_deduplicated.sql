{#-
  The same dose received more than once (keyed in offline and again on the platform, or a batch
  delivered twice under another file name): records of the same person (the same credited citizen,
  the same ID, or the same name key + birth date) with the same vaccine family and dates at most
  var('duplicate_window_days') apart. Two records credited to different citizens, or carrying
  IDs more than one typo apart, are never duplicates. Of a group the best record is kept: credited first; then, with
  var('duplicate_prefer_signed_platform') (default), the signed platform record, else the original (a
  site batch row before its re-keyed platform copy); then the earliest; the others
  point at it and are never counted (the kept record inherits their signature, int_dose_records_sequenced).
-#}
with

records as (
    select * from {{ ref('int_dose_records_unioned') }}
),

verified as (
    select * from {{ ref('int_dose_records_verified') }}
),

candidates as (
    select
        records.dose_record_key,
        records.source,
        records.source_record_id,
        records.vaccine_family,
        records.vaccinated_on,
        records.id_candidate,
        records.name_key,
        records.date_of_birth,
        verified.citizen_id,
        -- preference: lower is better
        row_number() over (
            order by
                (verified.citizen_id is null)::int,
                {%- if var('duplicate_prefer_signed_platform') %}
                (not records.is_signed)::int,
                (records.source <> 'platform')::int,
                {%- else %}
                (records.source <> 'site_batch')::int,
                {%- endif %}
                records.vaccinated_on,
                records.received_at,
                records.dose_record_key
        ) as preference
    from records
    inner join verified on records.dose_record_key = verified.dose_record_key
),

pairs as (
    select a.dose_record_key, b.dose_record_key as other_key, b.preference as other_preference, a.preference
    from candidates as a
    inner join candidates as b on a.citizen_id = b.citizen_id and a.vaccine_family = b.vaccine_family
    where a.dose_record_key <> b.dose_record_key
        and abs(date_diff('day', a.vaccinated_on, b.vaccinated_on)) <= {{ var('duplicate_window_days') }}
    union
    select a.dose_record_key, b.dose_record_key, b.preference, a.preference
    from candidates as a
    inner join candidates as b on a.id_candidate = b.id_candidate and a.vaccine_family = b.vaccine_family
    where a.dose_record_key <> b.dose_record_key
        and abs(date_diff('day', a.vaccinated_on, b.vaccinated_on)) <= {{ var('duplicate_window_days') }}
        and not (a.citizen_id is not null and b.citizen_id is not null and a.citizen_id <> b.citizen_id)
    union
    select a.dose_record_key, b.dose_record_key, b.preference, a.preference
    from candidates as a
    inner join candidates as b
        on a.name_key = b.name_key and a.date_of_birth = b.date_of_birth and a.vaccine_family = b.vaccine_family
    where a.dose_record_key <> b.dose_record_key
        and abs(date_diff('day', a.vaccinated_on, b.vaccinated_on)) <= {{ var('duplicate_window_days') }}
        and not (a.citizen_id is not null and b.citizen_id is not null and a.citizen_id <> b.citizen_id)
        -- IDs one typo apart do not contradict the same name + birth date (a typo on one copy)
        and not (
            a.id_candidate is not null and b.id_candidate is not null
            and levenshtein(a.id_candidate, b.id_candidate) > 1
        )
),

originals as (
    select
        dose_record_key,
        arg_min(other_key, other_preference) as original_key
    from pairs
    where other_preference < preference
    group by dose_record_key
),

final as (
    select
        candidates.dose_record_key,
        candidates.source,
        candidates.source_record_id,
        originals.original_key is not null as is_duplicate,
        original.source as duplicate_of_source,
        original.source_record_id as duplicate_of_record_id
    from candidates
    left join originals on candidates.dose_record_key = originals.dose_record_key
    left join candidates as original on originals.original_key = original.dose_record_key
)

select * from final
