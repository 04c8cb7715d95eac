{#-
  The Splink candidates of every dose record that needs linkage (int_dose_records_scored), kept across
  builds: incremental by scope R0 (int_dose_scopes_changed, macros/dose_chain.sql), whose records are the
  ones scored in this build.
-#}
select * from {{ ref('int_dose_records_scored') }}
