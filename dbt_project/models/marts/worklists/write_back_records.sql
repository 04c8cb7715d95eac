{#-
  One row per dose record whose identity was corrected (match_status corrected: police verification, or a
  repair the data proves): the citizen's identity from the National Population Database and the dose as
  reconciled, for the commune health station to upload to the platform (vaxclean.worklists.write_back
  writes them per commune in the platform's import template). The residence is the citizen's: the file of
  the commune the citizen lives in. A view: read once per run, after publishing.
-#}
with

doses as (
    select * from {{ ref('dose_reconciliation') }}
    where match_status = 'corrected'
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

records as (
    select * from {{ ref('int_dose_records_unioned') }}
),

vaccines as (
    select * from {{ ref('ref_vaccines') }}
),

final as (
    select
        cast(doses.source as string) as source,
        cast(doses.source_record_id as string) as source_record_id,
        cast(citizens.citizen_id as string) as citizen_id,
        cast(citizens.full_name as string) as full_name,
        cast(citizens.date_of_birth as date) as date_of_birth,
        cast(citizens.is_birth_year_only as boolean) as is_birth_year_only,
        cast(citizens.gender as string) as gender,
        -- the register's phone, else the one typed on the record
        cast(coalesce(citizens.phone, records.phone) as string) as phone,
        cast(citizens.province_code as string) as province_code,
        cast(citizens.district_code as string) as district_code,
        cast(citizens.commune_code as string) as commune_code,
        cast(coalesce(vaccines.product_name, records.vaccine_reported) as string) as vaccine,
        cast(records.lot_number as string) as lot_number,
        -- the place in the citizen's history, else the number typed
        cast(coalesce(doses.dose_sequence, doses.dose_number_reported) as integer) as dose_number,
        cast(doses.vaccinated_on as date) as vaccinated_on
    from doses
    inner join citizens on doses.citizen_id = citizens.citizen_id
    inner join records on doses.source = records.source and doses.source_record_id = records.source_record_id
    left join vaccines on doses.vaccine_code = vaccines.vaccine_code
)

select * from final
