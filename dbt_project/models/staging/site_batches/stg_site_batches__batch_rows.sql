{#-
  One row per dose row of an offline site batch file, normalised. source_record_id is
  `<site_code>/<file name>#<STT>`. When the same site re-delivers a file under the same name with
  another content, only the newest delivered version's rows are kept.
-#}
{{ config(materialized='table') }}  {#- read by tests, the staging gate and every intermediate model: computed once -#}
with

source as (
    select * from {{ source('site_batches', 'batch_rows') }}
),

rows as (
    select
        *,
        nullif(regexp_replace(trim(stt), '\.0+$', ''), '') as stt_clean,
        {{ to_utc_naive('_loaded_at') }} as loaded_at
    from source
    where _file_name is not null
),

file_versions as (
    select
        _site_code,
        _file_name,
        _file_sha256,
        dense_rank() over (
            partition by _site_code, _file_name
            order by max(loaded_at) desc, max(_load_id) desc, _file_sha256 desc
        ) as file_version_rank,
        count(*) over (partition by _site_code, _file_name) as file_version_count
    from rows
    group by _site_code, _file_name, _file_sha256
),

newest_rows as (
    select
        rows.*,
        file_versions.file_version_count,
        row_number() over (
            partition by rows._site_code, rows._file_name, rows.stt_clean order by rows._line_number
        ) as stt_rank
    from rows
    inner join file_versions
        on rows._site_code = file_versions._site_code
        and rows._file_name = file_versions._file_name
        and rows._file_sha256 = file_versions._file_sha256
    where file_versions.file_version_rank = 1
),

normalized as (
    select
        'site_batch' as source,
        -- a repeated or empty STT falls back to the physical line, so the key stays unique
        _site_code || '/' || _file_name || '#'
            || case when stt_clean is null or stt_rank > 1 then 'L' || _line_number else stt_clean end
            as source_record_id,
        {{ normalize_name('full_name') }} as full_name,
        date_of_birth as date_of_birth_reported,
        {{ parse_dob('date_of_birth') }} as dob,
        {{ normalize_gender('gender') }} as gender,
        id_number as id_number_reported,
        {{ id_digits('id_number') }} as id_digits,
        phone as phone_reported,
        {{ normalize_phone('phone') }} as phone,
        address,
        {{ normalize_admin_code('province_code', 2) }} as province_code,
        {{ normalize_admin_code('district_code', 3) }} as district_code,
        {{ normalize_admin_code('commune_code', 5) }} as commune_code,
        workplace,
        _site_code as site_code,
        vaccine as vaccine_reported,
        {{ vaccine_key('vaccine') }} as vaccine_key,
        lot_number,
        try_cast(regexp_extract(dose_number, '(\d+)', 1) as integer) as dose_number_reported,
        {{ parse_date_dmy('vaccinated_on') }} as vaccinated_on,
        _file_path as file_path,
        _file_name as file_name,
        _file_sha256 as file_sha256,
        _line_number as line_number,
        loaded_at,
        file_version_count
    from newest_rows
),

final as (
    select
        source,
        source_record_id,
        full_name,
        {{ name_key('full_name') }} as name_key,
        {{ dose_identity_columns() }},
        workplace,
        site_code,
        vaccine_reported,
        vaccine_key,
        lot_number,
        dose_number_reported,
        vaccinated_on,
        false as is_signed,
        file_path,
        file_name,
        file_sha256,
        line_number,
        loaded_at,
        file_version_count
    from normalized
)

select * from final
