"""The Spark engine's pieces that need no build: the Java check, the raw lake's tables, the linkage settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vaxclean.linkage import MODEL_PATH
from vaxclean.linkage.spark import spark_settings, to_spark_sql
from vaxclean.raw.layout import RAW_TABLES
from vaxclean.transform import spark


def test_without_java_the_engine_says_in_one_line_what_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(spark.EngineUnavailable) as missing:
        spark.java_version()
    assert "\n" not in str(missing.value)
    assert "openjdk-17-jre-headless" in str(missing.value) and "JAVA_HOME" in str(missing.value)


def test_an_old_java_is_refused(tmp_path, monkeypatch):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(spark.EngineUnavailable, match="found Java 11"):
        spark.java_version()


def test_make_run_on_spark_without_java_stops_before_anything_runs(tmp_path):
    env = {"PATH": str(tmp_path), "VAXCLEAN_ENGINE": "spark", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "vaxclean.cli", "run", "--warehouse", str(tmp_path / "wh")],
                            env={**env, "PYTHONPATH": str(Path(spark.__file__).parents[2])},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Java 17" in result.stderr
    assert not (tmp_path / "wh").exists()


def test_every_raw_table_is_registered_with_the_layout_schema(tmp_path):
    statements = spark.raw_lake_ddl(tmp_path / "raw")
    creates = [s for s in statements if s.startswith("create table")]
    assert len(creates) == len(RAW_TABLES)
    platform = next(s for s in creates if "raw.platform_immunizations " in s)
    assert "`_extracted_at` timestamp" in platform and "`deleted` boolean" in platform
    assert f"location '{(tmp_path / 'raw' / 'platform_immunizations').as_uri()}'" in platform
    assert "recursiveFileLookup 'true'" in platform  # the partition folders are read, not inferred
    # an external table is dropped before it is declared again: its files stay
    assert statements.index("drop table if exists raw.platform_immunizations") < statements.index(platform)


def test_the_linkage_model_is_transpiled_to_spark():
    model = json.loads(MODEL_PATH.read_text())
    settings = spark_settings(model, population_size=4)
    assert settings["sql_dialect"] == "spark"
    assert settings["probability_two_random_records_match"] == 0.25
    conditions = [level["sql_condition"] for c in settings["comparisons"] for level in c["comparison_levels"]]
    assert any("vaxclean_jaro_winkler(" in c for c in conditions)
    assert any("damerau_levenshtein(" in c for c in conditions)
    assert not any('"' in c for c in conditions)  # Spark quotes names with backticks
    assert all(rule["sql_dialect"] == "spark" for rule in settings["blocking_rules_to_generate_predictions"])
    assert model["sql_dialect"] == "duckdb"  # the versioned model itself is untouched
    assert to_spark_sql("abs(date_diff('day', \"a_l\", \"a_r\")) <= 31").startswith("ABS(DATEDIFF(")


def test_jaro_winkler_is_duckdbs_to_the_last_bit():
    import random

    import duckdb

    from vaxclean.linkage.similarity import jaro_winkler_similarity

    rng = random.Random(5)
    letters = "abcdeghinotuy "
    pairs = [("tranminh son", "tran minh son"), ("hoangg hong ha", "hoang hong ha"), ("", "a"), ("", "")]
    for _ in range(20000):
        a = "".join(rng.choice(letters) for _ in range(rng.randint(0, 14)))
        b = list(a)
        for _ in range(rng.randint(0, 3)):  # a typist's slips: deleted, inserted, replaced letters
            position = rng.randint(0, len(b))
            b[position:position + rng.randint(0, 1)] = rng.choice(["", rng.choice(letters)])
        pairs.append((a, "".join(b)))
    con = duckdb.connect()
    con.execute("create table pairs (a varchar, b varchar)")
    con.executemany("insert into pairs values (?, ?)", pairs)
    expected = con.execute("select a, b, jaro_winkler_similarity(a, b) from pairs").fetchall()
    differing = [(a, b) for a, b, value in expected if jaro_winkler_similarity(a, b) != value]
    assert differing == []
    assert jaro_winkler_similarity(None, "a") is None
