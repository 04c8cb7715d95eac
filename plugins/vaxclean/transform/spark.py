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

import logging
import os
import re
import shutil
import subprocess
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
    """The local Spark session of a build on `warehouse_dir` (created once per process; Hive support, as
    dbt-spark's session method asks for it)."""
    java_version()
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable("the Spark engine is not installed: run `make spark-setup`") from exc
    knobs = settings()
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
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # pyspark logs a failed query's text and context as JSON; dbt reports the failure (masked) itself
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return spark


_SPARK_TYPES = {
    pa.string(): "string",
    pa.bool_(): "boolean",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.date32(): "date",
    pa.float64(): "double",
}


def _spark_type(data_type: pa.DataType) -> str:
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if data_type in _SPARK_TYPES:
        return _SPARK_TYPES[data_type]
    raise ValueError(f"no Spark type for the raw layer's {data_type}")


def raw_lake_ddl(raw_dir: Path) -> list[str]:
    """The statements registering every raw table as an external Parquet table over its directory (dropping
    an external table leaves its files alone)."""
    statements = [f"create database if not exists {RAW_SCHEMA}"]
    for table in RAW_TABLES.values():
        columns = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in table.schema)
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
    register_raw_lake(spark, raw_dir)
    return spark


def export_tables(spark: Any, tables: list[str], out_dir: Path) -> dict[str, Path]:
    """Each `schema.table` written as one Parquet directory under `out_dir` (<schema>__<table>), for DuckDB
    to read: publishing and the engines' equivalence test."""
    out_dir = Path(out_dir)
    written = {}
    for name in tables:
        path = out_dir / name.replace(".", "__")
        spark.table(name).write.mode("overwrite").parquet(str(path))
        written[name] = path
    return written
