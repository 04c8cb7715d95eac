{#-
  One row per vaccination site that any dose record names: what kind of site it is, from evidence, with
  the evidence and a confidence. Nothing in the sources contract fixes site codes, so a code is only a key:
    - the registry (seed ref_vaccination_site_registry, kept by the data team) decides when it has the site;
    - else the site's name (the one most of its platform records carry; batch files have none): the words
      of seed ref_site_name_keywords, with or without diacritics ("Phòng y tế Công ty ...", "TYT Quang Vinh",
      "Trung tam Y te ...");
    - else the people it vaccinated (reported birth dates and residences, the `workplace` field, the
      channel), over at least var('site_profile_min_records') records:
        workplace_clinic  at least var('site_workplace_age_share') of them of working age
                          (var('site_working_ages')), and most from one employer or most sent offline;
        commune_station   at least var('site_station_commune_share') from one commune;
        district_centre   at least var('site_centre_district_share') from one district, no commune dominant;
    - else other.
  The people's evidence is kept beside a name's verdict: a name and a profile that disagree lower the
  confidence (has_conflicting_evidence) for the data team to review (marts.vaccination_sites).
  commune_code: for a commune station, the commune it serves: the one its name names (communes whose
  name appears in it, of the district most of its people live in) when that is unambiguous or agrees
  with its people, else the commune most of its people live in.
  A full table each build (a few hundred sites): the dose chain's scope R4 re-screens the records of a
  site whose kind or commune changed (int_dose_scopes_sequenced, from int_dose_chain_state).
-#}
{%- set working_ages = var('site_working_ages') %}
with

records as (
    select
        site_code, source, site_name, workplace, province_code, link_district_code, link_commune_code,
        -- the age on the day to within a year (the year of birth is what a profile needs): the years between
        -- the birth year and the dose's
        case when date_of_birth is not null and vaccinated_on is not null
            then year(vaccinated_on) - year(date_of_birth) end as age
    from {{ ref('int_dose_records_unioned') }}
    where site_code is not null
),

registry as (
    select * from {{ ref('ref_vaccination_site_registry') }}
),

keywords as (
    select site_kind, keyword, priority, '% ' || trim(keyword) || ' %' as pattern
    from {{ ref('ref_site_name_keywords') }}
),

admin_units as (
    select * from {{ ref('ref_admin_units') }}
),

admin_unit_changes as (
    select * from {{ ref('ref_admin_unit_changes') }}
),

-- the name a commune is typed by in a station's name: without its unit type, old and new names
commune_names as (
    select commune_code, district_code, commune_name as name from admin_units
    union
    select admin_units.commune_code, admin_units.district_code, admin_unit_changes.new_name
    from admin_unit_changes
    inner join admin_units on admin_unit_changes.commune_code = admin_units.commune_code
    where admin_unit_changes.new_name is not null
),

commune_keys as (
    select distinct
        commune_code,
        district_code,
        regexp_replace({{ text_key('name') }}, '^ (phuong|xa|thi tran) ', ' ') as place_key
    from commune_names
),

profiles as (
    select
        site_code,
        count(*) as dose_records,
        count(*) filter (where source = 'site_batch') / count(*) as offline_share,
        count(age) as records_with_age,
        count(*) filter (where age between {{ working_ages[0] }} and {{ working_ages[1] }}) / nullif(count(age), 0)
            as working_age_share,
        count(*) filter (where age < {{ working_ages[0] }}) / nullif(count(age), 0) as minor_share,
        count(*) filter (where age > {{ working_ages[1] }}) / nullif(count(age), 0) as elderly_share
    from records
    group by site_code
),

-- the most frequent value of a column per site (ties: the smallest value), its share of the site's records
-- that have one, and how many distinct values they have
{%- for column in ['site_name', 'workplace', 'province_code', 'link_district_code', 'link_commune_code'] %}

top_{{ column }} as (
    select site_code, value, share, distinct_values
    from (
        select
            site_code,
            {{ column }} as value,
            n / sum(n) over (partition by site_code) as share,
            count(*) over (partition by site_code) as distinct_values,
            row_number() over (partition by site_code order by n desc, {{ column }}) as value_rank
        from (
            select site_code, {{ column }}, count(*) as n
            from records
            where nullif(trim({{ column }}), '') is not null
            group by site_code, {{ column }}
        )
    )
    where value_rank = 1
),
{%- endfor %}

-- the text keys of the names the keywords and communes are looked for in, each computed before its join
-- (Spark joins only on deterministic expressions, and text_key calls Java through reflect)
site_name_keys as (
    select site_code, {{ text_key('value') }} as name_key from top_site_name
),

workplace_keys as (
    select site_code, {{ text_key('value') }} as name_key from top_workplace
),

-- the first keyword rule the name matches: the lowest priority, then the longest keyword, then the first
name_kinds as (
    select site_code, site_kind as name_kind, keyword as name_keyword
    from (
        select
            site_name_keys.site_code,
            keywords.site_kind,
            keywords.keyword,
            row_number() over (
                partition by site_name_keys.site_code
                order by keywords.priority nulls last, length(keywords.keyword) desc, keywords.keyword
            ) as keyword_rank
        from site_name_keys
        inner join keywords on site_name_keys.name_key like keywords.pattern
    )
    where keyword_rank = 1
),

-- does the most common workplace name an employer (the same words a workplace clinic's name has)?
employers as (
    select workplace_keys.site_code
    from workplace_keys
    inner join keywords
        on keywords.site_kind = 'workplace_clinic'
        and workplace_keys.name_key like keywords.pattern
    group by workplace_keys.site_code
),

evidence as (
    select
        profiles.*,
        top_province_code.value as province_code,
        top_site_name.value as site_name,
        name_kinds.name_kind,
        name_kinds.name_keyword,
        -- published only when it names an employer (any other workplace is free text a person typed), and
        -- not for a site with few records (it would be one person's employer)
        case
            when employers.site_code is not null and profiles.dose_records >= {{ var('site_profile_min_records') }}
                then top_workplace.value
        end as top_workplace,
        coalesce(top_workplace.share, 0) as top_workplace_share,
        top_link_district_code.value as top_district_code,
        top_link_commune_code.value as top_commune_code,
        coalesce(top_link_commune_code.share, 0) as top_commune_share,
        coalesce(top_link_commune_code.distinct_values, 0) as communes_served,
        -- what the people say, each fact once (profile_kind and the evidence codes read them)
        profiles.records_with_age < {{ var('site_profile_min_records') }} as has_few_records,
        coalesce(profiles.working_age_share >= {{ var('site_workplace_age_share') }}, false) as is_working_ages_only,
        coalesce(profiles.minor_share > 0 and profiles.elderly_share > 0, false) as has_all_ages,
        employers.site_code is not null and coalesce(top_workplace.share, 0) >= 0.5 as has_one_employer,
        profiles.offline_share >= 0.5 as is_mostly_offline,
        coalesce(top_link_commune_code.share, 0) >= {{ var('site_station_commune_share') }} as has_one_commune,
        coalesce(top_link_district_code.share, 0) >= {{ var('site_centre_district_share') }} as has_one_district
    from profiles
    left join top_province_code on profiles.site_code = top_province_code.site_code
    left join top_site_name on profiles.site_code = top_site_name.site_code
    left join name_kinds on profiles.site_code = name_kinds.site_code
    left join top_workplace on profiles.site_code = top_workplace.site_code
    left join employers on profiles.site_code = employers.site_code
    left join top_link_district_code on profiles.site_code = top_link_district_code.site_code
    left join top_link_commune_code on profiles.site_code = top_link_commune_code.site_code
),

profiled as (
    select
        *,
        case
            when has_few_records then null
            when is_working_ages_only and (has_one_employer or is_mostly_offline) then 'workplace_clinic'
            when has_one_commune then 'commune_station'
            when has_one_district then 'district_centre'
            else 'other'
        end as profile_kind
    from evidence
),

-- communes a station's name names, in the district most of its people live in (or anywhere without one)
named_communes as (
    select site_names.site_code, commune_keys.commune_code
    from (select site_code, top_district_code, {{ text_key('site_name') }} as name_key from profiled) as site_names
    inner join commune_keys
        on site_names.name_key like '%' || commune_keys.place_key || '%'
        and (site_names.top_district_code is null or commune_keys.district_code = site_names.top_district_code)
),

named_commune as (
    select
        profiled.site_code,
        count(distinct named_communes.commune_code) = 1 as is_one_commune_named,
        min(named_communes.commune_code) as named_commune_code,
        bool_or(named_communes.commune_code = profiled.top_commune_code) as names_top_commune
    from profiled
    inner join named_communes on profiled.site_code = named_communes.site_code
    group by profiled.site_code
),

-- the site's kind and what said it (the registry, the name, the people)
kinds as (
    select
        profiled.*,
        registry.site_code is not null as is_in_registry,
        coalesce(registry.site_kind, profiled.name_kind, profiled.profile_kind, 'other') as site_kind,
        case
            when registry.site_code is not null then 'registry'
            when profiled.name_kind is not null then 'name'
            when profiled.profile_kind is not null then 'people'
            else 'none'
        end as kind_source,
        registry.commune_code as registry_commune_code,
        coalesce(named_commune.is_one_commune_named, false) as is_one_commune_named,
        named_commune.named_commune_code,
        coalesce(named_commune.names_top_commune, false) as names_top_commune
    from profiled
    left join registry on profiled.site_code = registry.site_code
    left join named_commune on profiled.site_code = named_commune.site_code
),

-- a commune station's commune, and how it was found, beside the kind (one CTE that final reads: Spark fails
-- to plan a join of two CTEs over those reading text_key's Java through reflect)
decided as (
    select
        kinds.*,
        case
            when is_in_registry then registry_commune_code
            when site_kind <> 'commune_station' then null
            when names_top_commune then top_commune_code
            when is_one_commune_named then named_commune_code
            else top_commune_code
        end as commune_code,
        case
            when is_in_registry then case when registry_commune_code is not null then 'registry' end
            when site_kind <> 'commune_station' then null
            when names_top_commune then 'name_and_people'
            when is_one_commune_named then 'name'
            when top_commune_code is not null then 'people'
        end as commune_source
    from kinds
),

final as (
    select
        decided.site_code,
        decided.site_name,
        decided.site_kind,
        decided.kind_source,
        cast(
            case
                when decided.kind_source = 'registry' then 1.0
                when decided.kind_source = 'name' and decided.profile_kind = decided.name_kind then 0.95
                when decided.kind_source = 'name' and decided.profile_kind is null then 0.8
                when decided.kind_source = 'name' then 0.6
                when decided.kind_source = 'people' and decided.profile_kind = 'other' then 0.5
                when decided.kind_source = 'people' then 0.7
                else 0.3
            end as double
        ) as confidence,
        decided.name_kind,
        decided.name_keyword,
        decided.profile_kind,
        coalesce(decided.profile_kind <> decided.name_kind, false) as has_conflicting_evidence,
        -- what was seen, as codes (the labels: ref_code_labels domain site_evidence)
        {%- set evidence_codes %}
            case when decided.is_in_registry then 'registry' end,
            case when decided.name_kind is not null then 'name_says_' || decided.name_kind end,
            case when decided.has_few_records then 'few_records' end,
            case when decided.is_working_ages_only then 'working_ages_only' end,
            case when decided.has_all_ages then 'all_ages' end,
            case when decided.has_one_employer then 'one_employer' end,
            case when decided.is_mostly_offline then 'mostly_offline' end,
            case when decided.has_one_commune then 'one_commune' end,
            case when decided.has_one_district and not decided.has_one_commune then 'one_district' end
        {%- endset %}
        {{ present_codes(evidence_codes) }} as evidence,
        decided.dose_records,
        round(decided.offline_share, 4) as offline_share,
        round(decided.working_age_share, 4) as working_age_share,
        round(decided.minor_share, 4) as minor_share,
        round(decided.elderly_share, 4) as elderly_share,
        decided.top_workplace,
        round(decided.top_workplace_share, 4) as top_workplace_share,
        round(decided.top_commune_share, 4) as top_commune_share,
        decided.communes_served,
        decided.province_code,
        decided.top_district_code as district_code,
        decided.commune_code,
        decided.commune_source
    from decided
)

select * from final
