"""Probabilistic candidates (Splink 5, model loaded from vaxclean/linkage/model.json, never retrained) for
the dose records without a usable ID: no ID, an ID that names nobody, or an ID whose citizen carries
another name. One row per such record that has a candidate: the best and second-best citizen with
their match probabilities. int_dose_records_matched decides (var linkage_threshold). Admin codes that are
unknown or contradict each other are not linkage evidence (link_commune_code, link_district_code).
The records that need linkage are selected inside the warehouse; only they, the citizens sharing a
blocking key with them (all citizens on a full build) and the term frequencies of their values cross
into Python: the citizens' linkage columns are kept with the population (int_population_linkage_features).
When the build continues the previous one (the build record, macros/dose_chain.sql) only the records of
scope R0 (int_dose_scopes_changed; the rows int_dose_records_unioned kept) are scored: a record's candidates
and probabilities depend on the record and the population only (term frequencies come from the
population). int_dose_records_linked keeps them across builds."""


def model(dbt, session):
    from vaxclean.linkage import spark as on_spark
    from vaxclean.linkage.predict import link_citizen_features, needs_linkage_sql

    common = "name_key, date_of_birth, gender, phone"
    # admin codes that are unknown or contradict each other are no evidence (int_dose_records_unioned)
    records_columns = (f"dose_record_key, id_candidate, is_dob_year_only, {common}, "
                       "link_commune_code as commune_code, link_district_code as district_code")
    citizens_columns = f"citizen_id, old_id_number, is_birth_year_only, {common}, commune_code, district_code"
    features = dbt.ref("int_population_linkage_features")
    if on_spark.is_spark_session(session):  # the Spark engine: Splink's SparkAPI on the session; a full build
        return on_spark.link(session, dbt.ref("int_dose_records_unioned").selectExpr(*records_columns.split(", ")),
                             dbt.ref("stg_population__citizens").selectExpr(*citizens_columns.split(", ")), features)
    records = dbt.ref("int_dose_records_unioned").project(records_columns)
    citizens = dbt.ref("stg_population__citizens").project(citizens_columns)
    scope = dbt.ref("int_dose_scopes_changed")
    incremental = bool(dbt.config.get("continues_previous_build"))
    source = f"({records.sql_query()})"
    if incremental:
        # R0's records as int_dose_records_unioned re-derived them in this build: the rows it kept, else (it
        # was built whole) the model filtered by the scope
        kept = f'"{dbt.this.database}"."{dbt.this.schema}"."int_dose_records_unioned__rederived"'
        has_kept = session.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = ? "
                                   "and table_name = 'int_dose_records_unioned__rederived'",
                                   [dbt.this.database, dbt.this.schema]).fetchall()[0][0]
        records = (session.sql(f"select {records_columns} from {kept}") if has_kept else
                   records.filter(f"dose_record_key in (select dose_record_key from ({scope.sql_query()}))"))
        # the scope's records read once (needs_linkage_sql reads them three times); a full build streams
        # them instead (every record: too many to hold)
        source = "vaxclean_scored_records"
        session.register(source, records.to_arrow_table())
    try:
        to_link = session.sql(needs_linkage_sql(source, f"({citizens.sql_query()})")).to_arrow_table()
    finally:
        if incremental:
            session.unregister(source)
    return link_citizen_features(session, to_link, f"({features.sql_query()})")
