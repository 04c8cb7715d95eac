{#-
  One row: how this build of the dose chain runs (macros/dose_chain.sql), for the scope models, the
  Python model int_dose_records_scored (no Jinja to ask) and the scoped data tests.
    has_previous_build: dbt runs incrementally (no --full-refresh) and the previous build's
      int_dose_records_sequenced is there;
    is_incremental: that, and the population is the one the previous build matched against (the scopes
      do not follow a new snapshot: every match can change). Otherwise an incremental dbt run re-derives
      every record (scope = all), which equals a full build; vaxclean.build passes --full-refresh then.
  population_fingerprint: rows + an order-free sum of row hashes of stg_population__citizens
    (int_population_fingerprint).
  platform_extracted_until: the newest platform extraction staged when this build ran;
    previous_platform_extracted_until: the previous build's (int_dose_scopes_changed reads the platform
    records extracted since; null: it compares every record with the previous build).
-#}
{%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier)
    if execute else none %}
with

population as (
    select population_fingerprint from {{ ref('int_population_fingerprint') }}
),

platform as (
    -- the newest platform extraction the staging had when this build ran: the next build's R0 starts there
    select max(last_extracted_at) as platform_extracted_until from {{ ref('stg_platform__immunizations') }}
),

plan as (
    select
        {{ 'true' if dose_chain_is_incremental() else 'false' }} as has_previous_build,
        population.population_fingerprint,
        {%- if previous is not none and dose_chain_is_incremental() %}
        coalesce(
            population.population_fingerprint = (select any_value(population_fingerprint) from {{ previous }}),
            false
        ) as is_population_unchanged
        {%- else %}
        false as is_population_unchanged
        {%- endif %}
    from population
)

{%- set previous_columns = adapter.get_columns_in_relation(previous) | map(attribute='name') | list
    if previous is not none else [] %}
select
    plan.has_previous_build,
    plan.has_previous_build and plan.is_population_unchanged as is_incremental,
    plan.population_fingerprint,
    platform.platform_extracted_until,
    {%- if 'platform_extracted_until' in previous_columns and dose_chain_is_incremental() %}
    (select any_value(platform_extracted_until) from {{ previous }}) as previous_platform_extracted_until
    {%- else %}
    null::timestamp as previous_platform_extracted_until
    {%- endif %}
from plan
cross join platform
