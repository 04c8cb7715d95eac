{#-
  One row per complaint (portal ticket or hotline call): category (inferred from the text when
  missing), status, age and SLA against the run's clock, the linked citizen and that citizen's dose
  records, and when the data behind the complaint was seen fixed.

  SLA: days per category from seed ref_complaint_sla, else var complaint_sla_days (default 15).

  data_fix_detected_at: the complaint's condition holds in this build, per category:
    missing_dose: the citizen has a credited dose on the date the text mentions (±1 day), or, without
      a date in the text, one vaccinated in the 180 days before the complaint;
    wrong_personal_info: every dose record of (or suggested for) the citizen is verified, corrected or
      a flagged duplicate;
    wrong_dose_info: no credited dose of the citizen carries a dose-level issue;
    duplicate_record: a record of the citizen is flagged duplicate (no longer counted twice);
    certificate_not_issued: the citizen is passport-eligible with every dose signed;
    other: never.
  The time is when the fixing data arrived (police verification day, else the newest version of the
  record as received), not before the complaint and not after the run's clock. Without a history of
  runs this is an estimate of "first seen fixed": it is stable across runs (it depends on the data,
  not on when the build ran); a complaint whose data gets un-fixed loses it again.

  For the reviewers' queue (beyond the contract): sla_state (closed; breached; due_soon: due within
  3 days of the run's clock; on_time), resolution_days, and the match statuses of the linked records now.
-#}
{#- when the complaint's SLA runs out (final's complaints: complaint_facts) -#}
{%- set sla_due = add_days_ts('complaints.received_at', 'complaints.sla_days') %}
with

complaints as (
    select * from {{ ref('int_complaints_linked') }}
),

clock as (
    select * from {{ ref('int_run_clocks_resolved') }}
),

doses as (
    -- the doses of (or suggested for) a citizen a complaint names (linked_citizen_id): every use below joins on them
    select * from {{ ref('int_complaint_doses_collected') }}
),

returns as (
    select * from {{ ref('stg_police_returns__verifications') }}
),

persons as (
    select * from {{ ref('person_vaccination') }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

admin_units as (
    select * from {{ ref('ref_admin_units') }}
),

sla as (
    select * from {{ ref('ref_complaint_sla') }}
),

dose_evidence as (
    select
        doses.*,
        doses.match_status in ('verified', 'corrected', 'probable') as is_credited,
        coalesce(cast(returns.police_verified_on as timestamp), doses.received_at) as evidence_at
    from doses
    left join returns
        on doses.source = returns.source
        and doses.source_record_id = returns.source_record_id
        and doses.police_result is not null
),

linked_records as (
    select
        linked_citizen_id as citizen_id,
        {{ ordered_list_agg('source_record_id', ['vaccinated_on', 'source_record_id']) }} as linked_record_ids,
        array_sort({{ set_agg('match_status') }}) as linked_match_statuses,
        count(*) filter (where is_credited) as linked_doses_credited
    from dose_evidence
    where linked_citizen_id is not null
    group by all
),

complaint_facts as (
    select
        complaints.*,
        coalesce(sla.sla_days, {{ var('complaint_sla_days') }}) as sla_days,
        cast(
            {{ timestamp_dmy("regexp_extract(complaints.description, '([0-9]{1,2}/[0-9]{1,2}/[0-9]{4})', 1)") }} as date
        ) as mentioned_on
    from complaints
    left join sla on complaints.category = sla.category
),

missing_dose_fixed as (
    select complaint_facts.source, complaint_facts.ticket_id, min(dose_evidence.evidence_at) as evidence_at
    from complaint_facts
    inner join dose_evidence
        on complaint_facts.citizen_id = dose_evidence.citizen_id
        and dose_evidence.is_credited
    where
        complaint_facts.category = 'missing_dose'
        and case
            when complaint_facts.mentioned_on is not null
                then abs({{ days_between('complaint_facts.mentioned_on', 'dose_evidence.vaccinated_on') }}) <= 1
            else dose_evidence.vaccinated_on
                between cast(complaint_facts.received_at as date) - 180 and cast(complaint_facts.received_at as date)
        end
    group by all
),

citizen_states as (
    select
        linked_citizen_id as citizen_id,
        bool_and(match_status in ('verified', 'corrected', 'duplicate')) as is_identity_settled,
        bool_and(
            not is_credited
            or not {{ lists_overlap('issues', list_of(
                ["'dose_number_inconsistent'", "'implausible_dose_interval'", "'unknown_vaccine'"])) }}
        ) as is_dose_info_clean,
        bool_or(match_status = 'duplicate') as has_flagged_duplicate,
        max(evidence_at) as evidence_at,
        max(evidence_at) filter (where match_status = 'duplicate') as duplicate_evidence_at
    from dose_evidence
    where linked_citizen_id is not null
    group by all
),

fixes as (
    select
        complaint_facts.source,
        complaint_facts.ticket_id,
        case complaint_facts.category
            when 'missing_dose' then missing_dose_fixed.evidence_at
            when 'wrong_personal_info' then case when citizen_states.is_identity_settled then citizen_states.evidence_at end
            when 'wrong_dose_info' then case when citizen_states.is_dose_info_clean then citizen_states.evidence_at end
            when 'duplicate_record' then citizen_states.duplicate_evidence_at
            when 'certificate_not_issued'
                then case when persons.is_passport_eligible and persons.is_passport_signed then citizen_states.evidence_at end
        end as evidence_at
    from complaint_facts
    left join missing_dose_fixed
        on complaint_facts.source = missing_dose_fixed.source and complaint_facts.ticket_id = missing_dose_fixed.ticket_id
    left join citizen_states on complaint_facts.citizen_id = citizen_states.citizen_id
    left join persons on complaint_facts.citizen_id = persons.citizen_id
),

final as (
    select
        cast(complaints.source as string) as source,
        cast(complaints.ticket_id as string) as ticket_id,
        cast(complaints.channel as string) as channel,
        cast(complaints.received_at as timestamp) as received_at,
        cast(complaints.category as string) as category,
        cast(complaints.is_category_inferred as boolean) as is_category_inferred,
        cast(complaints.status as string) as status,
        cast(complaints.status_at as timestamp) as status_at,
        cast(complaints.resolved_at as timestamp) as resolved_at,
        cast({{ days_between('complaints.received_at', 'coalesce(complaints.resolved_at, clock.as_of)') }} as integer)
            as age_days,
        cast({{ sla_due }} as timestamp) as sla_due_at,
        cast(
            coalesce(complaints.resolved_at, clock.as_of) > {{ sla_due }}
            as boolean
        ) as is_sla_breached,
        cast(complaints.citizen_id as string) as citizen_id,
        cast(coalesce(linked_records.linked_record_ids, {{ empty_string_list() }}) as {{ string_list_type() }})
            as linked_record_ids,
        cast(
            case when fixes.evidence_at is not null
                then least(greatest(fixes.evidence_at, complaints.received_at), greatest(clock.as_of, complaints.received_at))
            end as timestamp
        ) as data_fix_detected_at,
        cast(coalesce(citizens.province_code, case when complaints.commune_code is not null then '19' end) as string)
            as province_code,
        cast(coalesce(citizens.district_code, admin_units.district_code) as string) as district_code,
        cast(coalesce(citizens.commune_code, complaints.commune_code) as string) as commune_code,
        cast(complaints.sla_days as integer) as sla_days,
        cast(complaints.resolved_at is null and complaints.status not in ('resolved', 'rejected') as boolean) as is_open,
        cast(
            case
                when complaints.resolved_at is not null or complaints.status in ('resolved', 'rejected') then 'closed'
                when clock.as_of > {{ sla_due }} then 'breached'
                when clock.as_of + interval 3 day >= {{ sla_due }} then 'due_soon'
                else 'on_time'
            end as string
        ) as sla_state,
        cast({{ days_between('complaints.received_at', 'complaints.resolved_at') }} as integer) as resolution_days,
        cast(coalesce(linked_records.linked_match_statuses, {{ empty_string_list() }}) as {{ string_list_type() }})
            as linked_match_statuses,
        cast(coalesce(linked_records.linked_doses_credited, 0) as integer) as linked_doses_credited
    from complaint_facts as complaints
    cross join clock
    left join citizens on complaints.citizen_id = citizens.citizen_id
    left join linked_records on complaints.citizen_id = linked_records.citizen_id
    left join admin_units on complaints.commune_code = admin_units.commune_code
    left join fixes on complaints.source = fixes.source and complaints.ticket_id = fixes.ticket_id
)

select * from final
