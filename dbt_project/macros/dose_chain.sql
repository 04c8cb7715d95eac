{#-
  The dose chain (int_dose_records_* -> dose_reconciliation, person_vaccination, commune_worklist) is built
  incrementally by *scope*: a run re-derives only the dose records whose result can have changed, and
  the rows of everything else stay as they are. The scopes widen along the chain, each one closed under
  what the next model reads across records (docs/scaling.md, "Incremental builds"):

    int_dose_scopes_changed    R0  records new, changed (received_at) or gone since the last build
    int_dose_scopes_matched    R1  R0 + the records sharing a phone with R0 (old or new): phone evidence
    int_dose_scopes_paired     R2  R1 + the records sharing a credited citizen, an ID or a name key + birth
                                   date with R1 (old or new values): duplicate pairs
    int_dose_scopes_sequenced  R4  R2 + the originals of R2 (old and new) + every record of the citizens
                                   of those (old and new): borrowed-identity signals and dose sequences

  The old values come from int_dose_records_sequenced, the last chain model, as the previous build left
  it (read by name, not ref: it is downstream; the scopes are computed before it is updated). Each scoped model deletes its scope's rows
  (pre-hook `delete_dose_scope`) and appends what its select computes for the scope.

  The chain is incremental when dbt is (no --full-refresh) and int_dose_records_sequenced exists; a change of
  the population, the police returns, the seeds or the code makes vaxclean.build run it with
  --full-refresh (the scopes assume those inputs unchanged).
-#}

{% macro dose_chain_state_relation() -%}
    {{ return(adapter.get_relation(database=target.database, schema=generate_schema_name('intermediate', none),
                                   identifier='int_dose_records_sequenced')) }}
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
        delete from {{ this }} where {{ key_sql }} in (select dose_record_key from {{ scope_model }})
    {%- endif -%}
{%- endmacro %}


{#- Inside a scoped model's select: keep the rows of the scope (incremental runs only). -#}
{% macro in_dose_scope(scope_model, key_sql='dose_record_key') -%}
    {%- if is_incremental() -%}
        {{ key_sql }} in (select dose_record_key from {{ scope_model }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- The citizens whose doses R4 touches: credited before (previous build) or now. -#}
{% macro dose_scope_citizens() -%}
    select previous_citizen_id as citizen_id from {{ ref('int_dose_scopes_sequenced') }}
    where previous_citizen_id is not null
    union
    select sequenced.citizen_id from {{ ref('int_dose_records_sequenced') }} as sequenced
    semi join {{ ref('int_dose_scopes_sequenced') }} as scope on sequenced.dose_record_key = scope.dose_record_key
    where sequenced.citizen_id is not null
{%- endmacro %}


{#- Pre-hook of a model with one row per citizen: drop the rows of the citizens R4 touches. -#}
{% macro delete_citizen_scope() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where citizen_id in ({{ dose_scope_citizens() }})
    {%- endif -%}
{%- endmacro %}
