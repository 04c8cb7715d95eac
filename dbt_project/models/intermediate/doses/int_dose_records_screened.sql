{#-
  Borrowed identities (the screening): a young worker vaccinated under an older relative's full identity
  (ID, name, birth date all the relative's, so identity resolution credits the relative), typically at
  the workplace clinic of their employer. A site's kind comes from evidence (int_vaccination_sites_classified), never
  from its code. A credited, kept (non-duplicate) dose is suspected when a signal fires; each signal is an
  issue code in the record's issues (with suspected_borrowed_identity):
    at a workplace clinic, the credited identity
      borrowed_identity_age            is older than var('factory_worker_max_age') on the day (workplace
                                       clinics vaccinate their workers);
      borrowed_identity_close_doses    has another credited dose fewer than var('borrowed_identity_site_gap_days')
                                       days apart (but not the same dose: more than var('duplicate_window_days')),
                                       at this or another site: no product allows it, two people share it;
      borrowed_identity_two_sequences  has a credited dose at another site with the same reported dose number
                                       at another date (the relative's own sequence and the borrower's);
    at any site,
      borrowed_identity_phone          the dose's phone is not the credited citizen's (their other doses carry
                                       another one) and reappears on another citizen's later dose whose own
                                       record misses earlier doses (its reported dose number is above the
                                       doses credited to that citizen before it): the borrower, vaccinated
                                       under their own identity later, with the same phone.
  Duplicates of a suspected record are suspected too (they carry the same identity, and the signals).
  One row per suspected dose record, with has_borrowed_identity_signal (the record's own signals, not
  inherited from its original) and borrowed_identity_signals; int_dose_records_sequenced withholds their
  credit.
  Incremental by scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql): the scope holds every record
  of each citizen it touches (the signals are per citizen), of the citizens sharing a phone with them (the
  phone signal reads two citizens), of the sites whose kind changed, and the duplicates of its records; an
  original outside it keeps its signals from this table.
-#}
with

records as (
    select dose_record_key, site_code, vaccinated_on, dose_number_reported, phone
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

sites as (
    select site_code, site_kind from {{ ref('int_vaccination_sites_classified') }}
),

credited as (
    select
        records.dose_record_key,
        records.site_code,
        records.vaccinated_on,
        records.dose_number_reported,
        records.phone,
        verified.citizen_id,
        coalesce(sites.site_kind, 'other') as site_kind
    from records
    inner join verified on records.dose_record_key = verified.dose_record_key
    inner join deduplicated on records.dose_record_key = deduplicated.dose_record_key
    left join sites on records.site_code = sites.site_code
    where verified.match_status in ('verified', 'corrected', 'probable')
        and verified.match_method <> 'police'
        and not deduplicated.is_duplicate
),

workplace_doses as (
    select credited.*, citizens.date_of_birth, citizens.is_birth_year_only
    from credited
    inner join citizens on credited.citizen_id = citizens.citizen_id
    where credited.site_kind = 'workplace_clinic'
),

age_signal as (
    select dose_record_key, 'borrowed_identity_age' as signal
    from workplace_doses
    -- the years between the birth year and the dose's, less one before the birthday
    where year(vaccinated_on) - year(date_of_birth)
        - case when not is_birth_year_only
            and (month(vaccinated_on), day(vaccinated_on)) < (month(date_of_birth), day(date_of_birth))
            then 1 else 0 end
        > {{ var('factory_worker_max_age') }}
),

-- the identity's other credited doses: how far apart, and whether at another site with the same number
other_doses as (
    select
        workplace_doses.dose_record_key,
        abs({{ days_between('workplace_doses.vaccinated_on', 'other.vaccinated_on') }}) as days_apart,
        workplace_doses.dose_number_reported = other.dose_number_reported
            and workplace_doses.site_code is distinct from other.site_code as is_same_number_elsewhere
    from workplace_doses
    inner join credited as other
        on workplace_doses.citizen_id = other.citizen_id
        and workplace_doses.dose_record_key <> other.dose_record_key
),

other_dose_signals as (
    select distinct dose_record_key, signal
    from (
        select
            dose_record_key,
            case
                when days_apart between {{ var('duplicate_window_days') }} + 1
                    and {{ var('borrowed_identity_site_gap_days') }} - 1 then 'borrowed_identity_close_doses'
                when is_same_number_elsewhere and days_apart > {{ var('duplicate_window_days') }}
                    then 'borrowed_identity_two_sequences'
            end as signal
        from other_doses
    )
    where signal is not null
),

-- a citizen's doses whose reported dose number is above the doses credited to them before it
missing_earlier as (
    select citizen_id, vaccinated_on, phone
    from (
        select
            citizen_id, vaccinated_on, phone, dose_number_reported,
            -- a dose without a date comes after every dated one
            count(*) over (
                partition by citizen_id order by vaccinated_on nulls last, dose_record_key
                rows between unbounded preceding and 1 preceding
            ) as credited_before
        from credited
    )
    where phone is not null and dose_number_reported > credited_before + 1
),

phone_signal as (
    select distinct credited.dose_record_key, 'borrowed_identity_phone' as signal
    from credited
    inner join missing_earlier as borrower
        on credited.phone = borrower.phone
        and credited.citizen_id <> borrower.citizen_id
        and borrower.vaccinated_on > credited.vaccinated_on
    where exists (
        select 1 from credited as own
        where own.citizen_id = credited.citizen_id and own.phone is not null and own.phone <> credited.phone
    )
),

signalled as (
    select dose_record_key, array_sort({{ list_agg('signal') }}) as signals  -- each source lists a signal once per record
    from (
        select * from age_signal
        union all
        select * from other_dose_signals
        union all
        select * from phone_signal
    )
    group by dose_record_key
),

-- the originals with a signal: this build's, and those outside the scope as the previous build screened them
originals_signalled as (
    select dose_record_key, signals from signalled
    {%- if is_incremental() %}
    union all
    select dose_record_key, borrowed_identity_signals from {{ this }}
    where has_borrowed_identity_signal
        and dose_record_key not in (select dose_record_key from {{ ref('int_dose_scopes_sequenced') }})
    {%- endif %}
),

final as (
    select
        deduplicated.dose_record_key,
        signalled.dose_record_key is not null as has_borrowed_identity_signal,
        cast(coalesce(signalled.signals, original_signalled.signals) as {{ string_list_type() }}) as borrowed_identity_signals
    from deduplicated
    semi join records on deduplicated.dose_record_key = records.dose_record_key
    left join signalled on deduplicated.dose_record_key = signalled.dose_record_key
    left join originals_signalled as original_signalled
        on deduplicated.is_duplicate
        and original_signalled.dose_record_key = deduplicated.original_key
    where signalled.dose_record_key is not null or original_signalled.dose_record_key is not null
)

select * from final
