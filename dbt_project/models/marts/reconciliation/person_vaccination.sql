{#-
  One row per citizen with at least one credited dose (verified, corrected or probable; duplicates
  never count). The primary series is complete when the licensed credited doses reach the dose count
  of the first licensed dose's product (Janssen 1, Abdala 3, others 2; mixing products is allowed,
  Decision 5772/QĐ-BYT); later doses are boosters. Passport eligible: primary series complete.
  Passport signed: every credited dose carries the site's digital signature.
  open_issue_count: distinct issue codes on the citizen's credited doses, informational codes excluded.
  Incremental by the citizens whose doses scope R4 touches (int_dose_scopes_credited, macros/dose_chain.sql).
-#}
-- depends_on: {{ ref('int_dose_scopes_credited') }} (its declared scope: the strategy replaces those citizens' rows)
with

-- the reconciled records dose_reconciliation publishes (the same columns; issues counted distinct below),
-- read directly: the person mart does not wait for that mart and its tests.
-- Incremental: R4's rows as int_dose_records_sequenced re-derived them hold every credited dose of the
-- citizens it touches (int_dose_scopes_sequenced: R4 takes in every record verified to a citizen of its
-- core records, old or new, and a record's citizen_id is its verified citizen or null), so the province-wide
-- table is not filtered by citizen.
doses as (
    select * from {{ dose_scope_rows(ref('int_dose_records_sequenced'), ref('int_dose_scopes_sequenced')) }}
    where match_status in ('verified', 'corrected', 'probable')
),

vaccines as (
    select * from {{ ref('ref_vaccines') }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

licensed as (
    select
        doses.citizen_id,
        doses.vaccinated_on,
        row_number() over (partition by doses.citizen_id order by doses.dose_sequence) as licensed_sequence,
        first_value(vaccines.primary_series_doses) over (
            partition by doses.citizen_id order by doses.dose_sequence
        ) as primary_series_doses
    from doses
    inner join vaccines on doses.vaccine_code = vaccines.vaccine_code
    where vaccines.is_licensed_in_vietnam
),

primary_series as (
    select
        citizen_id,
        max(licensed_sequence) as licensed_doses,
        any_value(primary_series_doses) as primary_series_doses,
        min(case when licensed_sequence = primary_series_doses then vaccinated_on end) as primary_series_completed_on
    from licensed
    group by citizen_id
),

issues as (
    select citizen_id, count(distinct issue) as open_issue_count
    from (select citizen_id, {{ explode_list('issues') }} as issue from doses) as doses_issues
    where issue not in ('old_id_number', 'id_leading_zero_lost', 'police_verified', 'dob_day_month_swapped', 'missing_id')
    group by citizen_id
),

per_citizen as (
    select
        citizen_id,
        count(*) as doses_credited,
        min(vaccinated_on) as first_dose_on,
        max(vaccinated_on) as latest_dose_on,
        bool_and(is_signed) as is_every_dose_signed
    from doses
    group by citizen_id
),

final as (
    select
        cast(per_citizen.citizen_id as string) as citizen_id,
        cast(citizens.province_code as string) as province_code,
        cast(citizens.district_code as string) as district_code,
        cast(citizens.commune_code as string) as commune_code,
        cast(per_citizen.doses_credited as integer) as doses_credited,
        cast(per_citizen.first_dose_on as date) as first_dose_on,
        cast(per_citizen.latest_dose_on as date) as latest_dose_on,
        cast(coalesce(primary_series.primary_series_completed_on is not null, false) as boolean)
            as is_primary_series_complete,
        cast(
            case when primary_series.primary_series_completed_on is not null
                then primary_series.licensed_doses - primary_series.primary_series_doses else 0 end
            as integer
        ) as booster_doses,
        cast(coalesce(primary_series.primary_series_completed_on is not null, false) as boolean) as is_passport_eligible,
        cast(per_citizen.is_every_dose_signed as boolean) as is_passport_signed,
        cast(coalesce(issues.open_issue_count, 0) as integer) as open_issue_count,
        cast(primary_series.primary_series_completed_on as date) as primary_series_completed_on
    from per_citizen
    left join citizens on per_citizen.citizen_id = citizens.citizen_id
    left join primary_series on per_citizen.citizen_id = primary_series.citizen_id
    left join issues on per_citizen.citizen_id = issues.citizen_id
)

select * from final
