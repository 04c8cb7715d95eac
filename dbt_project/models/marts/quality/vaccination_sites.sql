{#-
  The vaccination sites as the pipeline sees them, for the data team's review: each site's kind with the
  evidence and confidence it was decided on (int_vaccination_sites_classified). A site whose kind or commune is
  wrong is fixed by a row in the seed ref_vaccination_site_registry; a low confidence or
  has_conflicting_evidence says where to look first. No personal data: shares and counts, and the
  employer name most of a site's people report (only when it names an employer).
-#}
with

sites as (
    select * from {{ ref('int_vaccination_sites_classified') }}
),

final as (
    select
        cast(site_code as string) as site_code,
        cast(site_name as string) as site_name,
        cast(site_kind as string) as site_kind,
        cast(kind_source as string) as kind_source,
        cast(confidence as double) as confidence,
        cast(has_conflicting_evidence as boolean) as has_conflicting_evidence,
        cast(evidence as {{ string_list_type() }}) as evidence,
        cast(name_kind as string) as name_kind,
        cast(name_keyword as string) as name_keyword,
        cast(profile_kind as string) as profile_kind,
        cast(province_code as string) as province_code,
        cast(district_code as string) as district_code,
        cast(commune_code as string) as commune_code,
        cast(commune_source as string) as commune_source,
        cast(dose_records as bigint) as dose_records,
        cast(offline_share as double) as offline_share,
        cast(working_age_share as double) as working_age_share,
        cast(minor_share as double) as minor_share,
        cast(elderly_share as double) as elderly_share,
        cast(top_workplace as string) as top_workplace,
        cast(top_workplace_share as double) as top_workplace_share,
        cast(top_commune_share as double) as top_commune_share,
        cast(communes_served as bigint) as communes_served
    from sites
)

select * from final
