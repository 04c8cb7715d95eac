{#-
  One row per quarantined row or whole file: where it came from and why, without the quarantined text
  (it holds personal data; the raw table keeps it for the data team). The reason is free text written by
  the loaders (vaxclean/load, vaxclean/extract) and may quote file content: it is kept here only for the
  restricted side; the marts classify it (ref_quarantine_reasons).
-#}
{{ config(materialized='table') }}  {#- thousands of one-row files: read once per build, not per reader -#}
with

source as (
    select * from {{ source('intake', 'quarantine') }}
),

final as (
    select
        cast(md5(coalesce(load_id, '') || '#' || coalesce(cast(page as string), '') || '#'
                 || coalesce(cast(line_number as string), '')) as string) as quarantined_row_id,
        cast(load_id as string) as load_id,
        cast(source as string) as source,
        cast(file_path as string) as file_path,
        cast(case when source = 'site_batch' then split_part(file_path, '/', 2) end as string) as site_code,
        cast(page as integer) as page,
        cast(line_number as integer) as line_number,
        cast(reason as string) as reason,
        {{ to_utc_naive('quarantined_at') }} as quarantined_at
    from source
    where load_id is not null
)

select * from final
