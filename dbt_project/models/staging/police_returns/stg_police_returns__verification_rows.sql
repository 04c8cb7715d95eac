{#-
  Every returned row of every police return file ever landed (the raw layer keeps each file version),
  normalised once (Nguồn falls back on the form of Mã bản ghi when it is typed over): the history of verifications (stg_police_returns__verifications keeps the newest
  per dose record). Key: file checksum + line (a file re-dropped unchanged is loaded once).
-#}
{{ config(materialized='table') }}  {#- read by tests, the staging gate and every intermediate model: computed once -#}
with

source as (
    select * from {{ source('police_returns', 'verifications') }}
),

rows as (
    select
        _file_sha256 as file_sha256,
        _line_number as line_number,
        _file_path as file_path,
        _file_name as file_name,
        {{ text_key('source') }} as source_key,
        trim(regexp_replace(source_record_id, '\.0+$', '')) as source_record_id,
        {{ text_key('result') }} as result_key,
        result as result_reported,
        verified_id_number,
        verified_full_name,
        verified_date_of_birth,
        verified_gender,
        nullif(trim(verifier), '') as verifier,
        {{ parse_date_dmy('verified_on') }} as verified_on,
        {{ normalize_admin_code('_commune_code', 5) }} as returned_by_commune_code,
        {{ to_utc_naive('_loaded_at') }} as loaded_at
    from source
    where nullif(trim(source_record_id), '') is not null
),

final as (
    select
        file_sha256,
        line_number,
        -- Nguồn as the worklist wrote it (or its Vietnamese label, with or without diacritics); a Nguồn typed
        -- over is read from the record's key, whose form the contract fixes (<site_code>/<file name>#<STT> for
        -- a site batch row): one mistyped cell must not fail the staging gate for the province
        case
            when source_key in (' platform ', ' nen tang ', ' nen tang tiem chung ') then 'platform'
            when source_key in (' site batch ', ' site batches ') or source_key like ' tep cua diem tiem %'
                then 'site_batch'
            when {{ matches_fully('source_record_id', "'[^/]+/.+#.+'") }} then 'site_batch'
            else 'platform'
        end as source,
        source_record_id,
        case
            when result_key like '%khong thuong tru%' then 'not_resident'
            when result_key like '%khong tim thay%' then 'not_found'
            when result_key like '%dieu chinh%' then 'corrected'
            when result_key like '%xac nhan%' then 'confirmed'
        end as police_result,
        result_reported as police_result_reported,
        verified_id_number as police_verified_id_number_reported,
        -- digits, or null: an ID typed as words ("không rõ") stays in police_verified_id_number_reported, and a
        -- return that leans on it is refused (int_police_returns_validated: verified_id_unreadable)
        case when {{ matches_fully(id_digits('verified_id_number'), "'\\d+'") }} then {{ id_digits('verified_id_number') }}
        end as police_verified_id_digits,
        {{ id_candidate(id_digits('verified_id_number')) }} as police_verified_id_candidate,
        {{ normalize_name('verified_full_name') }} as police_verified_full_name,
        {{ parse_date_dmy('verified_date_of_birth') }} as police_verified_date_of_birth,
        {{ normalize_gender('verified_gender') }} as police_verified_gender,
        verifier as police_verifier,
        verified_on as police_verified_on,
        returned_by_commune_code,
        file_path,
        file_name,
        loaded_at
    from rows
)

select * from final
