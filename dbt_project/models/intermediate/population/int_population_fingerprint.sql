{#- One row: the population the dose chain matches against, as rows + an order-free sum of row hashes of
    stg_population__citizens. int_dose_builds_planned compares it with the previous build's (a new
    population makes the chain re-derive every record). A table of the population alone: vaxclean.build
    does not rebuild it while the population is unchanged (MARTS_INPUTS), so an incremental build does not
    hash 1.3 M citizens. -#}
select count(*) || ':' || coalesce(sum(hash(citizens))::hugeint, 0) as population_fingerprint
from {{ ref('stg_population__citizens') }} as citizens
