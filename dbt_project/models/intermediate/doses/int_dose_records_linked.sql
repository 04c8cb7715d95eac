{#-
  The Splink candidates of every dose record that needs linkage (int_dose_records_scored), kept across
  builds: incremental by scope R0 (int_dose_scopes_changed, macros/dose_chain.sql), whose records are the
  ones scored in this build.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='dose_scope',
    on_schema_change='fail',
    pre_hook="{{ delete_dose_scope(ref('int_dose_scopes_changed')) }}",
) }}
select * from {{ ref('int_dose_records_scored') }}
