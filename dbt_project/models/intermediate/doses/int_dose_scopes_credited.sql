{#-
  The citizens whose doses scope R4 (int_dose_scopes_sequenced, macros/dose_chain.sql) touches: credited
  before (the previous build) or now. person_vaccination re-derives them; its scoped tests and the
  published file's patch (vaxclean.publish) read the same list. Empty on a full build (R4 is).
-#}
with

scope as (
    select * from {{ ref('int_dose_scopes_sequenced') }}
),

-- R4's records as int_dose_records_sequenced re-derived them (macros/dose_chain.sql)
sequenced as (
    select * from {{ dose_scope_rows(ref('int_dose_records_sequenced'), ref('int_dose_scopes_sequenced')) }}
),

credited as (
    select previous_citizen_id as citizen_id from scope
    where previous_citizen_id is not null
    union
    select citizen_id from sequenced
    where citizen_id is not null
)

select citizen_id from credited
