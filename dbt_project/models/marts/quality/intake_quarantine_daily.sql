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

reason_codes as (
    -- a row's reason: the class of the first pattern (by match_order) its text matches
    select quarantined.quarantined_row_id, min_by(reasons.reason_code, reasons.match_order) as reason_code
    from quarantined
    inner join reasons on {{ matches('quarantined.reason', 'reasons.pattern') }}
    group by quarantined.quarantined_row_id
),

classified as (
    select
        quarantined.quarantined_row_id,
        quarantined.source,
        quarantined.file_path,
        files.status = 'quarantined' as is_whole_file,
        cast(quarantined.quarantined_at as date) as quarantined_on,
        coalesce(reason_codes.reason_code, 'other') as reason_code
    from quarantined
    left join files on quarantined.load_id = files.load_id and files.status <> 'duplicate_content'
    left join reason_codes on quarantined.quarantined_row_id = reason_codes.quarantined_row_id
),

final as (
    select
        cast(quarantined_on as date) as quarantined_on,
        cast(source as string) as source,
        cast(reason_code as string) as reason_code,
        cast(count(*) as bigint) as rows_quarantined,
        cast(count(distinct file_path) as bigint) as files_affected,
        cast(count(distinct file_path) filter (where is_whole_file) as bigint) as files_quarantined_whole
    from classified
    group by all
)

select * from final
