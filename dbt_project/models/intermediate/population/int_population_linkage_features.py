"""The Splink comparison columns of every citizen (vaxclean.linkage.features, the same columns as the dose
records get), kept in the warehouse so that int_dose_records_scored does not compute them for 1.3 M
citizens on every build: an incremental build reads only the citizens sharing a blocking key with the
records it scores. A table of the population alone: vaxclean.build does not rebuild it while the
population is unchanged (MARTS_INPUTS); a new population rebuilds the whole marts layer."""


def model(dbt, session):
    from vaxclean.linkage.features import feature_sql

    citizens = dbt.ref("stg_population__citizens")
    return session.sql(feature_sql(f"({citizens.sql_query()})", id_column="citizen_id",
                                   year_only_column="is_birth_year_only"))
