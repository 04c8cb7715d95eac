{#-
  The citizens a complaint names in this build, with how many dose records int_complaint_doses_collected
  holds for each (0: none credited to or suggesting them). The next build reads it as the source
  previous_build.complaint_citizens: a citizen named now and not then has every record collected. It reads
  the collector, so dbt writes it only after the collector has read the previous build's list.
-#}
with

complained as (
    select distinct citizen_id from {{ ref('int_complaints_linked') }} where citizen_id is not null
),

collected as (
    select linked_citizen_id, count(*) as collected_doses
    from {{ ref('int_complaint_doses_collected') }}
    group by linked_citizen_id
),

final as (
    select complained.citizen_id, coalesce(collected.collected_doses, 0) as collected_doses
    from complained
    left join collected on complained.citizen_id = collected.linked_citizen_id
)

select * from final
