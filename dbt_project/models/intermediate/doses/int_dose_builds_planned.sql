{#- One row: whether this build of the dose chain is incremental (macros/dose_chain.sql), for the Python
    model int_dose_records_scored, which has no Jinja to ask. -#}
select {{ 'true' if dose_chain_is_incremental() else 'false' }} as is_incremental
