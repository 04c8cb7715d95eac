{#-
  One row per landed file content and the path it landed under, with when it arrived: the file's
  modification time (when its sender wrote it: an export tool writes the file once) or, when that is
  later or unknown, when the pipeline first saw it. site_code: the sender's folder of a site batch.
-#}
{{ config(materialized='table') }}  {#- thousands of one-row files: read once per build, not per reader -#}
with

source as (
    select * from {{ source('intake', 'file_registry') }}
),

final as (
    select
        cast(file_sha256 || ':' || file_path as string) as file_key,
        cast(file_sha256 as string) as file_sha256,
        cast(source as string) as source,
        cast(file_path as string) as file_path,
        cast(case when source = 'site_batch' then split_part(file_path, '/', 2) end as string) as site_code,
        cast(size_bytes as bigint) as size_bytes,
        cast(status as string) as status,
        cast(load_id as string) as load_id,
        {{ to_utc_naive('registered_at') }} as registered_at,
        cast(least(
            {{ to_utc_naive('file_modified_at') }}, {{ to_utc_naive('registered_at') }}
        ) as timestamp) as arrived_at
    from source
    where file_sha256 is not null
    -- the same content registered twice under one path (a re-run): the first registration
    qualify row_number() over (partition by file_sha256, file_path order by registered_at) = 1
)

select * from final
