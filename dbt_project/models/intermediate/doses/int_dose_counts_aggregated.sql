{#-
  Dose records counted by commune, district, vaccination day and match status: the counts the KPI marts
  sum (kpi_commune_daily, kpi_province_summary): a few rows per commune and day instead of two scans of
  every dose record on every build.

  Incremental with the dose chain (macros/dose_chain.sql): only R4's records (int_dose_scopes_sequenced)
  can count differently, so each touched count becomes its previous value plus R4's records as
  int_dose_records_sequenced re-derived them, minus R4's records as the previous build counted them (the
  scope carries their previous commune, district, day and status). The strategy count_delta replaces the
  touched counts and drops those that reach zero.
-#}
with

scope as (
    select * from {{ ref('int_dose_scopes_sequenced') }}
),

-- R4's records as int_dose_records_sequenced re-derived them (every record on a full build)
sequenced as (
    select * from {{ dose_scope_rows(ref('int_dose_records_sequenced'), ref('int_dose_scopes_sequenced')) }}
),

{% if is_incremental() %}
changes as (
    select commune_code, district_code, vaccinated_on, match_status, 1 as dose_records
    from sequenced
    union all
    select previous_commune_code, previous_district_code, previous_vaccinated_on, previous_match_status, -1
    from scope
    where has_previous_row
),

deltas as (
    select commune_code, district_code, vaccinated_on, match_status, sum(dose_records) as dose_records
    from changes
    group by all
    having sum(dose_records) <> 0
),

recounted as (
    select
        deltas.commune_code,
        deltas.district_code,
        deltas.vaccinated_on,
        deltas.match_status,
        coalesce(counted.dose_records, 0) + deltas.dose_records as dose_records
    from deltas
    left join {{ this }} as counted
        on deltas.commune_code is not distinct from counted.commune_code
        and deltas.district_code is not distinct from counted.district_code
        and deltas.vaccinated_on is not distinct from counted.vaccinated_on
        and deltas.match_status is not distinct from counted.match_status
),
{% else %}
counts as (
    select commune_code, district_code, vaccinated_on, match_status, count(*) as dose_records
    from sequenced
    group by all
),

recounted as (
    select * from counts
),
{% endif %}

final as (
    select
        cast(commune_code as string) as commune_code,
        cast(district_code as string) as district_code,
        cast(vaccinated_on as date) as vaccinated_on,
        cast(match_status as string) as match_status,
        cast(dose_records as bigint) as dose_records
    from recounted
)

select * from final
