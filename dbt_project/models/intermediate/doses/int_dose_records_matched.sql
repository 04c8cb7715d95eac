{#-
  Deterministic identity resolution of dose records against the population.

  This model is the one to swap for probabilistic linkage (Splink): downstream models only rely on
  its grain (one row per dose_record_key) and on
    citizen_id (credited, or null), candidate_citizen_id, candidate_score, match_status,
    match_score, match_method, issues.

  Rules:
  1. The ID as reported (cccd12 / cmnd9) or repaired (a lost leading zero) names a citizen by
     citizen_id or old_id_number. Name key, birth date (tolerant: year-only, day/month swapped) and
     gender (when reported) agree -> verified; after a repair -> corrected. A disagreement ->
     needs_review with the reasons; name and birth date both wrong -> suspected_borrowed_identity,
     credited as probable to another citizen when the name + birth date + commune name exactly one.
     A dose before the citizen's birth, or on/after a snapshot showing the citizen deceased ->
     needs_review.
  2. No usable ID, or an ID not in the population: name key + birth date + commune name exactly one
     citizen (gender not contradicting) -> probable; more than one (twins, namesakes) ->
     needs_review; none in the commune but exactly one in the province with the exact birth date ->
     probable with a lower score; otherwise unmatched. Admin codes that are unknown or contradict each
     other (unknown_admin_code, commune_district_mismatch) are no commune evidence.
  3. The 12-digit ID's digits (century/gender, birth year) against the record: a reported birth year or
     gender the ID contradicts is an issue (id_birth_year_mismatch, id_gender_mismatch); when the ID's
     digits are those of the citizen it names and the name agrees, the record's detail is the typo
     (corrected). An ID whose digits contradict the citizen it names is a wrong ID (id_citizen_mismatch,
     never proves a typo).
  4. Evidence across doses: a phone on doses credited by ID (name, birth date, gender agreeing) to one
     citizen. A probabilistic candidate whose phone is on that citizen's doses (or in the register) and
     is the only close candidate: probable from the review threshold up (phone_supports_candidate); a
     candidate the phone contradicts (it is only on another citizen's doses) -> needs_review
     (phone_of_other_citizen).

  Incremental by scope R1 (int_dose_scopes_matched, macros/dose_chain.sql): a record's row reads the
  record, the population, its Splink candidates and, through its phone, the ID evidence of the records
  sharing that phone (evidence_records: R1 and, on an incremental build, the records outside it that
  share its phones; their rows are not re-derived: their evidence is unchanged or they are in R1).
-#}
{#- One wrong detail that the ID and the other details prove a slip: a birth date a few days or a year
    off, the wrong gender (the 12-digit ID's century/gender digit is the citizen's), or a name one or two
    edits away with the exact birth date. -#}
{%- set id_detail_typo_proven -%}
    (
        (is_name_agreed and is_gender_agreed and is_dob_agreed = false and is_dob_near)
        or (is_name_agreed and coalesce(is_dob_agreed, true) and not is_gender_agreed)
        or (not is_name_agreed and is_name_close and is_id_dob_exact and is_gender_agreed)
        or (
            -- the ID's digits are the citizen's and contradict the record's birth year and/or gender
            is_name_agreed and is_id_digits_citizen
            and (is_id_year_contradicted or is_id_gender_contradicted)
            and (coalesce(is_dob_agreed, true) or is_dob_near or is_id_year_contradicted)
            and (is_gender_agreed or is_id_gender_contradicted)
        )
    )
{%- endset %}

with

-- this build's scope R1 (empty on a full build, which derives every record)
scope as (
    select dose_record_key from {{ ref('int_dose_scopes_matched') }}
),

{% if is_incremental() %}
-- R1 and, through its phones, the records outside it whose ID evidence phone_owners reads, in one scan of
-- the province's records (a second scan for the phone sharers costs as much again: docs/scaling.md)
scope_phones as (
    select distinct phone from {{ ref('int_dose_records_unioned') }}
    where {{ in_dose_scope('scope') }} and phone is not null
),

read_records as (
    select
        *,
        {{ in_dose_scope('scope') }} as is_in_scope,
        {{ citizen_id_birth_year('id_candidate') }} as id_birth_year,
        {{ citizen_id_gender('id_candidate') }} as id_gender
    from {{ ref('int_dose_records_unioned') }}
    where {{ in_dose_scope('scope') }}
        or phone in (select phone from scope_phones)
),

records as (
    select {{ star_except(['is_in_scope']) }} from read_records where is_in_scope
),

-- the records whose ID evidence phone_owners reads: R1, and the records sharing its phones
evidence_records as (
    select
        dose_record_key, id_class, id_candidate, name_key, date_of_birth, is_dob_year_only, gender,
        vaccinated_on, phone, id_birth_year, id_gender
    from read_records
),
{% else %}
records as (
    select
        *,
        {{ citizen_id_birth_year('id_candidate') }} as id_birth_year,
        {{ citizen_id_gender('id_candidate') }} as id_gender
    from {{ ref('int_dose_records_unioned') }}
),

-- the records whose ID evidence phone_owners reads: every record
evidence_records as (
    select
        dose_record_key, id_class, id_candidate, name_key, date_of_birth, is_dob_year_only, gender,
        vaccinated_on, phone, id_birth_year, id_gender
    from records
),
{% endif %}

citizens as (
    select * from {{ ref('stg_population__citizens') }}
),

linked as (
    select * from {{ ref('int_dose_records_linked') }}
),

-- 1. the ID (or its repair) names a citizen -------------------------------------------------------
id_hits as (
    select
        records.dose_record_key,
        citizens.citizen_id,
        case when records.id_class = 'cccd12_lost_zero' then 'id_repaired' else 'id' end as match_method
    from evidence_records as records
    inner join citizens on records.id_candidate = citizens.citizen_id
    where records.id_class in ('cccd12', 'cccd12_lost_zero')
    union all
    select
        records.dose_record_key,
        citizens.citizen_id,
        case when records.id_class = 'cmnd9_lost_zero' then 'old_id_repaired' else 'old_id' end as match_method
    from evidence_records as records
    inner join citizens on records.id_candidate = citizens.old_id_number
    where records.id_class in ('cmnd9', 'cmnd9_lost_zero')
),

id_hits_unique as (
    select * from id_hits
    qualify row_number() over (partition by dose_record_key order by citizen_id) = 1
),

id_evidence as (
    select
        records.dose_record_key,
        id_hits_unique.citizen_id,
        id_hits_unique.match_method,
        -- equal keys first: the string distances only for the names that differ
        case
            when records.name_key = citizens.name_key then true
            else {{ jaro_winkler('records.name_key', 'citizens.name_key') }} >= 0.95
        end as is_name_agreed,
        case
            when records.date_of_birth is null then null
            else {{ dob_compatible('records.date_of_birth', 'records.is_dob_year_only', 'citizens.date_of_birth', 'citizens.is_birth_year_only') }}
        end as is_dob_agreed,
        (records.date_of_birth = citizens.date_of_birth and not records.is_dob_year_only) as is_dob_exact,
        coalesce(records.gender = citizens.gender, true) as is_gender_agreed,
        -- a typist's slip the ID + name prove: a few days off, or the same day and month a year off
        case
            when records.date_of_birth is null or records.is_dob_year_only or citizens.is_birth_year_only then null
            else abs({{ days_between('records.date_of_birth', 'citizens.date_of_birth') }}) <= 31
                or (
                    abs(year(records.date_of_birth) - year(citizens.date_of_birth)) = 1
                    and month(records.date_of_birth) = month(citizens.date_of_birth)
                    and day(records.date_of_birth) = day(citizens.date_of_birth)
                )
        end as is_dob_near,
        {{ names_close('records.name_key', 'citizens.name_key') }} as is_name_close,
        (
            not citizens.is_birth_year_only and records.vaccinated_on < citizens.date_of_birth
            or citizens.is_birth_year_only and year(records.vaccinated_on) < year(citizens.date_of_birth)
        ) as is_dose_before_birth,
        (citizens.status = 'deceased') as is_deceased,
        coalesce(year(records.date_of_birth) <> records.id_birth_year, false) as is_id_year_contradicted,
        coalesce(records.gender <> records.id_gender, false) as is_id_gender_contradicted,
        case
            when records.id_birth_year is not null and records.id_gender is not null
                then year(citizens.date_of_birth) = records.id_birth_year and citizens.gender = records.id_gender
        end as is_id_digits_citizen,
        coalesce(records.vaccinated_on >= citizens.deceased_first_seen_on, false) as is_dose_after_death_seen,
        coalesce(records.vaccinated_on <= citizens.alive_last_seen_on, false) as is_alive_at_dose
    from evidence_records as records
    inner join id_hits_unique on records.dose_record_key = id_hits_unique.dose_record_key
    inner join citizens on id_hits_unique.citizen_id = citizens.citizen_id
),

-- 2. name key + birth date (+ commune) candidates ---------------------------------------------------
name_candidates as (
    select
        records.dose_record_key,
        citizens.citizen_id,
        coalesce(records.link_commune_code = citizens.commune_code, false) as is_same_commune,
        (
            records.date_of_birth = citizens.date_of_birth
            and not records.is_dob_year_only and not citizens.is_birth_year_only
        ) as is_dob_exact,
        (records.full_name = citizens.full_name) as is_full_name_exact
    from records
    inner join citizens
        on records.name_key = citizens.name_key
        -- every branch of dob_compatible needs the same birth year: an equality the join can hash on
        and year(records.date_of_birth) = year(citizens.date_of_birth)
    where
        records.date_of_birth is not null
        and {{ dob_compatible('records.date_of_birth', 'records.is_dob_year_only', 'citizens.date_of_birth', 'citizens.is_birth_year_only') }}
        and coalesce(records.gender = citizens.gender, true)
),

name_summary as (
    select
        dose_record_key,
        count(*) filter (where is_same_commune) as commune_candidates,
        count(*) as province_candidates,
        count(*) filter (where is_same_commune and is_full_name_exact) as commune_exact_name_candidates,
        -- best candidate first: same commune, exact name with diacritics, exact birth date (then the smallest
        -- ID: one answer on a tie)
        min_by(
            citizen_id,
            ((not is_same_commune)::int, (not is_full_name_exact)::int, (not is_dob_exact)::int, citizen_id)
        ) as best_citizen_id,
        bool_or(is_dob_exact) filter (where is_same_commune) as is_commune_dob_exact,
        bool_or(is_dob_exact) as is_province_dob_exact,
        -- used only when it is the one such candidate (commune_exact_name_candidates = 1)
        any_value(citizen_id) filter (where is_same_commune and is_full_name_exact) as exact_name_citizen_id
    from name_candidates
    group by dose_record_key
),

-- 3. evidence across doses: whose phone it is --------------------------------------------------------
phone_owners as (
    -- phones on doses whose ID, name, birth date and gender agree with the citizen the ID names
    select records.phone, {{ set_agg('id_evidence.citizen_id') }} as owner_citizen_ids
    from evidence_records as records
    inner join id_evidence on records.dose_record_key = id_evidence.dose_record_key
    where records.phone is not null
        and id_evidence.is_name_agreed and id_evidence.is_dob_agreed and id_evidence.is_gender_agreed
    group by records.phone
),

-- 4. decide ------------------------------------------------------------------------------------------
joined as (
    select
        records.dose_record_key,
        records.source,
        records.source_record_id,
        records.id_class,
        records.is_dob_unparseable,
        records.is_dob_day_month_swapped,
        records.is_dob_year_only,
        records.is_admin_code_unknown,
        records.is_commune_district_mismatch,
        (year(records.date_of_birth) <> records.id_birth_year) as is_id_year_contradicted_any,
        (records.gender <> records.id_gender) as is_id_gender_contradicted_any,
        id_evidence.is_id_year_contradicted,
        id_evidence.is_id_gender_contradicted,
        id_evidence.is_id_digits_citizen,
        (
            array_contains(phone_owners.owner_citizen_ids, linked.linked_citizen_id)
            or linked_citizens.phone = records.phone
        ) as is_phone_for_linked,
        (
            array_contains(phone_owners.owner_citizen_ids, linked.second_citizen_id)
            or second_citizens.phone = records.phone
        ) as is_phone_for_second,
        -- (a phone without owners: null on DuckDB, false on Spark, whose size of null is -1; read as false below)
        cardinality({{ list_keep('phone_owners.owner_citizen_ids', 'owner', 'owner <> linked.linked_citizen_id') }}) > 0
            as is_phone_for_other,
        id_evidence.citizen_id as id_citizen_id,
        id_evidence.match_method as id_match_method,
        id_evidence.is_name_agreed,
        id_evidence.is_dob_agreed,
        id_evidence.is_dob_exact as is_id_dob_exact,
        id_evidence.is_gender_agreed,
        id_evidence.is_dob_near,
        id_evidence.is_name_close,
        linked.linked_citizen_id,
        linked.link_probability,
        linked.second_citizen_id,
        linked.second_probability,
        id_evidence.is_dose_before_birth,
        id_evidence.is_deceased,
        id_evidence.is_dose_after_death_seen,
        id_evidence.is_alive_at_dose,
        coalesce(name_summary.commune_candidates, 0) as commune_candidates,
        coalesce(name_summary.province_candidates, 0) as province_candidates,
        coalesce(name_summary.commune_exact_name_candidates, 0) as commune_exact_name_candidates,
        name_summary.best_citizen_id,
        name_summary.is_commune_dob_exact,
        name_summary.is_province_dob_exact,
        name_summary.exact_name_citizen_id
    from records
    left join id_evidence on records.dose_record_key = id_evidence.dose_record_key
    left join name_summary on records.dose_record_key = name_summary.dose_record_key
    left join linked on records.dose_record_key = linked.dose_record_key
    left join phone_owners on records.phone = phone_owners.phone
    left join citizens as linked_citizens on linked.linked_citizen_id = linked_citizens.citizen_id
    left join citizens as second_citizens on linked.second_citizen_id = second_citizens.citizen_id
),

deterministic as (
    -- what the name + birth date (+ commune) evidence alone says
    select
        *,
        case
            when commune_candidates = 1 then 'probable'
            when commune_candidates > 1 and commune_exact_name_candidates = 1 then 'probable'
            when commune_candidates > 1 then 'needs_review'
            when province_candidates = 1 and is_province_dob_exact then 'probable'
            when province_candidates >= 1 then 'needs_review'
            else 'unmatched'
        end as deterministic_status,
        case
            when commune_candidates = 1 then best_citizen_id
            when commune_candidates > 1 and commune_exact_name_candidates = 1 then exact_name_citizen_id
            when commune_candidates > 1 then best_citizen_id
            when province_candidates >= 1 then best_citizen_id
        end as deterministic_citizen_id,
        case
            when commune_candidates = 1 and is_commune_dob_exact then 0.9
            when commune_candidates = 1 then 0.8
            when commune_candidates > 1 and commune_exact_name_candidates = 1 then 0.75
            when commune_candidates > 1 then 0.5
            when province_candidates = 1 and is_province_dob_exact then 0.7
            when province_candidates >= 1 then 0.4
        end as deterministic_score
    from joined
),

link_evidence as (
    select
        *,
        -- a second candidate close to the best (twins, namesakes)
        (
            second_probability >= {{ var('linkage_ambiguity_probability') }}
            and link_probability - second_probability < {{ var('linkage_ambiguity_margin') }}
        ) as is_link_ambiguous,
        -- the phone is on the candidate's doses (or register entry), not on a close second candidate's
        (
            coalesce(is_phone_for_linked, false) and not coalesce(is_phone_for_second, false)
            and not coalesce(is_phone_for_other, false)
        ) as is_phone_supporting,
        -- the phone is only on another citizen's doses
        (not coalesce(is_phone_for_linked, false) and coalesce(is_phone_for_other, false)) as is_phone_contradicting
    from deterministic
),

fallback as (
    -- the probabilistic link (Splink) decides when it scored the record; the deterministic rules otherwise
    select
        *,
        case
            when linked_citizen_id is null then deterministic_status
            when link_probability >= {{ var('linkage_threshold') }}
                and not coalesce(is_link_ambiguous, false) and not is_phone_contradicting
                then 'probable'
            when link_probability >= {{ var('linkage_review_threshold') }}
                and not coalesce(is_link_ambiguous, false) and is_phone_supporting
                then 'probable'
            when link_probability >= {{ var('linkage_review_threshold') }} then 'needs_review'
            else 'unmatched'
        end as fallback_status,
        case
            when linked_citizen_id is null then deterministic_citizen_id
            when link_probability >= {{ var('linkage_review_threshold') }} then linked_citizen_id
        end as fallback_citizen_id,
        case
            when linked_citizen_id is null then deterministic_score
            when link_probability >= {{ var('linkage_review_threshold') }} then round(link_probability, 4)
        end as fallback_score
    from link_evidence
),

decided as (
    select
        *,
        (id_citizen_id is not null and not is_name_agreed and not coalesce(is_dob_agreed, false)) as is_identity_conflict,
        (
            id_citizen_id is not null
            and (is_dose_before_birth or (is_dose_after_death_seen and not is_alive_at_dose))
        ) as is_life_conflict
    from fallback
),

final as (
    select
        dose_record_key,
        source,
        source_record_id,
        case
            when id_citizen_id is null then fallback_status
            when is_identity_conflict and fallback_status = 'probable' and fallback_citizen_id <> id_citizen_id
                then 'probable'
            when is_life_conflict or is_identity_conflict then 'needs_review'
            when {{ id_detail_typo_proven }} then 'corrected'
            when not is_name_agreed or is_dob_agreed = false or not is_gender_agreed then 'needs_review'
            when id_match_method in ('id_repaired', 'old_id_repaired') then 'corrected'
            else 'verified'
        end as match_status,
        case
            when id_citizen_id is null then fallback_citizen_id
            when is_identity_conflict and fallback_status = 'probable' and fallback_citizen_id <> id_citizen_id
                then fallback_citizen_id
            else id_citizen_id
        end as candidate_citizen_id,
        case
            when id_citizen_id is null then fallback_score
            when is_identity_conflict and fallback_status = 'probable' and fallback_citizen_id <> id_citizen_id
                then fallback_score * 0.9
            when is_identity_conflict then 0.2
            when is_life_conflict then 0.5
            when {{ id_detail_typo_proven }} then 0.9
            when not is_name_agreed or is_dob_agreed = false or not is_gender_agreed then 0.6
            else round(
                1.0
                - case when id_match_method in ('id_repaired', 'old_id_repaired') then 0.03 else 0 end
                - case when is_dob_agreed is null then 0.1 when not is_id_dob_exact then 0.03 else 0 end,
                2
            )
        end as candidate_score,
        case
            when id_citizen_id is null then
                case
                    when linked_citizen_id is not null and fallback_citizen_id is not null then 'probabilistic'
                    when fallback_status = 'probable' then
                        case when commune_candidates >= 1 then 'name_dob_commune' else 'name_dob_province' end
                    else 'none'
                end
            when is_identity_conflict and fallback_status = 'probable' and fallback_citizen_id <> id_citizen_id
                then case when linked_citizen_id is not null then 'probabilistic' else 'name_dob_commune' end
            else id_match_method
        end as match_method,
        {%- set issue_codes %}
                case when id_class = 'missing' then 'missing_id' end,
                case when id_class = 'invalid' then 'bad_id_format' end,
                case when id_class in ('cccd12', 'cmnd9', 'cccd12_lost_zero', 'cmnd9_lost_zero') and id_citizen_id is null
                    then 'id_not_in_population' end,
                case when id_class in ('cccd12_lost_zero', 'cmnd9_lost_zero') then 'id_leading_zero_lost' end,
                case when is_id_year_contradicted_any then 'id_birth_year_mismatch' end,
                case when is_id_gender_contradicted_any then 'id_gender_mismatch' end,
                case when id_match_method in ('id', 'id_repaired') and not is_id_digits_citizen
                    then 'id_citizen_mismatch' end,
                case when is_admin_code_unknown then 'unknown_admin_code' end,
                case when is_commune_district_mismatch then 'commune_district_mismatch' end,
                case when linked_citizen_id is not null and fallback_citizen_id = linked_citizen_id
                    and is_phone_contradicting then 'phone_of_other_citizen' end,
                case when linked_citizen_id is not null and fallback_citizen_id = linked_citizen_id
                    and is_phone_supporting and link_probability < {{ var('linkage_threshold') }}
                    then 'phone_supports_candidate' end,
                case when id_class in ('cmnd9', 'cmnd9_lost_zero') then 'old_id_number' end,
                case when is_dob_unparseable then 'unparseable_dob' end,
                case when is_dob_day_month_swapped then 'dob_day_month_swapped' end,
                case when id_citizen_id is not null and not is_name_agreed then 'name_mismatch' end,
                case when id_citizen_id is not null and is_dob_agreed = false then 'dob_mismatch' end,
                case when id_citizen_id is not null and not is_gender_agreed then 'gender_mismatch' end,
                case when is_identity_conflict or (is_dose_after_death_seen and not is_alive_at_dose)
                    then 'suspected_borrowed_identity' end,
                case when id_citizen_id is not null and is_deceased and not is_alive_at_dose then 'citizen_deceased' end,
                case when is_dose_before_birth then 'dose_before_birth' end,
                case when id_citizen_id is null and linked_citizen_id is null and commune_candidates > 1
                    and commune_exact_name_candidates <> 1 then 'ambiguous_candidates' end,
                case when id_citizen_id is null and linked_citizen_id is null and commune_candidates = 0
                    and province_candidates > 1 then 'ambiguous_candidates' end,
                case when linked_citizen_id is not null and is_link_ambiguous then 'ambiguous_candidates' end,
                case when id_citizen_id is null and commune_candidates = 0 and province_candidates >= 1
                    then 'commune_mismatch' end
        {%- endset %}
        {{ present_codes(issue_codes) }} as issues
    from decided
)

select
    dose_record_key,
    source,
    source_record_id,
    case when match_status in ('verified', 'corrected', 'probable') then candidate_citizen_id end as citizen_id,
    match_status,
    cast(case when match_status in ('verified', 'corrected', 'probable') then candidate_score end as double) as match_score,
    match_method,
    candidate_citizen_id,
    cast(candidate_score as double) as candidate_score,
    issues
from final
