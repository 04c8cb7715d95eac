{#-
  Every live dose record (newest version, tombstones excluded) with the site that reported it, its
  vaccination day and when it arrived:
    platform: when the record first reached the platform (its oldest version's updated_at; an edit
      re-serves it later, which is a correction, not a late arrival);
    site batches: when the file arrived (stg_intake__files: the file's modification time, or when the
      pipeline first saw it if that is earlier or the time is unknown).
  A view: the data-quality marts and the worklist history read it once each, per build.
-#}
{{ config(materialized='view') }}
with

platform as (
    select * from {{ ref('stg_platform__immunizations') }}
),

site_batch_rows as (
    select * from {{ ref('stg_site_batches__batch_rows') }}
),

files as (
    select * from {{ ref('stg_intake__files') }}
),

final as (
    select
        source,
        source_record_id,
        site_code,
        vaccinated_on,
        first_updated_at as arrived_at,
        cast(null as string) as file_path
    from platform
    where source = 'platform'
    union all
    select
        site_batch_rows.source,
        site_batch_rows.source_record_id,
        site_batch_rows.site_code,
        site_batch_rows.vaccinated_on,
        coalesce(files.arrived_at, site_batch_rows.loaded_at) as arrived_at,
        site_batch_rows.file_path
    from site_batch_rows
    left join files
        on site_batch_rows.file_sha256 = files.file_sha256
        and site_batch_rows.file_path = files.file_path
)

select * from final
