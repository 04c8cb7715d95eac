{#-
  The same dose received more than once (keyed in offline and again on the platform, or a batch
  delivered twice under another file name): records of the same person (the same credited citizen,
  the same ID, or the same name key + birth date) with the same vaccine family and dates at most
  var('duplicate_window_days') apart. Two records credited to different citizens, or carrying
  IDs more than one typo apart, are never duplicates. Of a group the best record is kept: credited first; then, with
  var('duplicate_prefer_signed_platform') (default), the signed platform record, else the original (a
  site batch row before its re-keyed platform copy); then the earliest; the others
  point at it and are never counted (the kept record inherits their signature, int_dose_records_sequenced).
  A record pairs with its better partner; a group linked through pairs (A-B, B-C but not A-C) keeps one
  record: every duplicate points at the end of its chain of better partners.
  Incremental by scope R2 (int_dose_scopes_paired, macros/dose_chain.sql): the records of the scope are
  paired with every record that shares a pairing key with one of them (the others cannot pair); a record
  outside it has the same pairs and preferences as before.
-#}
with

-- this build's scope R2 (empty on a full build, which derives every record)
scope as (
    select dose_record_key from {{ ref('int_dose_scopes_paired') }}
),

records as (
    select * from {{ ref('int_dose_records_unioned') }}
),

verified as (
    select * from {{ ref('int_dose_records_verified') }}
),

{%- set candidate_columns %}
        records.dose_record_key,
        records.source,
        records.source_record_id,
        records.vaccine_family,
        records.vaccinated_on,
        records.id_candidate,
        records.name_key,
        records.date_of_birth,
        records.is_signed,
        records.received_at,
        verified.citizen_id
{%- endset %}
{% if is_incremental() %}
-- the scope's records, and the records that can pair with them (sharing a citizen, an ID or a name key +
-- birth date): only those are joined and compared (not every record of the province)
candidates as (
    select {{ candidate_columns }}
    from (select * from records where {{ in_dose_scope('scope') }}) as records
    inner join (select * from verified where {{ in_dose_scope('scope') }}) as verified
        on records.dose_record_key = verified.dose_record_key
),

partner_keys as (
    select dose_record_key from verified where citizen_id in (select citizen_id from candidates)
    union
    select dose_record_key from records where id_candidate in (select id_candidate from candidates)
    union
    select records.dose_record_key from records
    semi join candidates on records.name_key = candidates.name_key and records.date_of_birth = candidates.date_of_birth
),

all_candidates as (
    select {{ candidate_columns }}
    from (select * from records where dose_record_key in (select dose_record_key from partner_keys)) as records
    inner join (select * from verified where dose_record_key in (select dose_record_key from partner_keys)) as verified
        on records.dose_record_key = verified.dose_record_key
),
{% else %}
all_candidates as (
    select {{ candidate_columns }}
    from records
    inner join verified on records.dose_record_key = verified.dose_record_key
),

candidates as (
    select * from all_candidates
),
{% endif %}

pairs as (
    select a.dose_record_key, b.dose_record_key as other_key
    from candidates as a
    inner join all_candidates as b on a.citizen_id = b.citizen_id and a.vaccine_family = b.vaccine_family
    where a.dose_record_key <> b.dose_record_key
        and abs({{ days_between('a.vaccinated_on', 'b.vaccinated_on') }}) <= {{ var('duplicate_window_days') }}
    union
    select a.dose_record_key, b.dose_record_key
    from candidates as a
    inner join all_candidates as b on a.id_candidate = b.id_candidate and a.vaccine_family = b.vaccine_family
    where a.dose_record_key <> b.dose_record_key
        and abs({{ days_between('a.vaccinated_on', 'b.vaccinated_on') }}) <= {{ var('duplicate_window_days') }}
        and not (a.citizen_id is not null and b.citizen_id is not null and a.citizen_id <> b.citizen_id)
    union
    select a.dose_record_key, b.dose_record_key
    from candidates as a
    inner join all_candidates as b
        on a.name_key = b.name_key and a.date_of_birth = b.date_of_birth and a.vaccine_family = b.vaccine_family
    where a.dose_record_key <> b.dose_record_key
        and abs({{ days_between('a.vaccinated_on', 'b.vaccinated_on') }}) <= {{ var('duplicate_window_days') }}
        and not (a.citizen_id is not null and b.citizen_id is not null and a.citizen_id <> b.citizen_id)
        -- IDs one typo apart do not contradict the same name + birth date (a typo on one copy)
        and not (
            a.id_candidate is not null and b.id_candidate is not null
            and levenshtein(a.id_candidate, b.id_candidate) > 1
        )
),

paired as (
    select dose_record_key from pairs
    union
    select other_key from pairs
),

preferences as (
    -- preference, lower is better; only the order within a pair matters, so only paired records are ranked
    select
        candidates.dose_record_key,
        row_number() over (
            order by
                (candidates.citizen_id is null)::int,
                {%- if var('duplicate_prefer_signed_platform') %}
                (not candidates.is_signed)::int,
                (candidates.source <> 'platform')::int,
                {%- else %}
                (candidates.source <> 'site_batch')::int,
                {%- endif %}
                -- (a time not known comes after every known one)
                candidates.vaccinated_on nulls last,
                candidates.received_at nulls last,
                candidates.dose_record_key
        ) as preference
    from all_candidates as candidates
    semi join paired on candidates.dose_record_key = paired.dose_record_key
),

originals as (
    select
        pairs.dose_record_key,
        min_by(pairs.other_key, other.preference) as original_key
    from pairs
    inner join preferences as this on pairs.dose_record_key = this.dose_record_key
    inner join preferences as other on pairs.other_key = other.dose_record_key
    where other.preference < this.preference
    group by pairs.dose_record_key
),

-- pairs are not transitive (A-B and B-C one ID typo apart, A-C two): a record's best partner can be a
-- duplicate itself. Each duplicate points at the end of its chain of originals, the group's kept record
-- (preferences fall along a chain: it ends). Outside the scope the table holds chains already resolved.
next_originals as (
    select dose_record_key, original_key from originals
    {%- if is_incremental() %}
    union all
    -- the duplicates outside the scope, as the previous build resolved them (the scope's are re-derived)
    select dose_record_key, original_key
    from {{ this }}
    where is_duplicate and dose_record_key not in (select dose_record_key from scope)
    {%- endif %}
),

kept as (
    select dose_record_key, max_by(original_key, hops) as original_key
    from (
        with recursive chain (dose_record_key, original_key, hops) as (
            select dose_record_key, original_key, 1 from originals
            union all
            select chain.dose_record_key, next_originals.original_key, chain.hops + 1
            from chain
            inner join next_originals on chain.original_key = next_originals.dose_record_key
            where chain.hops < 64
        )
        select * from chain
    )
    group by dose_record_key
),

final as (
    select
        candidates.dose_record_key,
        candidates.source,
        candidates.source_record_id,
        kept.original_key is not null as is_duplicate,
        split_part(kept.original_key, '/', 1) as duplicate_of_source,
        nullif(substr(kept.original_key, instr(kept.original_key, '/') + 1), '') as duplicate_of_record_id,
        -- the kept record's dose_record_key (null: not a duplicate), as the chain keys records
        kept.original_key
    from candidates
    left join kept on candidates.dose_record_key = kept.dose_record_key
)

select * from final
