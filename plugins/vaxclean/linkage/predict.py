"""Score dose records without a usable ID against the population with the trained Splink model.

`link_citizen_features(session, to_link, citizen_features)` scores the records that need linkage (no ID, an
ID that names nobody, or an ID whose citizen carries another name: `needs_linkage_sql`, applied inside the
warehouse by the dbt model int_dose_records_scored) against the citizens' feature columns kept in the
warehouse (int_population_linkage_features, rebuilt with the population), and returns one row per record
with its two best candidates. Splink runs in its own in-memory DuckDB connection, so its work tables never
reach the warehouse (one writer: the dbt Python model returns the result to dbt). A few records (an
incremental build scores only the changed ones) are scored against the citizens that share a blocking key
with one of them (`blocked_sql`: the same candidate pairs), the prior and the term frequencies still from
the whole population: only those citizens and the term frequencies of the values present leave the
warehouse. `link_records(records, citizens)` does the same from two Arrow tables (the unit tests).

The model is loaded from `model.json` (trained offline by `vaxclean.linkage.train`); the prior
probability that a record and a random citizen match is set to 1 / number of citizens, so match
probabilities stay calibrated when the population is larger than the training scenario's.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from vaxclean.linkage import MODEL_PATH
from vaxclean.linkage.features import feature_sql

log = logging.getLogger(__name__)

OUTPUT_SCHEMA = pa.schema([
    ("dose_record_key", pa.string()),
    ("linked_citizen_id", pa.string()),
    ("link_probability", pa.float64()),
    ("link_weight", pa.float64()),
    ("second_citizen_id", pa.string()),
    ("second_probability", pa.float64()),
    ("candidate_count", pa.int64()),
])

# Records that need probabilistic linkage: no ID hit, or an ID hit carrying a clearly different name.
def needs_linkage_sql(records: str, citizens: str, jaro_winkler: str = "jaro_winkler_similarity") -> str:
    """SELECT of the rows of `records` (a table name or a parenthesised query) that need probabilistic
    linkage against `citizens`: a name key, and no citizen that the ID names (citizen_id or old_id_number)
    with a close name. Applying it to its own result changes nothing (a record's test reads only itself).
    `jaro_winkler`: the engine's function computing DuckDB's Jaro-Winkler (Spark: vaxclean.transform.spark)."""
    return f"""
    with records as (select * from {records}),
    id_hits as (
        select r.dose_record_key
        from records as r
        inner join {citizens} as c on c.citizen_id = r.id_candidate
        where {jaro_winkler}(c.name_key, r.name_key) >= 0.9
        union
        select r.dose_record_key
        from records as r
        inner join {citizens} as c on c.old_id_number = r.id_candidate
        where {jaro_winkler}(c.name_key, r.name_key) >= 0.9
    )
    select r.*
    from records as r
    where r.name_key is not null
        and not exists (select 1 from id_hits as h where h.dose_record_key = r.dose_record_key)
"""


def load_model(path: Path = MODEL_PATH) -> dict:
    return json.loads(Path(path).read_text())


def tf_columns(model: dict) -> list[str]:
    """The columns the model's comparisons adjust for term frequency."""
    return sorted({level["tf_adjustment_column"] for comparison in model["comparisons"]
                   for level in comparison["comparison_levels"] if level.get("tf_adjustment_column")})


# Fewer records than 1 / RESTRICT_SHARE of the citizens (an incremental build): Splink sees only the
# citizens that share a blocking key with one of them (blocked_sql).
RESTRICT_SHARE = 0.02


def blocking_keys(model: dict) -> list[list[str]] | None:
    """The columns of each blocking rule, when every rule is an equi-join `l.a = r.a [and l.b = r.b ...]`;
    else None."""
    keys = []
    for rule in model["blocking_rules_to_generate_predictions"]:
        text = rule["blocking_rule"] if isinstance(rule, dict) else str(rule)
        columns = []
        for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
            match = re.fullmatch(r"l\.(\w+)\s*=\s*r\.(\w+)", part.strip())
            if not match or match.group(1) != match.group(2):
                return None
            columns.append(match.group(1))
        keys.append(columns)
    return keys


def blocking_key_sql(model: dict, hash_function: str = "hash") -> list[str]:
    """One column per blocking rule (`blocking_key_<n>`): a hash of the rule's columns (as text), null when
    one of them is null (SQL equality: a null shares nothing); [] when a rule is no equi-join. Two rows with
    equal columns have equal keys; a hash collision only lets a citizen more through (blocked_sql), which
    Splink's own blocking then pairs with nobody. `hash_function`: DuckDB's hash, Spark's xxhash64."""
    keys = blocking_keys(model) or []
    return [f"case when {' and '.join(f'{c} is not null' for c in columns)} "
            f"then {hash_function}({', '.join(f'cast({c} as string)' for c in columns)}) end as blocking_key_{n}"
            for n, columns in enumerate(keys, start=1)]


def blocking_key_columns(model: dict) -> list[str]:
    """The names blocking_key_sql gives its columns."""
    return [f"blocking_key_{n}" for n in range(1, len(blocking_keys(model) or []) + 1)]


def citizen_features_sql(relation: str, model: dict, hash_function: str = "hash") -> str:
    """The citizens' feature columns (feature_sql) and their blocking keys (blocking_key_sql): what
    int_population_linkage_features keeps and link_citizen_features reads."""
    features = feature_sql(relation, id_column="citizen_id", year_only_column="is_birth_year_only")
    keys = blocking_key_sql(model, hash_function)
    return f"select *, {', '.join(keys)} from ({features})" if keys else features


def features_only_sql(model: dict, relation: str) -> str:
    """SELECT of `relation`'s rows without its blocking keys (Splink reads the feature columns)."""
    keys = blocking_key_columns(model)
    return f"select * except ({', '.join(keys)}) from {relation}" if keys else f"select * from {relation}"


def blocked_sql(model: dict, left: str, right: str) -> str | None:
    """SELECT of the rows of `right` (citizen_features_sql's columns) that share the columns of a blocking
    rule with a row of `left` (feature columns), without the blocking keys, or None when a rule is no
    equi-join. Splink's candidate pairs between `left` and them are exactly those between `left` and
    `right` (link_only). One scan of the precomputed keys (0.1 s at 1.3 M citizens; a semi-join per rule
    on the feature columns took 0.27-0.3 s)."""
    keys = blocking_key_sql(model)
    if not keys or model.get("link_type") != "link_only":
        return None
    hits = " or ".join(f"r.{column} in (select {column} from left_keys)" for column in blocking_key_columns(model))
    return (f"with left_keys as materialized (select {', '.join(keys)} from {left}) "
            f"{features_only_sql(model, right + ' as r')} where {hits}")


def term_frequency_sql(population: str, column: str, values: str | None = None) -> str:
    """SELECT of `column`'s term frequencies in `population` (each value's share of the non-null values):
    the lookup Splink joins on the value, so only the values of the query `values` when given."""
    among = f" and {column} in ({values})" if values else ""
    return f"""
        select {column}, count(*) / (select count({column}) from {population}) as tf_{column}
        from {population} where {column} is not null{among} group by {column}
    """


def splink_settings(model: dict, population_size: int) -> dict:
    """The model's Splink settings for a run: the prior 1 / `population_size` (calibrated when the population
    is larger than the training scenario's)."""
    return {**model, "probability_two_random_records_match": 1.0 / max(population_size, 1)}


def record_citizen_pairs_sql(predictions: str) -> str:
    """SELECT of Splink's predictions (table `predictions`, link_only between datasets `records` and
    `citizens`) as record_id, citizen_id, match_weight, match_probability, whichever side each came on."""
    return f"""
        select
            case when source_dataset_l = 'records' then unique_id_l else unique_id_r end as record_id,
            case when source_dataset_l = 'records' then unique_id_r else unique_id_l end as citizen_id,
            match_weight, match_probability
        from {predictions}
    """


def score_pairs(con: duckdb.DuckDBPyConnection, model: dict, left: str, right: str, *,
                population_size: int, term_frequencies: dict[str, str]) -> str:
    """Splink predict between tables `left` (records) and `right` (citizens) of `con`, both with the
    feature columns; returns the name of a table with record_id, citizen_id, match_weight,
    match_probability. The prior (1 / `population_size`) and the term frequencies (tables of `con` per
    tf column, term_frequency_sql) come from the whole population, when `right` holds only some of it."""
    from splink import DuckDBAPI, Linker

    settings = splink_settings(model, population_size)
    db_api = DuckDBAPI(connection=con)
    sdf_left = db_api.register(left, dataset_display_name="records")
    sdf_right = db_api.register(right, dataset_display_name="citizens")
    linker = Linker([sdf_left, sdf_right], settings, log_level=logging.WARNING)
    # term frequencies from the population alone: a record's scores do not depend on which other records
    # are linked in the same run, so an incremental build links only the new records (int_dose_records_scored)
    for column in tf_columns(model):
        linker.table_management.register_term_frequency_lookup(
            db_api.register(term_frequencies[column]), column)
    predictions = linker.inference.predict(warning_mode="never")
    con.execute(f"create or replace table scored_pairs as {record_citizen_pairs_sql(predictions.physical_name)}")
    return "scored_pairs"


def link_records(records: pa.Table, citizens: pa.Table, model_path: Path = MODEL_PATH) -> pa.Table:
    """Best and second-best citizen per record needing linkage (see the module docstring): the citizens'
    features computed here, then link_citizen_features."""
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = false")
        # the Arrow tables are read in place (views), not copied into the connection
        con.register("records", records)
        con.register("citizens", citizens)
        con.execute("create table citizen_features as " + citizen_features_sql("citizens", load_model(model_path)))
        to_link = con.sql(needs_linkage_sql("records", "citizens")).to_arrow_table()
        return link_citizen_features(con, to_link, "citizen_features", model_path)
    finally:
        con.close()


def link_citizen_features(session: duckdb.DuckDBPyConnection, to_link: pa.Table, citizen_features: str,
                          model_path: Path = MODEL_PATH) -> pa.Table:
    """Best and second-best citizen per record of `to_link` (needs_linkage_sql's rows) against the citizens'
    feature columns in `session` (`citizen_features`: int_population_linkage_features in the warehouse):
    only the citizens sharing a blocking key with a record (all of them when the records are more than
    RESTRICT_SHARE of the citizens) and the term frequencies of the records' and those citizens' values
    leave `session`; Splink runs in its own in-memory connection."""
    started = time.monotonic()
    model = load_model(model_path)
    if to_link.num_rows == 0:
        return OUTPUT_SCHEMA.empty_table()
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = false")
        con.register("to_link", to_link)
        left = con.sql(feature_sql("to_link", id_column="dose_record_key",
                                   year_only_column="is_dob_year_only")).to_arrow_table()
        population_size = session.execute(f"select count(*) from {citizen_features}").fetchall()[0][0]
        # a temporary view of this connection only: the warehouse's tables are not touched
        session.register("vaxclean_linkage_left", left)
        try:
            blocked = (blocked_sql(model, "vaxclean_linkage_left", citizen_features)
                       if left.num_rows <= RESTRICT_SHARE * population_size else None)
            right = session.sql(blocked or features_only_sql(model, citizen_features)).to_arrow_table()
            session.register("vaxclean_linkage_right", right)
            term_frequencies = {
                column: session.sql(term_frequency_sql(
                    citizen_features, column,
                    values=f"select {column} from vaxclean_linkage_left union select {column} from vaxclean_linkage_right",
                )).to_arrow_table()
                for column in tf_columns(model)}
        finally:
            for view in ("vaxclean_linkage_left", "vaxclean_linkage_right"):
                session.unregister(view)
        con.register("left_features", left)
        con.register("right_features", right)
        for column, table in term_frequencies.items():
            con.register(f"tf_{column}", table)
        n_link = left.num_rows
        prepared = time.monotonic()
        pairs = score_pairs(con, model, "left_features", "right_features", population_size=population_size,
                            term_frequencies={column: f"tf_{column}" for column in tf_columns(model)})
        log.info("linkage: %d records to link prepared in %.1fs (against %d citizens), scored in %.1fs", n_link,
                 prepared - started, right.num_rows, time.monotonic() - prepared)
        table = con.sql(f"""
            -- the two best candidates per record: highest weight, then the smaller citizen_id (a top-2
            -- aggregate: the window it replaces sorted the 8.5 M pairs of the province, 5 s)
            with best as (
                select
                    record_id,
                    min_by(
                        {{'citizen_id': citizen_id, 'probability': match_probability, 'weight': match_weight}},
                        {{'weight': -match_weight, 'citizen_id': citizen_id}},
                        2
                    ) as top,
                    count(*) as candidate_count
                from {pairs}
                group by record_id
            )
            select
                record_id as dose_record_key,
                top[1].citizen_id as linked_citizen_id,
                top[1].probability as link_probability,
                top[1].weight as link_weight,
                top[2].citizen_id as second_citizen_id,
                top[2].probability as second_probability,
                candidate_count
            from best
        """).to_arrow_table()
        log.info("linkage: %d records scored, %d with a candidate, in %.1fs", n_link, table.num_rows,
                 time.monotonic() - started)
        return table.cast(OUTPUT_SCHEMA)
    finally:
        con.close()
