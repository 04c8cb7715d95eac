{#-
  One row per complaint (portal ticket or hotline call): category (inferred from the text when
  missing), status, age and SLA (var complaint_sla_days) against the run's clock, the linked citizen
  and that citizen's dose records. data_fix_detected_at is not derived yet (always null).
-#}
with

complaints as (
    select * from {{ ref('int_complaints_linked') }}
),

clock as (
    select * from {{ ref('int_run_clocks_resolved') }}
),

doses as (
    select * from {{ ref('int_dose_records_sequenced') }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

admin_units as (
    select * from {{ ref('ref_admin_units') }}
),

linked_records as (
    select
        coalesce(citizen_id, candidate_citizen_id) as citizen_id,
        list(source_record_id order by vaccinated_on, source_record_id) as linked_record_ids
    from doses
    where coalesce(citizen_id, candidate_citizen_id) is not null
    group by all
),

final as (
    select
        cast(complaints.source as varchar) as source,
        cast(complaints.ticket_id as varchar) as ticket_id,
        cast(complaints.channel as varchar) as channel,
        cast(complaints.received_at as timestamp) as received_at,
        cast(complaints.category as varchar) as category,
        cast(complaints.is_category_inferred as boolean) as is_category_inferred,
        cast(complaints.status as varchar) as status,
        cast(complaints.status_at as timestamp) as status_at,
        cast(complaints.resolved_at as timestamp) as resolved_at,
        cast(date_diff('day', complaints.received_at, coalesce(complaints.resolved_at, clock.as_of)) as integer)
            as age_days,
        cast(complaints.received_at + to_days({{ var('complaint_sla_days') }}) as timestamp) as sla_due_at,
        cast(
            coalesce(complaints.resolved_at, clock.as_of) > complaints.received_at + to_days({{ var('complaint_sla_days') }})
            as boolean
        ) as is_sla_breached,
        cast(complaints.citizen_id as varchar) as citizen_id,
        cast(coalesce(linked_records.linked_record_ids, []) as varchar[]) as linked_record_ids,
        cast(null as timestamp) as data_fix_detected_at,
        cast(coalesce(citizens.province_code, case when complaints.commune_code is not null then '19' end) as varchar)
            as province_code,
        cast(coalesce(citizens.district_code, admin_units.district_code) as varchar) as district_code,
        cast(coalesce(citizens.commune_code, complaints.commune_code) as varchar) as commune_code
    from complaints
    cross join clock
    left join citizens on complaints.citizen_id = citizens.citizen_id
    left join linked_records on complaints.citizen_id = linked_records.citizen_id
    left join admin_units on complaints.commune_code = admin_units.commune_code
)

select * from final
