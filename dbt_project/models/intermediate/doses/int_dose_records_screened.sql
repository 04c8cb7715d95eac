{#-
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
  Duplicates of a suspected record are suspected too (they carry the same identity).
  One row per suspected dose record, with has_borrowed_identity_signal (the record's own signals, not
  inherited from its original); int_dose_records_sequenced withholds their credit.
  Incremental by scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql): the scope holds every record
  of each citizen it touches (the signals are per citizen) and the duplicates of its records; an original
  outside it keeps its signal from this table.
-#}
with

records as (
    select dose_record_key, site_code, vaccinated_on, dose_number_reported
    from {{ ref('int_dose_records_unioned') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

verified as (
    select dose_record_key, citizen_id, match_status, match_method
    from {{ ref('int_dose_records_verified') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

deduplicated as (
    select dose_record_key, is_duplicate, original_key
    from {{ ref('int_dose_records_deduplicated') }}
    where {{ in_dose_scope(ref('int_dose_scopes_sequenced')) }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

site_kinds as (
    select * from {{ ref('ref_vaccination_site_kinds') }}
),

credited as (
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
    select credited.*, citizens.date_of_birth, citizens.is_birth_year_only
    from credited
    inner join citizens on credited.citizen_id = citizens.citizen_id
    where credited.site_kind = 'factory_clinic'
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
    inner join credited as other
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

signalled as (
    select dose_record_key from age_signal
    union
    select dose_record_key from other_site_signal
),

-- the originals with a signal: this build's, and those outside the scope as the previous build screened them
originals_signalled as (
    select dose_record_key from signalled
    {%- if is_incremental() %}
    union all
    select dose_record_key from {{ this }}
    where has_borrowed_identity_signal
        and dose_record_key not in (select dose_record_key from {{ ref('int_dose_scopes_sequenced') }})
    {%- endif %}
),

final as (
    select
        deduplicated.dose_record_key,
        signalled.dose_record_key is not null as has_borrowed_identity_signal
    from deduplicated
    semi join records on deduplicated.dose_record_key = records.dose_record_key
    left join signalled on deduplicated.dose_record_key = signalled.dose_record_key
    left join originals_signalled as original_signalled
        on deduplicated.is_duplicate
        and original_signalled.dose_record_key = deduplicated.original_key
    where signalled.dose_record_key is not null or original_signalled.dose_record_key is not null
)

select * from final
