"""The same linkage on Spark (VAXCLEAN_ENGINE=spark): the versioned Splink model (model.json) scores through
Splink's SparkAPI on the build's Spark session, with the records, the citizens and their features as Spark
DataFrames; the SQL that selects and prepares them is vaxclean.linkage.predict's (written so both engines
read it). What differs from the DuckDB path (predict.link_citizen_features):
- the model's SQL is DuckDB's (its comparison levels and blocking rules were rendered for DuckDB when it
  was trained); spark_settings transpiles it with sqlglot, the dialect Splink itself uses, and names
  the session's functions that compute Jaro-Winkler and Damerau-Levenshtein as DuckDB does;
- every record is scored against every citizen sharing a blocking key (a Spark build is full: no
  restriction to the citizens of a few records), and the term frequencies come from the whole population.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

from vaxclean.linkage import MODEL_PATH
from vaxclean.linkage.features import feature_sql
from vaxclean.linkage.predict import (
    OUTPUT_SCHEMA,
    citizen_features_sql,
    features_only_sql,
    load_model,
    needs_linkage_sql,
    record_citizen_pairs_sql,
    splink_settings,
    term_frequency_sql,
    tf_columns,
)
from vaxclean.transform.spark import JARO_WINKLER, spark_type

log = logging.getLogger(__name__)

# DuckDB's names of the similarity functions -> the session's functions computing them as DuckDB does
# (vaxclean.transform.spark.register_functions: Spark's own Jaro-Winkler differs)
_SPARK_FUNCTIONS = {"JAROWINKLER_SIMILARITY(": f"{JARO_WINKLER}(", "JARO_WINKLER_SIMILARITY(": f"{JARO_WINKLER}(",
                    "DAMERAU_LEVENSHTEIN(": "damerau_levenshtein("}


def is_spark_session(session: Any) -> bool:
    """Whether a dbt Python model runs on Spark (its `session` is a SparkSession) rather than DuckDB."""
    return type(session).__module__.startswith("pyspark")


def to_spark_sql(sql: str) -> str:
    import sqlglot

    out = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    for duckdb_name, spark_name in _SPARK_FUNCTIONS.items():
        out = out.replace(duckdb_name, spark_name)
    return out


def spark_settings(model: dict, population_size: int) -> dict:
    """The model's Splink settings (predict.splink_settings) for Spark: every SQL condition and blocking rule
    transpiled."""
    settings = copy.deepcopy(splink_settings(model, population_size))
    settings["sql_dialect"] = "spark"
    for rule in settings["blocking_rules_to_generate_predictions"]:
        rule["blocking_rule"] = to_spark_sql(rule["blocking_rule"])
        rule["sql_dialect"] = "spark"
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level["sql_condition"] != "ELSE":
                level["sql_condition"] = to_spark_sql(level["sql_condition"])
    return settings


def citizen_features(spark: Any, citizens: Any, model_path: Path = MODEL_PATH) -> Any:
    """int_population_linkage_features on Spark: the citizens' feature columns and blocking keys."""
    citizens.createOrReplaceTempView("vaxclean_linkage_citizens")
    return spark.sql(citizen_features_sql("vaxclean_linkage_citizens", load_model(model_path), "xxhash64"))


def link(spark: Any, records: Any, citizens: Any, features: Any, model_path: Path = MODEL_PATH) -> Any:
    """int_dose_records_scored on Spark: one row per record needing linkage that has a candidate, with its
    best and second-best citizen (predict.OUTPUT_SCHEMA's columns)."""
    from splink import Linker, SparkAPI

    started = time.monotonic()
    model = load_model(model_path)
    records.createOrReplaceTempView("vaxclean_linkage_records")
    citizens.createOrReplaceTempView("vaxclean_linkage_citizens")
    features.createOrReplaceTempView("vaxclean_linkage_features")
    to_link = spark.sql(needs_linkage_sql("vaxclean_linkage_records", "vaxclean_linkage_citizens", JARO_WINKLER))
    to_link.createOrReplaceTempView("vaxclean_linkage_to_link")
    left = spark.sql(feature_sql("vaxclean_linkage_to_link", id_column="dose_record_key",
                                 year_only_column="is_dob_year_only"))
    right = spark.sql(features_only_sql(model, "vaxclean_linkage_features"))
    population_size = features.count()
    db_api = SparkAPI(spark_session=spark)
    linker = Linker([db_api.register(left, dataset_display_name="records"),
                     db_api.register(right, dataset_display_name="citizens")],
                    spark_settings(model, population_size), log_level=logging.WARNING)
    for column in tf_columns(model):
        lookup = spark.sql(term_frequency_sql("vaxclean_linkage_features", column))
        linker.table_management.register_term_frequency_lookup(db_api.register(lookup), column)
    predictions = linker.inference.predict(warning_mode="never").as_spark_dataframe()
    predictions.createOrReplaceTempView("vaxclean_linkage_pairs")
    # the two best candidates per record: highest weight, then the smaller citizen_id (as on DuckDB)
    best = spark.sql(f"""
        with pairs as ({record_citizen_pairs_sql("vaxclean_linkage_pairs")}),
        ranked as (
            select *,
                row_number() over (partition by record_id order by match_weight desc, citizen_id) as rank,
                count(*) over (partition by record_id) as candidate_count
            from pairs
        )
        select
            record_id as dose_record_key,
            max(case when rank = 1 then citizen_id end) as linked_citizen_id,
            max(case when rank = 1 then match_probability end) as link_probability,
            max(case when rank = 1 then match_weight end) as link_weight,
            max(case when rank = 2 then citizen_id end) as second_citizen_id,
            max(case when rank = 2 then match_probability end) as second_probability,
            max(candidate_count) as candidate_count
        from ranked
        where rank <= 2
        group by record_id
    """)
    columns = [f"cast({field.name} as {spark_type(field.type)}) as {field.name}" for field in OUTPUT_SCHEMA]
    log.info("linkage on Spark: %d citizens, planned in %.1fs", population_size, time.monotonic() - started)
    return best.selectExpr(*columns)

