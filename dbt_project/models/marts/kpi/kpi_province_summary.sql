{#-
  The province's scoreboard as of the run's clock: one row per district-level unit (level = district,
  named as of the run's day: ref_admin_unit_changes applies the renames in effect by then)
  and one for the whole province (level = province, district_code null; it also counts what has no
  district: unrouted worklist items, complaints without a commune). In the seed's own terms:
    doses received vs credited (and how the rest is held: duplicate, in review, unmatched);
    people with a credited dose, a complete primary series, a booster, passport-eligible and signed;
    the commune worklist backlog by status;
    complaints received, open, open past their SLA, ever breached, and open though the data behind
    them is already seen fixed (ready to close).
-#}
with

dose_counts as (
    -- dose_reconciliation's records counted by commune, district, day and status (kept incrementally)
    select * from {{ ref('int_dose_counts_aggregated') }}
),

persons as (
    select * from {{ ref('person_vaccination') }}
),

worklist as (
    select * from {{ ref('commune_worklist') }}
),

complaints as (
    select * from {{ ref('complaint_tracking') }}
),

admin_units as (
    select * from {{ ref('ref_admin_units') }}
),

clock as (
    select * from {{ ref('int_run_clocks_resolved') }}
),

admin_unit_changes as (
    select * from {{ ref('ref_admin_unit_changes') }}
),

district_communes as (
    select district_code, any_value(district_name) as district_name, count(*) as communes
    from admin_units
    group by district_code
),

-- A district-level unit is renamed (thị xã Phổ Yên -> thành phố Phổ Yên, 2022-04-10) when every one of
-- its communes moves to the same new district name on the same day; the newest such change in effect
-- on the run's day names it. ref_admin_units holds the names valid 2020 to 2022-04-09.
district_renames as (
    select
        admin_units.district_code,
        admin_unit_changes.effective,
        any_value(admin_unit_changes.new_district) as district_name
    from admin_unit_changes
    inner join admin_units on admin_unit_changes.commune_code = admin_units.commune_code
    inner join district_communes on admin_units.district_code = district_communes.district_code
    cross join clock
    where admin_unit_changes.effective <= clock.as_of_date
        and admin_unit_changes.new_district is distinct from admin_units.district_name
    group by admin_units.district_code, admin_unit_changes.effective, admin_unit_changes.new_district
    having count(distinct admin_unit_changes.commune_code) = any_value(district_communes.communes)
    qualify row_number() over (partition by admin_units.district_code order by admin_unit_changes.effective desc) = 1
),

districts as (
    select
        district_communes.district_code,
        coalesce(district_renames.district_name, district_communes.district_name) as district_name,
        district_communes.communes
    from district_communes
    left join district_renames on district_communes.district_code = district_renames.district_code
),

dose_figures as (
    select
        district_code,
        grouping(district_code) = 1 as is_total,
        sum(dose_records) as doses_received,
        coalesce(sum(dose_records) filter (where match_status in ('verified', 'corrected', 'probable')), 0)
            as doses_credited,
        coalesce(sum(dose_records) filter (where match_status = 'corrected'), 0) as doses_corrected,
        coalesce(sum(dose_records) filter (where match_status = 'duplicate'), 0) as doses_duplicate,
        coalesce(sum(dose_records) filter (where match_status = 'needs_review'), 0) as doses_needs_review,
        coalesce(sum(dose_records) filter (where match_status = 'unmatched'), 0) as doses_unmatched
    from dose_counts
    group by grouping sets ((district_code), ())
),

person_figures as (
    select
        district_code,
        grouping(district_code) = 1 as is_total,
        count(*) as persons_vaccinated,
        count(*) filter (where is_primary_series_complete) as persons_primary_series_complete,
        count(*) filter (where booster_doses > 0) as persons_boosted,
        count(*) filter (where is_passport_eligible) as persons_passport_eligible,
        count(*) filter (where is_passport_eligible and is_passport_signed) as persons_passport_signed
    from persons
    group by grouping sets ((district_code), ())
),

worklist_figures as (
    select
        district_code,
        grouping(district_code) = 1 as is_total,
        count(*) filter (where status = 'open') as worklist_open,
        count(*) filter (where status = 'returned') as worklist_returned,
        count(*) filter (where status = 'applied') as worklist_applied,
        count(*) filter (where status = 'rejected') as worklist_rejected,
        count(*) filter (where status in ('open', 'returned', 'rejected')) as worklist_backlog
    from worklist
    group by grouping sets ((district_code), ())
),

complaint_figures as (
    select
        complaints.district_code,
        grouping(complaints.district_code) = 1 as is_total,
        count(*) as complaints_received,
        count(*) filter (where complaints.is_open) as complaints_open,
        count(*) filter (where complaints.is_open and complaints.is_sla_breached) as complaints_open_sla_breached,
        count(*) filter (where complaints.is_sla_breached) as complaints_sla_breached,
        count(*) filter (where complaints.is_open and complaints.data_fix_detected_at is not null)
            as complaints_open_data_fixed
    from complaints
    group by grouping sets ((complaints.district_code), ())
),

levels as (
    select 'district' as level, district_code, district_name, communes from districts
    union all
    select 'province', null, 'Tỉnh Thái Nguyên', (select count(*) from admin_units)
),

final as (
    select
        cast(clock.as_of_date as date) as as_of_date,
        cast(levels.level as string) as level,
        cast('19' as string) as province_code,
        cast(levels.district_code as string) as district_code,
        cast(levels.district_name as string) as district_name,
        cast(levels.communes as bigint) as communes,
        {%- for metric in ['doses_received', 'doses_credited', 'doses_corrected', 'doses_duplicate',
                           'doses_needs_review', 'doses_unmatched'] %}
        cast(coalesce(dose_figures.{{ metric }}, 0) as bigint) as {{ metric }},
        {%- endfor %}
        cast(round(dose_figures.doses_credited / nullif(dose_figures.doses_received - dose_figures.doses_duplicate, 0), 4)
            as double) as credited_share,
        {%- for metric in ['persons_vaccinated', 'persons_primary_series_complete', 'persons_boosted',
                           'persons_passport_eligible', 'persons_passport_signed'] %}
        cast(coalesce(person_figures.{{ metric }}, 0) as bigint) as {{ metric }},
        {%- endfor %}
        {%- for metric in ['worklist_open', 'worklist_returned', 'worklist_applied', 'worklist_rejected',
                           'worklist_backlog'] %}
        cast(coalesce(worklist_figures.{{ metric }}, 0) as bigint) as {{ metric }},
        {%- endfor %}
        {%- for metric in ['complaints_received', 'complaints_open', 'complaints_open_sla_breached',
                           'complaints_sla_breached', 'complaints_open_data_fixed'] %}
        cast(coalesce(complaint_figures.{{ metric }}, 0) as bigint) as {{ metric }}{{ "," if not loop.last }}
        {%- endfor %}
    from levels
    cross join clock
    left join dose_figures
        on dose_figures.is_total = (levels.level = 'province')
        and (dose_figures.is_total or dose_figures.district_code = levels.district_code)
    left join person_figures
        on person_figures.is_total = (levels.level = 'province')
        and (person_figures.is_total or person_figures.district_code = levels.district_code)
    left join worklist_figures
        on worklist_figures.is_total = (levels.level = 'province')
        and (worklist_figures.is_total or worklist_figures.district_code = levels.district_code)
    left join complaint_figures
        on complaint_figures.is_total = (levels.level = 'province')
        and (complaint_figures.is_total or complaint_figures.district_code = levels.district_code)
)

select * from final
