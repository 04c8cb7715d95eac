{#-
  How the dose chain builds incrementally (docs/architecture.md has the picture).

  A build either re-derives every dose record (full) or continues the previous build: then it re-derives
  only the records whose result can have changed, its *scope*, and keeps every other row. vaxclean.build
  decides which, once, and says so in the build record: `--vars '{"build": {"incremental": true}}'`. The
  chain's incremental models take `full_refresh` from it (dbt_project.yml), so dbt's is_incremental() means
  exactly "this build continues the previous one"; a plain `dbt build` without the record is a full build.

  The scopes widen along the chain, each closed under what the next model reads across records:
    int_dose_scopes_changed    R0  records new, changed (received_at) or gone since the last build
    int_dose_scopes_matched    R1  R0 + the records sharing a phone whose evidence can differ
    int_dose_scopes_paired     R2  R1 + the records sharing a credited citizen, an ID or a name key + birth date
    int_dose_scopes_sequenced  R4  R2 + originals and duplicates + every record of their citizens
    int_dose_scopes_credited       the citizens R4's records are credited to, before or now
  What they need from the previous build (its keys, phones, citizens, counts) is the chain state
  (int_dose_chain_state), which the scopes read as the source `previous_build.dose_chain_state`.

  A model of the chain declares its scope in its YAML and is materialized with the strategy `dose_scope`:
      config:
        materialized: incremental
        incremental_strategy: dose_scope
        meta: {dose_scope: {scope: int_dose_scopes_matched, key: dose_record_key, scope_key: dose_record_key}}
  (key: the SQL of a row's key in the model; scope_key: the scope model's column; both default to
  dose_record_key). The strategy deletes the scope's rows, inserts what the select computed for the scope
  and keeps those rows in <intermediate>.<model>__rederived: the next models of the same scope, the data
  tests, the gates and the publisher read that small table instead of filtering millions of rows. A view
  that is a row-for-row projection of a scoped model declares `meta: {dose_scope_projection_of: <model>,
  dose_scope_key: <SQL of a row's key in the view>}`.
  The kept rows are this run's: every dbt run starts by dropping them (on-run-start).

  The previous build's state is read and written in the same run: every model that reads the source
  `previous_build` must run before the model that writes it (tests/dbt/test_dbt_build.py checks that each
  reader is upstream of its writer).
-#}

{#- True when this build continues the previous one (the build record; see above). For the chain's tables
    that are not incremental (the scope models): an incremental model asks is_incremental(). -#}
{% macro dose_chain_is_incremental() -%}
    {{ return(adapter.dispatch('dose_chain_is_incremental', 'vaxclean')()) }}
{%- endmacro %}

{% macro default__dose_chain_is_incremental() -%}
    {{ return(var('build', {}).get('incremental', false)) }}
{%- endmacro %}

{#- a Spark build is full (macros/engine/full_builds.sql) -#}
{% macro spark__dose_chain_is_incremental() -%}
    {{ return(false) }}
{%- endmacro %}


{#- SQL, one row: extracted_until, the newest platform extraction the previous build had (from its chain
    state; naive UTC; none: the year 1, every version is newer: '-infinity' is DuckDB's alone). Joined (not a
    scalar subquery) so that a scan filtered by it skips the row groups extracted before it. -#}
{% macro previous_extraction_watermark() -%}
    select coalesce(max(extracted_at), timestamp '0001-01-01 00:00:00') as extracted_until
    from {{ source('previous_build', 'dose_chain_state') }}
{%- endmacro %}


{#- What a dose record contributes to the phone evidence of int_dose_records_matched (phone_owners: the
    citizen its ID names when name, birth date and gender agree) is a function of these columns and the
    population: the records sharing a phone with a record whose hash changed are re-derived (R1). Keep
    in step with phone_owners / id_evidence there. -#}
{% macro phone_evidence_hash(alias) -%}
    {{ fingerprint([alias ~ '.phone', alias ~ '.id_candidate', alias ~ '.id_class', alias ~ '.name_key',
                    alias ~ '.date_of_birth', alias ~ '.is_dob_year_only', alias ~ '.gender']) }}
{%- endmacro %}


{#- `key_sql` is in the scope table `scope` (its column `scope_key`). -#}
{% macro dose_scope_condition(scope, key_sql='dose_record_key', scope_key='dose_record_key') -%}
    {{ key_sql }} in (select {{ scope_key }} from {{ scope }})
{%- endmacro %}


{#- Inside a scoped model's select: the rows of the scope (every row on a full build). -#}
{% macro in_dose_scope(scope_model, key_sql='dose_record_key') -%}
    {%- if is_incremental() -%}
        {{ dose_scope_condition(scope_model, key_sql) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- A table of the intermediate schema by name: where a model's kept rows are. -#}
{% macro dose_chain_kept_relation(model) -%}
    {{ return(api.Relation.create(database=target.database, schema=generate_schema_name('intermediate', none),
                                  identifier=model.identifier ~ '__rederived')) }}
{%- endmacro %}


{#- The relation of the model named `name` (from the graph: a strategy or a test cannot call ref() for a
    model its node does not ref). A scoped model's scope is built before it: it refs the scope, or a model
    built from it (int_dose_records_linked: int_dose_records_scored). -#}
{% macro dose_chain_model_relation(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no model named " ~ name) }}
{%- endmacro %}


{#- The declared scope of the model whose table is `relation` ({'scope', 'key', 'scope_key'} from its meta;
    a projection view gets its model's scope and `projection_of`), or none. -#}
{% macro dose_scope_of(relation) -%}
    {%- set identifier = relation.identifier if relation is not string else none -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == identifier -%}
        {%- set meta = node.config.meta or {} -%}
        {%- if meta.get('dose_scope') -%}
            {{ return(meta['dose_scope']) }}
        {%- elif meta.get('dose_scope_projection_of') -%}
            {%- set of = meta['dose_scope_projection_of'] -%}
            {%- for upstream in graph.nodes.values() if upstream.resource_type == 'model' and upstream.name == of -%}
                {{ return(dict(upstream.config.meta['dose_scope'], projection_of=upstream.alias,
                               key=meta.get('dose_scope_key', 'dose_record_key'))) }}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}


{#- The rows `model` kept in this run (its relation), or none: a full build, or no kept table (a later
    `dbt test` run: every run starts by dropping them). Asked by a query: a table made by the strategy's
    SQL is not in dbt's relation cache. -#}
{% macro dose_chain_kept_rows(model) -%}
    {%- if not execute or not dose_chain_is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kept = dose_chain_kept_relation(model) -%}
    {%- set present = run_query("select " ~ table_exists_sql(kept)).columns[0].values()[0] -%}
    {{ return(kept if present else none) }}
{%- endmacro %}


{#- SQL: whether the table `relation` exists now (asked by a query: a table a hook or a strategy made is not
    in dbt's relation cache). -#}
{% macro table_exists_sql(relation) -%}
    exists (select 1 from duckdb_tables() where database_name = '{{ relation.database }}'
            and schema_name = '{{ relation.schema }}' and table_name = '{{ relation.identifier }}')
{%- endmacro %}


{#- The rows of `model`, an earlier scoped model, of scope `scope_model`, as this build re-derived them: its
    kept rows, else the model filtered by the scope. An incremental model reads them only when it is
    incremental itself (every row when it is built whole); a scope model (a table) always reads the scope's
    rows (none on a full build: the scopes are empty). -#}
{% macro dose_scope_rows(model, scope_model, key_sql='dose_record_key') -%}
    {%- set scoped = is_incremental() if config.get('materialized') == 'incremental' else true -%}
    {%- set kept = dose_chain_kept_rows(model) if scoped else none -%}
    {%- if kept is not none -%}
        {{ kept }}
    {%- elif scoped -%}
        (select * from {{ model }} where {{ dose_scope_condition(scope_model, key_sql) }})
    {%- else -%}
        {{ model }}
    {%- endif -%}
{%- endmacro %}


{#-
  The incremental strategy of the scoped models (see above): replace the scope's rows by those the select
  computed, and keep them in <model>__rederived for the rest of this run and the gates and publisher after
  it. The scope and keys come from the model's meta `dose_scope`.
-#}
{% macro get_incremental_dose_scope_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set declared = config.require('meta')['dose_scope'] -%}
    {%- set scope = dose_chain_model_relation(declared['scope']) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ dose_scope_condition(scope, declared.get('key', 'dose_record_key'), declared.get('scope_key', 'dose_record_key')) }};
    create or replace table {{ dose_chain_kept_relation(target) }} as select {{ columns }} from {{ arg_dict['temp_relation'] }};
    insert into {{ target }} ({{ columns }}) select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#- on-run-start: the kept rows belong to the run that made them (see above). A Spark build is full: it keeps
    none (macros/engine/full_builds.sql). -#}
{% macro drop_rederived_rows() -%}
    {{ return(adapter.dispatch('drop_rederived_rows', 'vaxclean')()) }}
{%- endmacro %}

{% macro spark__drop_rederived_rows() -%}
{%- endmacro %}

{% macro default__drop_rederived_rows() -%}
    {%- if execute -%}
        {%- set schema = generate_schema_name('intermediate', none) -%}
        {%- set kept = run_query("select table_name from duckdb_tables() where database_name = '" ~ target.database
                                 ~ "' and schema_name = '" ~ schema ~ "' and suffix(table_name, '__rederived')") -%}
        {%- for name in kept.columns[0].values() -%}
            drop table if exists {{ api.Relation.create(database=target.database, schema=schema, identifier=name) }};
        {% endfor -%}
    {%- endif -%}
{%- endmacro %}


{#-
  Data tests of the scoped models on an incremental build check the rows the build re-derived (all rows of
  those keys: a duplicate of a re-derived key is seen), not again the millions of rows that did not change
  and passed before. dbt's generic tests read their model through get_where_subquery: this reads the
  model's kept rows (a projection view: its model's kept rows, as the view's columns) or filters it by its
  declared scope; nothing changes for the other models or on a full build.
-#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- set base = dbt.default__get_where_subquery(relation) -%}
    {%- if relation is not string and relation.identifier == 'stg_platform__immunizations' -%}
        {{ return(platform_staging_rederived(relation, base)) }}  {#- macros/platform_staging.sql -#}
    {%- endif -%}
    {%- set declared = dose_scope_of(relation) if execute and dose_chain_is_incremental() else none -%}
    {%- if declared is none -%}
        {{ return(base) }}
    {%- endif -%}
    {%- set projection_of = declared.get('projection_of') -%}
    {%- set kept = dose_chain_kept_rows(api.Relation.create(identifier=projection_of) if projection_of else relation) -%}
    {%- set scoped -%}
        {%- if kept is not none and projection_of -%}
        (select {{ adapter.get_columns_in_relation(relation) | map(attribute='quoted') | join(', ') }} from {{ kept }}) dbt_scoped
        {%- elif kept is not none -%}
        (select * from {{ kept }}) dbt_scoped
        {%- else -%}
        (select * from {{ base }} where {{ dose_scope_condition(dose_chain_model_relation(declared['scope']), declared.get('key', 'dose_record_key'), declared.get('scope_key', 'dose_record_key')) }}) dbt_scoped
        {%- endif -%}
    {%- endset -%}
    {{ return(scoped) }}
{%- endmacro %}


{#-
  The incremental strategy of a table of counts (incremental_strategy='count_delta'; unique_key: the
  columns that key a count, nulls included; count_column: the count): the select returns the new value of
  every count it touches; those rows replace the target's rows of the same key (compared null-safe: a
  record without a commune is counted too), and a count that reached zero is dropped.
  int_dose_counts_aggregated.
-#}
{% macro get_incremental_count_delta_sql(arg_dict) -%}
    {%- set target, source = arg_dict['target_relation'], arg_dict['temp_relation'] -%}
    {%- set keys = arg_dict['unique_key'] if arg_dict['unique_key'] is not string else [arg_dict['unique_key']] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where row({{ keys | join(', ') }}) in (select row({{ keys | join(', ') }}) from {{ source }});
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }} where {{ config.require('count_column') }} <> 0
{%- endmacro %}
