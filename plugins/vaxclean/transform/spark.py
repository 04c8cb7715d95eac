"""The Spark engine (VAXCLEAN_ENGINE=spark): the same dbt project built by dbt-spark instead of dbt-duckdb.

Local runs and tests use dbt-spark's `session` method: a Spark session in the build's own process, started
here before dbt (dbt-spark's `SparkSession.builder.getOrCreate()` then returns it), so its settings (master,
memory, where the metastore and the tables live) are this module's. A cluster (`thrift` / `http` in the
profile's `spark` target) brings its own session and metastore.

The raw Parquet lake is read where it lies: each raw table is registered as an external Parquet table
`raw.<table>` over its directory, with the schema vaxclean.raw.layout declares (a file written before a
column existed reads it as null, as DuckDB's union_by_name does; Spark skips `_empty.parquet` as a hidden
file and needs no files to know the schema).

Settings (vaxclean.config): VAXCLEAN_ENGINE, VAXCLEAN_SPARK_MASTER, VAXCLEAN_SPARK_DRIVER_MEMORY,
VAXCLEAN_SPARK_SHUFFLE_PARTITIONS.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

from vaxclean.config import settings
from vaxclean.raw.layout import RAW_TABLES

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
JAVA_MIN = 17
JAVA_HINT = (f"Spark needs Java {JAVA_MIN} or newer: install a JRE (Debian: apt install openjdk-17-jre-headless) "
             "or point JAVA_HOME at one")


class EngineUnavailable(RuntimeError):
    """The Spark engine cannot start here (no Java, no pyspark); the message is one line naming the fix."""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_version() -> int:
    """The major version of the Java Spark would start; EngineUnavailable when there is none or it is too old."""
    java = _java()
    if java is None:
        raise EngineUnavailable(JAVA_HINT)
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineUnavailable(f"{JAVA_HINT} ({java} did not run: {exc.__class__.__name__})") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0_x"
        major = int(match.group(2))
    if major < JAVA_MIN:
        raise EngineUnavailable(f"{JAVA_HINT} (found Java {major or 'of unknown version'} at {java})")
    return major


def spark_dir(warehouse_dir: Path) -> Path:
    """Where a local session keeps its metastore (Derby) and its tables."""
    return Path(warehouse_dir).resolve() / "spark"


def session(warehouse_dir: Path) -> Any:
    """The local Spark session of a build on `warehouse_dir`, started once per process (Hive support, as
    dbt-spark's session method asks for it); later calls (the next layer's dbt command, the mirror) get it."""
    return _started(Path(warehouse_dir).resolve())


@functools.cache
def _started(warehouse_dir: Path) -> Any:
    java_version()
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable("the Spark engine is not installed: run `make spark-setup`") from exc
    knobs = settings()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local mode's Python workers: this interpreter
    home = spark_dir(warehouse_dir)
    home.mkdir(parents=True, exist_ok=True)
    java_options = f"-Dderby.system.home={home} -Dderby.stream.error.file={home / 'derby.log'}"
    builder = (
        SparkSession.builder.appName("vaxclean")
        .master(knobs.spark_master)
        .enableHiveSupport()
        .config("spark.sql.warehouse.dir", str(home / "tables"))
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.driver.memory", knobs.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(knobs.spark_shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")  # as dbt-spark sets it: a failed cast is null
        # a backslash in a string literal is itself, as in DuckDB: the models' regular expressions read alike
        .config("spark.sql.parser.escapedStringLiterals", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Splink's similarity functions (a jar in the splink package: nothing is downloaded), for its SparkAPI
        # and for the models' damerau_levenshtein (Spark has none; DuckDB's is built in)
        .config("spark.jars", similarity_jar_location())
        # the duplicate chain's recursive CTE (int_dose_records_deduplicated) holds a row per duplicate and hop
        .config("spark.sql.cteRecursionRowLimit", "-1")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(home / "checkpoints"))  # Splink breaks long lineages with them
    register_functions(spark)
    # pyspark logs a failed query's text and context as JSON; dbt reports the failure (masked) itself
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return spark


def similarity_jar_location() -> str:
    from splink.backends.spark import similarity_jar_location as location

    return location()


JARO_WINKLER = "vaxclean_jaro_winkler"


def register_functions(spark: Any) -> None:
    """The functions the models call that Spark lacks or computes otherwise (session-scoped: a cluster registers
    them once, `create function ... using jar` and the Python UDF): Damerau-Levenshtein from Splink's jar
    (equal to DuckDB's), and Jaro-Winkler as DuckDB computes it (vaxclean.linkage.similarity: Spark's own
    differs)."""
    from pyspark import cloudpickle
    from pyspark.sql.types import DoubleType

    from vaxclean.linkage import similarity

    # shipped by value: an executor needs no vaxclean installed (the module imports the standard library only)
    cloudpickle.register_pickle_by_value(similarity)
    spark.udf.registerJavaFunction("damerau_levenshtein", "uk.gov.moj.dash.linkage.LevDamerauDistance", DoubleType())
    spark.udf.register(JARO_WINKLER, similarity.jaro_winkler_similarity, DoubleType())


_SPARK_TYPES = {
    pa.string(): "string",
    pa.bool_(): "boolean",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.date32(): "date",
    pa.float64(): "double",
}


def spark_type(data_type: pa.DataType) -> str:
    """The Spark SQL type of an Arrow type of the project's schemas (raw layer, linkage output)."""
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if data_type in _SPARK_TYPES:
        return _SPARK_TYPES[data_type]
    raise ValueError(f"no Spark type for {data_type}")


