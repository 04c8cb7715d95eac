"""The Splink comparison columns of every citizen (vaxclean.linkage.features, the same columns as the dose
records get) and a key per blocking rule of the Splink model, kept in the warehouse so that
int_dose_records_scored does not compute them for every citizen on every build: an incremental build
reads only the citizens sharing a blocking key with the records it scores. A table of the population
alone: vaxclean.build does not rebuild it while the population is unchanged (its YAML declares
rebuilt_only_with_its_sources); a new population rebuilds the whole marts layer."""


def model(dbt, session):
    from vaxclean.linkage import spark as on_spark
    from vaxclean.linkage.predict import citizen_features_sql, load_model

    citizens = dbt.ref("stg_population__citizens")
    if on_spark.is_spark_session(session):  # the Spark engine: a DataFrame, the same SQL
        return on_spark.citizen_features(session, citizens)
    # with one hash column per blocking rule: an incremental build finds the citizens sharing a key with its
    # records in one scan of those (vaxclean.linkage.predict.blocked_sql)
    return session.sql(citizen_features_sql(f"({citizens.sql_query()})", load_model()))
