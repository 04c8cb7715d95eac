{#-
  The vaccination sites as the pipeline sees them, for the data team's review: each site's kind with the
  evidence and confidence it was decided on (int_vaccination_sites_classified). A site whose kind or commune is
  wrong is fixed by a row in the seed ref_vaccination_site_registry; a low confidence or
  has_conflicting_evidence says where to look first. No personal data: shares and counts, and the
  employer name most of a site's people report.
-#}
with

sites as (
    select * from {{ ref('int_vaccination_sites_classified') }}
),

final as (
    select
        site_code,
        site_name,
        site_kind,
        kind_source,
        confidence,
        has_conflicting_evidence,
        evidence,
        name_kind,
        name_keyword,
        profile_kind,
        province_code,
        district_code,
        commune_code,
        commune_source,
        dose_records,
        offline_share,
        working_age_share,
        minor_share,
        elderly_share,
        top_workplace,
        top_workplace_share,
        top_commune_share,
        communes_served
    from sites
)

select * from final