def raw_lake_ddl(raw_dir: Path) -> list[str]:
    """The statements registering every raw table as an external Parquet table over its directory (dropping
    an external table leaves its files alone)."""
    statements = [f"create database if not exists {RAW_SCHEMA}"]
    for table in RAW_TABLES.values():
        columns = ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in table.schema)
        location = (Path(raw_dir).resolve() / table.name).as_uri()
        statements += [
            f"drop table if exists {RAW_SCHEMA}.{table.name}",
            f"create table {RAW_SCHEMA}.{table.name} ({columns}) using parquet "
            f"options (recursiveFileLookup 'true') location '{location}'",
        ]
    return statements


def register_raw_lake(spark: Any, raw_dir: Path) -> None:
    for statement in raw_lake_ddl(raw_dir):
        spark.sql(statement)


def prepare(warehouse_dir: Path) -> Any:
    """Start the local session and register the raw lake: what a dbt command on the spark target needs."""
    from vaxclean.raw.layout import init_raw

    raw_dir = Path(warehouse_dir).resolve() / "raw"
    init_raw(raw_dir)
    spark = session(warehouse_dir)
    remove_orphan_table_folders(spark, warehouse_dir)
    register_raw_lake(spark, raw_dir)
    enable_python_models_in_session()
    return spark


def remove_orphan_table_folders(spark: Any, warehouse_dir: Path) -> list[str]:
    """A build killed while it wrote a table leaves the table's folder without the table (the metastore
    records a table once it is written): Spark refuses to create a table over it. Those folders, and only
    those, are removed before a build; returns them."""
    removed = []
    for folder in sorted((spark_dir(warehouse_dir) / "tables").glob("*.db/*")):
        schema, table = folder.parent.name.removesuffix(".db"), folder.name
        if folder.is_dir() and not spark.catalog.tableExists(f"{schema}.{table}"):
            shutil.rmtree(folder)
            removed.append(f"{schema}.{table}")
    if removed:
        log.warning("removed the folders of %d tables a stopped build left half-written: %s", len(removed),
                    ", ".join(removed))
    return removed


SESSION_SUBMISSION = "session"


