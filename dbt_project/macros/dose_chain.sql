{#-
  The dose chain (int_dose_records_* -> dose_reconciliation, person_vaccination, commune_worklist) is built
  incrementally by *scope*: a run re-derives only the dose records whose result can have changed, and
  the rows of everything else stay as they are. The scopes widen along the chain, each one closed under
  what the next model reads across records (docs/scaling.md, "Incremental builds"):

    int_dose_scopes_changed    R0  records new, changed (received_at) or gone since the last build
    int_dose_scopes_matched    R1  R0 + the records sharing a phone (old or new) with a record of R0 whose
                                   phone evidence can differ (phone_evidence_hash: new, gone, changed)
    int_dose_scopes_paired     R2  R1 + the records sharing a credited citizen, an ID or a name key + birth
                                   date with R1 (old or new values): duplicate pairs; + the records whose
                                   kept record (original_key) is one of those
    int_dose_scopes_sequenced  R4  R2 + the originals of R2 (old and new) + every record of the citizens
                                   of those (old and new): borrowed-identity signals and dose sequences
    int_dose_scopes_credited       the citizens R4's records are credited to, before or now

  The old values come from int_dose_records_sequenced, the last chain model, as the previous build left
  it (read by name, not ref: it is downstream; the scopes are computed before it is updated). Each scoped model deletes its scope's rows
  (pre-hook `delete_dose_scope`) and appends what its select computes for the scope (its incremental
  strategy `dose_scope`, which also keeps those rows in <model>__rederived for the next models of the
  same scope, the tests and the gates: get_incremental_dose_scope_sql).

  The chain is incremental when dbt is (no --full-refresh) and int_dose_records_sequenced exists; a change of
  the population, the police returns, the seeds or the code makes vaxclean.build run it with
  --full-refresh (the scopes assume those inputs unchanged).
-#}

{#- A table of the intermediate schema by name (the chain reads some without ref: see above). -#}
{% macro dose_chain_relation(identifier) -%}
    {{ return(api.Relation.create(database=target.database, schema=generate_schema_name('intermediate', none),
                                  identifier=identifier)) }}
{%- endmacro %}


{#- int_dose_records_sequenced as the previous build left it, or none. -#}
{% macro dose_chain_state_relation() -%}
    {%- set state = dose_chain_relation('int_dose_records_sequenced') -%}
    {{ return(adapter.get_relation(database=state.database, schema=state.schema, identifier=state.identifier)) }}
{%- endmacro %}


{#- What a dose record contributes to the phone evidence of int_dose_records_matched (phone_owners: the
    citizen its ID names when name, birth date and gender agree) is a function of these columns and the
    population: the records sharing a phone with a record whose hash changed are re-derived (R1). Keep
    in step with phone_owners / id_evidence there. -#}
{% macro phone_evidence_hash(alias) -%}
    hash({{ alias }}.phone, {{ alias }}.id_candidate, {{ alias }}.id_class, {{ alias }}.name_key,
         {{ alias }}.date_of_birth, {{ alias }}.is_dob_year_only, {{ alias }}.gender)
{%- endmacro %}


{#- `key_sql` is in the scope table `scope` (its column `scope_key`). -#}
{% macro dose_scope_condition(scope, key_sql='dose_record_key', scope_key='dose_record_key') -%}
    {{ key_sql }} in (select {{ scope_key }} from {{ scope }})
{%- endmacro %}


{#- True when the scope models compute scopes: an incremental run with the previous build's keys at hand. -#}
{% macro dose_chain_is_incremental() -%}
    {{ return(execute and not flags.FULL_REFRESH and dose_chain_state_relation() is not none) }}
{%- endmacro %}


{#- Pre-hook of a scoped model: drop the scope's rows (they are recomputed by the select). `key_sql` is the
    dose_record_key of a row of this model. -#}
{% macro delete_dose_scope(scope_model, key_sql='dose_record_key') -%}
    {%- if is_incremental() -%}
        {%- if dose_chain_state_relation() is none -%}
            {{ exceptions.raise_compiler_error(
                this ~ " is incremental but int_dose_records_sequenced is missing: run the marts with --full-refresh") }}
        {%- endif -%}
        delete from {{ this }} where {{ dose_scope_condition(scope_model, key_sql) }}
    {%- else -%}
        drop table if exists {{ dose_chain_kept_relation(this) }}
    {%- endif -%}
{%- endmacro %}


{#- Inside a scoped model's select: keep the rows of the scope (incremental runs only). -#}
{% macro in_dose_scope(scope_model, key_sql='dose_record_key') -%}
    {%- if is_incremental() -%}
        {{ dose_scope_condition(scope_model, key_sql) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of a model with one row per citizen: drop the rows of the citizens R4 touches. -#}
{% macro delete_citizen_scope() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ dose_scope_condition(ref('int_dose_scopes_credited'), 'citizen_id', 'citizen_id') }}
    {%- else -%}
        drop table if exists {{ dose_chain_kept_relation(this) }}
    {%- endif -%}
{%- endmacro %}


{#- Whether this build of the chain is incremental, as int_dose_builds_planned says: read at run time (a
    test or a hook runs after the plan); false before any plan exists. The scoped tests and the kept
    re-derived rows decide by it alike. -#}
{% macro dose_chain_plan_is_incremental() -%}
    {%- set plan = dose_chain_plan_relation() -%}
    {%- if plan is none -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(run_query('select ' ~ dose_chain_plan_incremental_sql(plan)).columns[0].values()[0]) }}
{%- endmacro %}


{#- int_dose_builds_planned when it exists and dbt executes, else none. -#}
{% macro dose_chain_plan_relation() -%}
    {%- set plan = dose_chain_relation('int_dose_builds_planned') -%}
    {%- if not execute or adapter.get_relation(database=plan.database, schema=plan.schema,
                                               identifier=plan.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}


{#- SQL: whether the plan `plan` says incremental. -#}
{% macro dose_chain_plan_incremental_sql(plan) -%}
    (select coalesce(bool_or(is_incremental), false) from {{ plan }})
{%- endmacro %}


{#- SQL: whether the table `relation` exists now (asked by a query: a table a hook or a strategy made is not
    in dbt's relation cache). -#}
{% macro table_exists_sql(relation) -%}
    exists (select 1 from duckdb_tables() where database_name = '{{ relation.database }}'
            and schema_name = '{{ relation.schema }}' and table_name = '{{ relation.identifier }}')
{%- endmacro %}


{#- (is_incremental, previous_platform_extracted_until as text or none, has_previous_build) of this build's
    plan (int_dose_builds_planned), read when the calling model compiles (after the plan is built). -#}
{% macro dose_chain_plan_row() -%}
    {{ return(run_query("select is_incremental, previous_platform_extracted_until::varchar, has_previous_build from "
                        ~ dose_chain_relation('int_dose_builds_planned')).rows[0]) }}
{%- endmacro %}


{#- Where a scoped model keeps the rows it re-derived (<intermediate>.<model>__rederived). -#}
{% macro dose_chain_kept_relation(model) -%}
    {{ return(dose_chain_relation(model.identifier ~ '__rederived')) }}
{%- endmacro %}


{#-
  The incremental strategy of the scoped models (incremental_strategy='dose_scope'): append the scope's
  rows (the pre-hook deleted the old ones) and, on an incremental build of the chain, keep them once in
  <intermediate>.<model>__rederived. The next models of the same scope (dose_scope_rows), the model's data
  tests (duckdb__get_where_subquery), the marts gate and the publisher's patch read that small table: a
  filter of the 3.2 M-row table by the scope decodes its whole columns (~0.3-0.6 s a read at 1.3 M
  residents) whatever the size of the scope. A build that is not incremental drops it (the pre-hooks
  delete_dose_scope / delete_citizen_scope, or here when the plan is full), so a kept table is never
  older than its model's rows.
-#}
{% macro get_incremental_dose_scope_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set kept = dose_chain_kept_relation(target) -%}
    {%- if dose_chain_plan_is_incremental() -%}
    create or replace table {{ kept }} as select {{ columns }} from {{ arg_dict['temp_relation'] }};
    {%- else -%}
    drop table if exists {{ kept }};
    {%- endif %}
    insert into {{ target }} ({{ columns }}) select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#- The rows `model` kept in this build (get_incremental_dose_scope_sql), or none: a full build, or a model
    not built incrementally. Found by a query (a table made by SQL is not in dbt's relation cache). -#}
{% macro dose_chain_kept_rows(model) -%}
    {%- set plan = dose_chain_plan_relation() -%}
    {%- if plan is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kept = dose_chain_kept_relation(model) -%}
    {#- one query (every scoped test asks): the plan is incremental and the table is there -#}
    {%- set present = run_query("select " ~ table_exists_sql(kept) ~ " and "
                                ~ dose_chain_plan_incremental_sql(plan)).columns[0].values()[0] -%}
    {{ return(kept if present else none) }}
{%- endmacro %}


{#- The rows of `model`, an earlier scoped model, of scope `scope_model`, as this build re-derived them: its
    kept rows on an incremental build, else the model filtered by the scope. A scoped (incremental) model
    reads them only when it is incremental itself (in_dose_scope: every row when it is built whole); a
    scope model (a table) always reads the scope's rows. -#}
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


{#- Post-hook of a view of a scoped model (dose_reconciliation: of int_dose_records_sequenced): the view's rows
    of the records this build re-derived, kept like a scoped table's: the view's own select run on the
    model's kept rows (`upstream` must appear once in it). Dropped when the model kept none. -#}
{% macro keep_view_rederived_rows(upstream) -%}
    {%- set kept = dose_chain_kept_relation(this) -%}
    {%- set upstream_kept = dose_chain_kept_rows(upstream) -%}
    {%- if upstream_kept is none -%}
        drop table if exists {{ kept }}
    {%- else -%}
        {%- set code = model.compiled_code -%}
        {%- if code.count(upstream | string) != 1 -%}
            {{ exceptions.raise_compiler_error(this ~ " must read " ~ upstream ~ " exactly once to keep its rows") }}
        {%- endif -%}
        create or replace table {{ kept }} as {{ code.replace(upstream | string, upstream_kept | string) }}
    {%- endif -%}
{%- endmacro %}


{#-
  Data tests of the scoped models on an incremental build check the rows of the keys the build
  re-derived (all rows of those keys: a duplicate of a re-derived key is seen), not again the millions of
  rows that did not change and passed before (their parents, the population, are unchanged too: a new
  snapshot makes the build full). On a full build (int_dose_builds_planned, read when the test
  runs) they check every row.
  dbt's generic tests (unique, not_null, relationships, accepted_values...) read their model through
  get_where_subquery: this adds the scope filter for the scoped models (and for the incremental platform
  staging model, macros/platform_staging.sql) and nothing for the others.
-#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- set base = dbt.default__get_where_subquery(relation) -%}
    {%- if relation is not string and relation.identifier == 'stg_platform__immunizations' -%}
        {{ return(platform_staging_rederived(relation, base)) }}  {#- macros/platform_staging.sql -#}
    {%- endif -%}
    {%- set scopes = {
        'int_dose_records_unioned': ('int_dose_scopes_changed', 'dose_record_key'),
        'int_dose_records_linked': ('int_dose_scopes_changed', 'dose_record_key'),
        'int_dose_records_matched': ('int_dose_scopes_matched', 'dose_record_key'),
        'int_dose_records_verified': ('int_dose_scopes_matched', 'dose_record_key'),
        'int_dose_records_deduplicated': ('int_dose_scopes_paired', 'dose_record_key'),
        'int_dose_records_sequenced': ('int_dose_scopes_sequenced', 'dose_record_key'),
        'dose_reconciliation': ('int_dose_scopes_sequenced', "source || '/' || source_record_id"),
        'commune_worklist': ('int_dose_scopes_sequenced', "source || '/' || source_record_id"),
        'person_vaccination': ('int_dose_scopes_credited', 'citizen_id', 'citizen_id'),
    } -%}
    {%- set identifier = relation.identifier if relation is not string else none -%}
    {%- if identifier not in scopes -%}
        {{ return(base) }}
    {%- endif -%}
    {#- the rows the build kept (get_incremental_dose_scope_sql, keep_view_rederived_rows), else a filter;
        a full build gets the plain relation -#}
    {%- set kept = dose_chain_kept_rows(relation) -%}
    {%- if kept is none and not dose_chain_plan_is_incremental() -%}
        {{ return(base) }}
    {%- endif -%}
    {%- set scope = scopes[identifier] -%}
    {%- set filtered -%}
        {%- if kept is not none -%}
        (select * from {{ kept }}) dbt_scoped
        {%- else -%}
        (select * from {{ base }} where {{ dose_scope_condition(dose_chain_relation(scope[0]), *scope[1:]) }}) dbt_scoped
        {%- endif -%}
    {%- endset -%}
    {{ return(filtered) }}
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
