{#-
  The data-quality review of the reporting sites, one row per site, source and week of arrival (ISO week,
  Monday), in the manner of the WHO/DHIS2 data-quality reviews: what arrived (files and records), how
  late (arrival minus vaccination day: median, 90th percentile, share within var dq_timely_days), what
  could not be read (quarantined rows; a whole unreadable file counts as one row), and what became of the
  records (match statuses now; unmatched and needs-review shares).
  Arrival is int_dose_records_arrived's; a quarantined row's week is its file's arrival (site batches)
  or when it was quarantined (platform). The site's place is the commune most of its records are placed in
  (dose_reconciliation), for the dashboards' district filter; `unknown` (records naming no site) is one
  site whatever the source.
-#}
with

arrived as (
    select * from {{ ref('int_dose_records_arrived') }}
),

reconciled as (
    select * from {{ ref('dose_reconciliation') }}
),

files as (
    select * from {{ ref('stg_intake__files') }}
),

quarantined as (
    select * from {{ ref('stg_intake__quarantined_rows') }}
),

records as (
    select
        arrived.source,
        coalesce(arrived.site_code, 'unknown') as site_code,
        cast(date_trunc('week', arrived.arrived_at) as date) as week_start_on,
        {{ days_between('arrived.vaccinated_on', 'cast(arrived.arrived_at as date)') }} as delay_days,
        reconciled.match_status,
        reconciled.district_code,
        reconciled.commune_code
    from arrived
    inner join reconciled
        on arrived.source = reconciled.source
        and arrived.source_record_id = reconciled.source_record_id
),

record_counts as (
    select
        source,
        site_code,
        week_start_on,
        count(*) as records_received,
        count(*) filter (where delay_days <= {{ var('dq_timely_days') }}) as records_timely,
        {{ continuous_percentile('delay_days', 0.5) }} as delay_days_median,
        {{ continuous_percentile('delay_days', 0.9) }} as delay_days_p90,
        {%- for status in ['verified', 'corrected', 'probable', 'needs_review', 'unmatched', 'duplicate'] %}
        count(*) filter (where match_status = '{{ status }}') as records_{{ status }}{{ ',' if not loop.last }}
        {%- endfor %}
    from records
    group by all
),

site_places as (
    -- the commune most of the site's records are placed in (ties: the smallest code, so that every build agrees;
    -- the count is ordered on by its name, as Spark orders a window after GROUP BY only on selected columns)
    select site_code, district_code, commune_code, count(*) as records_placed
    from records
    where commune_code is not null
    group by site_code, district_code, commune_code
    qualify row_number() over (
        partition by site_code order by records_placed desc, commune_code, district_code nulls last
    ) = 1
),

file_counts as (
    select
        'site_batch' as source,
        coalesce(site_code, 'unknown') as site_code,
        cast(date_trunc('week', arrived_at) as date) as week_start_on,
        count(*) as files_received,
        count(*) filter (where status = 'quarantined') as files_quarantined
    from files
    where source = 'site_batch' and status <> 'duplicate_content'
    group by all
),

quarantine_counts as (
    select
        quarantined.source,
        coalesce(quarantined.site_code, 'unknown') as site_code,
        cast(date_trunc('week', coalesce(files.arrived_at, quarantined.quarantined_at)) as date) as week_start_on,
        count(*) as rows_quarantined
    from quarantined
    left join files
        on quarantined.load_id = files.load_id
        and files.status <> 'duplicate_content'
    where quarantined.source in ('platform', 'site_batch')
    group by all
),

keys as (
    select source, site_code, week_start_on from record_counts
    union
    select source, site_code, week_start_on from file_counts
    union
    select source, site_code, week_start_on from quarantine_counts
),

final as (
    select
        cast(keys.site_code as string) as site_code,
        cast(keys.source as string) as source,
        cast(keys.week_start_on as date) as week_start_on,
        cast(case when site_places.district_code is not null then '19' end as string) as province_code,
        cast(site_places.district_code as string) as district_code,
        cast(site_places.commune_code as string) as commune_code,
        cast(coalesce(file_counts.files_received, 0) as bigint) as files_received,
        cast(coalesce(file_counts.files_quarantined, 0) as bigint) as files_quarantined,
        cast(coalesce(record_counts.records_received, 0) as bigint) as records_received,
        cast(coalesce(quarantine_counts.rows_quarantined, 0) as bigint) as rows_quarantined,
        cast(
            coalesce(quarantine_counts.rows_quarantined, 0)
            / nullif(coalesce(record_counts.records_received, 0) + coalesce(quarantine_counts.rows_quarantined, 0), 0)
            as double
        ) as quarantined_share,
        cast(record_counts.delay_days_median as double) as delay_days_median,
        cast(record_counts.delay_days_p90 as double) as delay_days_p90,
        cast(coalesce(record_counts.records_timely, 0) as bigint) as records_timely,
        cast(record_counts.records_timely / nullif(record_counts.records_received, 0) as double) as timely_share,
        {%- for status in ['verified', 'corrected', 'probable', 'needs_review', 'unmatched', 'duplicate'] %}
        cast(coalesce(record_counts.records_{{ status }}, 0) as bigint) as records_{{ status }},
        {%- endfor %}
        cast(record_counts.records_unmatched / nullif(record_counts.records_received, 0) as double) as unmatched_share,
        cast(record_counts.records_needs_review / nullif(record_counts.records_received, 0) as double)
            as needs_review_share
    from keys
    left join record_counts
        on keys.source = record_counts.source
        and keys.site_code = record_counts.site_code
        and keys.week_start_on is not distinct from record_counts.week_start_on
    left join file_counts
        on keys.source = file_counts.source
        and keys.site_code = file_counts.site_code
        and keys.week_start_on is not distinct from file_counts.week_start_on
    left join quarantine_counts
        on keys.source = quarantine_counts.source
        and keys.site_code = quarantine_counts.site_code
        and keys.week_start_on is not distinct from quarantine_counts.week_start_on
    left join site_places on keys.site_code = site_places.site_code
)

select * from final
