"""Train the linkage model OFFLINE on a generated scenario's warehouse and write it as JSON.

    make run SCENARIO=/tmp/s101 WAREHOUSE=/tmp/w101        # any scenario, e.g. seed 101
    python -m vaxclean.linkage.train --warehouse /tmp/w101 --out plugins/vaxclean/linkage/model.json

Unsupervised, the usual Splink recipe (no ground truth is read): u probabilities by random sampling,
m probabilities by expectation maximisation in three sessions (blocked on birth date, on name key +
commune, on phone, so every comparison is estimated at least once). All dose records of the scenario are
linked to its citizens. Runs load the JSON; they never retrain.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import duckdb

from vaxclean.linkage import MODEL_PATH
from vaxclean.linkage.features import feature_sql
from vaxclean.linkage.spec import settings_dict

log = logging.getLogger(__name__)

EM_BLOCKING_RULES = [
    "l.dob_full = r.dob_full",
    "l.name_key = r.name_key and l.commune_code = r.commune_code",
    "l.phone = r.phone",
]
# An m probability of 0 would make its level an absolute veto; levels too rare in the training scenario to
# be estimated get this floor instead.
M_FLOOR = 1e-4


def train(con: duckdb.DuckDBPyConnection, left: str, right: str, settings: dict, *, seed: int = 42) -> dict:
    """Train `settings` on tables `left` (records) and `right` (citizens) of `con`; returns the model dict."""
    from splink import DuckDBAPI, Linker

    n_right = con.execute(f"select count(*) from {right}").fetchall()[0][0]
    settings = dict(settings, probability_two_random_records_match=1.0 / max(n_right, 1))
    db_api = DuckDBAPI(connection=con)
    linker = Linker([db_api.register(left, dataset_display_name="records"),
                     db_api.register(right, dataset_display_name="citizens")], settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    for rule in EM_BLOCKING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    return _floor_m(linker.misc.save_model_to_json())


def _floor_m(model: dict) -> dict:
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            if not level.get("m_probability"):
                level["m_probability"] = M_FLOOR
    return model


def _write(model: dict, out: Path) -> None:
    import json

    out.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vaxclean.linkage.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True, type=Path, help="warehouse dir of a run on the training scenario")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    con = duckdb.connect()
    con.execute(f"attach '{args.warehouse / 'warehouse.duckdb'}' as wh (read_only)")
    con.execute("create table left_features as " + feature_sql(
        "wh.intermediate.int_dose_records_unioned", id_column="dose_record_key", year_only_column="is_dob_year_only"))
    con.execute("create table right_features as " + feature_sql(
        "wh.staging.stg_population__citizens", id_column="citizen_id", year_only_column="is_birth_year_only"))
    con.execute("detach wh")
    model = train(con, "left_features", "right_features", settings_dict())
    _write(model, args.out)
    log.info("model written to %s in %.1fs", args.out, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
