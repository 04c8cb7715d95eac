{#-
  Complaints linked to a citizen (the ID, or its lost-zero repair, names one; else name key + birth
  date + commune name exactly one) and categorised: the reported category, else the first keyword
  rule (seed ref_complaint_keywords, lowest priority first, then the longest keyword) matching the
  normalised text (text_key), else other. A keyword matches whole words; `%` inside it stands for
  any words in between (`ngay sinh % sai`).
-#}
with

complaints as (
    select * from {{ ref('int_complaints_unioned') }}
),

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

keywords as (
    select * from {{ ref('ref_complaint_keywords') }}
),

complaint_texts as (
    -- the normalised text once per complaint, not once per complaint x keyword
    select source, ticket_id, {{ text_key('description') }} as description_key
    from complaints
),

keyword_patterns as (
    select category, priority, keyword, '% ' || trim(keyword) || ' %' as pattern
    from keywords
),

by_id as (
    select complaints.source, complaints.ticket_id, any_value(citizens.citizen_id) as citizen_id
    from complaints
    inner join citizens
        on (complaints.id_class in ('cccd12', 'cccd12_lost_zero') and complaints.id_candidate = citizens.citizen_id)
    group by complaints.source, complaints.ticket_id
    union all
    select complaints.source, complaints.ticket_id, any_value(citizens.citizen_id) as citizen_id
    from complaints
    inner join citizens
        on (complaints.id_class in ('cmnd9', 'cmnd9_lost_zero') and complaints.id_candidate = citizens.old_id_number)
    group by complaints.source, complaints.ticket_id
),

by_name as (
    select complaints.source, complaints.ticket_id, any_value(citizens.citizen_id) as citizen_id
    from complaints
    inner join citizens
        on complaints.name_key = citizens.name_key
        and complaints.commune_code = citizens.commune_code
        -- every branch of dob_compatible needs the same birth year: an equality the join can hash on
        and year(complaints.date_of_birth) = year(citizens.date_of_birth)
    where {{ dob_compatible('complaints.date_of_birth', 'complaints.is_dob_year_only', 'citizens.date_of_birth', 'citizens.is_birth_year_only') }}
    group by complaints.source, complaints.ticket_id
    having count(*) = 1
),

inferred as (
    select
        complaint_texts.source,
        complaint_texts.ticket_id,
        -- the lowest priority, then the longest keyword (then the category: one answer on a tie)
        min_by(
            keyword_patterns.category,
            (keyword_patterns.priority, -length(keyword_patterns.keyword), keyword_patterns.category)
        ) as category
    from complaint_texts
    inner join keyword_patterns on complaint_texts.description_key like keyword_patterns.pattern
    group by complaint_texts.source, complaint_texts.ticket_id
),

final as (
    select
        complaints.*,
        coalesce(by_id.citizen_id, by_name.citizen_id) as citizen_id,
        coalesce(complaints.category_reported, inferred.category, 'other') as category,
        complaints.category_reported is null as is_category_inferred
    from complaints
    left join (select source, ticket_id, any_value(citizen_id) as citizen_id from by_id group by all) as by_id
        on complaints.source = by_id.source and complaints.ticket_id = by_id.ticket_id
    left join by_name on complaints.source = by_name.source and complaints.ticket_id = by_name.ticket_id
    left join inferred on complaints.source = inferred.source and complaints.ticket_id = inferred.ticket_id
)

select * from final