def enable_python_models_in_session() -> None:
    """dbt-spark submits a Python model only to Databricks (a notebook on a cluster). With the `session`
    method the Spark session is in this process: add a submission method `session` that runs the model's
    compiled code here, with `spark` the session (as a Databricks notebook has it), and make it the default
    of that method. Other methods keep dbt-spark's Databricks helpers."""
    from dbt.adapters.base import PythonJobHelper
    from dbt.adapters.spark.impl import SparkAdapter

    if SESSION_SUBMISSION in SparkAdapter.python_submission_helpers.fget(None):  # type: ignore[attr-defined]
        return

    class SessionPythonJobHelper(PythonJobHelper):
        def __init__(self, parsed_model: dict, credentials: Any) -> None:
            self.name = f"{parsed_model['schema']}.{parsed_model['alias']}"

        def submit(self, compiled_code: str) -> None:
            from pyspark.sql import SparkSession

            spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
            exec(compile(compiled_code, f"<python model {self.name}>", "exec"), {"spark": spark})  # noqa: S102

    databricks_helpers = SparkAdapter.python_submission_helpers.fget  # type: ignore[attr-defined]
    databricks_default = SparkAdapter.default_python_submission_method.fget  # type: ignore[attr-defined]

    def helpers(adapter: Any) -> dict[str, type]:
        return {**databricks_helpers(adapter), SESSION_SUBMISSION: SessionPythonJobHelper}

    def default_method(adapter: Any) -> str:
        method = getattr(adapter.config.credentials, "method", None)
        return SESSION_SUBMISSION if str(method) == SESSION_SUBMISSION else databricks_default(adapter)

    SparkAdapter.python_submission_helpers = property(helpers)  # type: ignore[method-assign,assignment]
    SparkAdapter.default_python_submission_method = property(default_method)  # type: ignore[method-assign,assignment]


def _naive(data_type: Any) -> str:
    """The type with every timestamp naive (Spark's session time zone is UTC: the same instants), as DuckDB's
    TIMESTAMP columns are, nested ones included."""
    return re.sub(r"\btimestamp\b", "timestamp_ntz", data_type.simpleString())


def mirror_to_duckdb(spark: Any, relations: list[tuple[str, str]], warehouse_dir: Path) -> dict[str, int]:
    """The Spark build's relations (schema, name) as tables of `<warehouse>/warehouse.duckdb`: what the gates,
    the publisher and the commune files read, on either engine. Each goes through Parquet under
    `<warehouse>/spark/export/`; returns the rows per relation."""
    import duckdb

    export_dir = spark_dir(warehouse_dir) / "export"
    rows: dict[str, int] = {}
    paths: dict[tuple[str, str], Path] = {}
    for schema, name in relations:
        frame = spark.table(f"{schema}.{name}")
        columns = [f"cast(`{f.name}` as {_naive(f.dataType)}) as `{f.name}`" if "timestamp" in f.dataType.simpleString()
                   else f"`{f.name}`" for f in frame.schema.fields]
        path = export_dir / schema / name
        frame.selectExpr(*columns).write.mode("overwrite").parquet(str(path))
        paths[(schema, name)] = path
    with duckdb.connect(str(Path(warehouse_dir) / "warehouse.duckdb")) as con:
        con.execute("begin")  # every table of the layer replaced, or none (a build killed while mirroring)
        for (schema, name), path in paths.items():
            con.execute(f'create schema if not exists "{schema}"')
            kind = con.execute("select table_type from information_schema.tables where table_schema = ? "
                               "and table_name = ?", [schema, name]).fetchall()
            if kind and kind[0][0] == "VIEW":  # a DuckDB build's view of the same model
                con.execute(f'drop view "{schema}"."{name}"')
            con.execute(f'create or replace table "{schema}"."{name}" as '
                        f"select * from read_parquet('{path}/*.parquet')")
            rows[f"{schema}.{name}"] = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
        con.execute("commit")
    return rows
