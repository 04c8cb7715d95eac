{#-
  What could not be read, per source, reason and day: quarantined rows (a whole unreadable file is one
  row) and the files they came from. The loaders' free-text reasons are classified by the first pattern
  of ref_quarantine_reasons they match (else `other`); the texts themselves stay on the restricted side
  (they may quote the file). For the data team's operations view.
-#}
with

quarantined as (
    select * from {{ ref('stg_intake__quarantined_rows') }}
),

reasons as (
    select * from {{ ref('ref_quarantine_reasons') }}
),

files as (
    select * from {{ ref('stg_intake__files') }}
),

classified as (
    select
        quarantined.quarantined_row_id,
        quarantined.source,
        quarantined.file_path,
        files.status = 'quarantined' as is_whole_file,
        cast(quarantined.quarantined_at as date) as quarantined_on,
        coalesce(
            (select reasons.reason_code from reasons
             where regexp_matches(quarantined.reason, reasons.pattern)
             order by reasons.match_order limit 1),
            'other'
        ) as reason_code
    from quarantined
    left join files on quarantined.load_id = files.load_id and files.status <> 'duplicate_content'
),

final as (
    select
        cast(quarantined_on as date) as quarantined_on,
        cast(source as varchar) as source,
        cast(reason_code as varchar) as reason_code,
        cast(count(*) as bigint) as rows_quarantined,
        cast(count(distinct file_path) as bigint) as files_affected,
        cast(count(distinct file_path) filter (where is_whole_file) as bigint) as files_quarantined_whole
    from classified
    group by all
)

select * from final
