"""The committed Splink model on hand-made records: each comparator's edge case ends on the right citizen,
twins stay ambiguous, and records with a good ID are not linked at all."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from vaxclean.linkage import MODEL_PATH
from vaxclean.linkage.predict import link_records

D = dt.date

CITIZENS = [
    # citizen_id, old_id, name_key, dob, year_only, gender, commune, district, phone
    ("019088000444", None, "hoang van nam", D(1988, 2, 12), False, "male", "05434", "164", "0912345678"),
    ("019175000333", "091234567", "pham thi lan", D(1975, 11, 2), False, "female", "05434", "164", None),
    ("019045000111", None, "dang van duc", D(1945, 1, 1), True, "male", "05437", "164", None),
    ("019192000555", None, "vu thi huong", D(1992, 12, 3), False, "female", "05440", "164", "0987654321"),
    ("019201000222", None, "le van anh", D(2001, 5, 20), False, "male", "05434", "164", "0911111111"),
    ("019201000223", None, "le van binh", D(2001, 5, 20), False, "male", "05434", "164", "0911111111"),
    ("019195000777", None, "do thi mai", D(1995, 8, 8), False, "female", "05854", "172", "0977777777"),
    ("019170000888", None, "ma van phuc", D(1970, 10, 10), False, "male", "05713", "169", None),
]
# filler citizens so that the term frequencies and the prior are not degenerate
CITIZENS += [
    (f"019190{i:06d}", None, f"nguyen van filler{i % 50}", D(1990, 1 + i % 12, 1 + i % 28), False,
     "male" if i % 2 else "female", "05431", "164", None)
    for i in range(300)
]

RECORDS = [
    # key, name_key, dob, year_only, gender, commune, district, phone, id_candidate, expected
    ("NOID", "do thi mai", D(1995, 8, 8), False, "female", "05854", "172", None, None, "019195000777"),
    ("DJ_NFD_TONE", "dang van duc", D(1945, 1, 1), True, "male", "05437", "164", None, None, "019045000111"),
    ("SWAPPED", "vu thi huong", D(1992, 3, 12), False, "female", "05440", "164", None, None, "019192000555"),
    ("NAME_TYPO", "hoang van namm", D(1988, 2, 12), False, "male", "05434", "164", "0912345678", None,
     "019088000444"),
    ("DOB_OFF", "pham thi lan", D(1975, 11, 9), False, "female", "05434", "164", None, "0999999999",
     "019175000333"),
    ("ID_NOT_FOUND", "ma van phuc", D(1970, 10, 10), False, "male", "05713", "169", None, "019170000889",
     "019170000888"),
]


def _citizens() -> pa.Table:
    cols = list(zip(*CITIZENS, strict=True))
    return pa.table({
        "citizen_id": cols[0], "old_id_number": pa.array(cols[1], pa.string()), "name_key": cols[2],
        "date_of_birth": pa.array(cols[3], pa.date32()), "is_birth_year_only": cols[4], "gender": cols[5],
        "commune_code": cols[6], "district_code": cols[7], "phone": pa.array(cols[8], pa.string()),
    })


def _records(rows) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.table({
        "dose_record_key": cols[0], "name_key": cols[1], "date_of_birth": pa.array(cols[2], pa.date32()),
        "is_dob_year_only": cols[3], "gender": cols[4], "commune_code": cols[5], "district_code": cols[6],
        "phone": pa.array(cols[7], pa.string()), "id_candidate": pa.array(cols[8], pa.string()),
    })


@pytest.fixture(scope="module")
def linked() -> dict:
    assert MODEL_PATH.exists(), "the trained model must be committed"
    twins = [("TWIN_TYPO", "le van anhh", D(2001, 5, 20), False, "male", "05434", "164", "0911111111", None, None)]
    good_id = [("GOOD_ID", "hoang van nam", D(1988, 2, 12), False, "male", "05434", "164", None,
                "019088000444", None)]
    table = link_records(_records(RECORDS + twins + good_id), _citizens())
    return {row["dose_record_key"]: row for row in table.to_pylist()}


@pytest.mark.parametrize("key, expected", [(r[0], r[9]) for r in RECORDS])
def test_best_candidate_is_the_right_citizen_above_threshold(linked: dict, key: str, expected: str) -> None:
    assert linked[key]["linked_citizen_id"] == expected
    assert linked[key]["link_probability"] >= 0.95


def test_twin_with_a_name_typo_has_the_sibling_as_close_second(linked: dict) -> None:
    twin = linked["TWIN_TYPO"]
    assert twin["linked_citizen_id"] == "019201000222"
    assert twin["second_citizen_id"] == "019201000223"
    assert twin["second_probability"] > 0.05


def test_records_whose_id_names_a_citizen_of_that_name_are_not_linked(linked: dict) -> None:
    assert "GOOD_ID" not in linked


def test_linking_against_the_citizens_sharing_a_blocking_key_gives_the_same_candidates(monkeypatch) -> None:
    """A few records (an incremental build) are scored against the citizens that share a blocking key with
    them, with the prior and term frequencies of the whole population: the result is unchanged."""
    from vaxclean.linkage import predict

    twins = [("TWIN_TYPO", "le van anhh", D(2001, 5, 20), False, "male", "05434", "164", "0911111111", None, None)]
    records = _records(RECORDS + twins)
    monkeypatch.setattr(predict, "RESTRICT_SHARE", 0.0)
    whole = link_records(records, _citizens()).sort_by("dose_record_key")
    monkeypatch.setattr(predict, "RESTRICT_SHARE", 1.0)
    restricted = link_records(records, _citizens()).sort_by("dose_record_key")
    assert whole.num_rows == len(RECORDS) + 1
    assert restricted.equals(whole)
    assert len(predict.blocking_keys(predict.load_model())) == 5  # every committed rule is an equi-join


@pytest.mark.parametrize("restrict_share", [0.0, 1.0])
def test_linking_against_the_citizens_features_kept_in_the_warehouse_gives_the_same_candidates(
        monkeypatch, restrict_share) -> None:
    """int_dose_records_scored links against int_population_linkage_features (a relation of the warehouse
    connection), whole on a full build, blocked citizens only on an incremental one: same result as
    link_records on the citizens themselves, and nothing is left behind in the connection."""
    import duckdb

    from vaxclean.linkage import predict

    twins = [("TWIN_TYPO", "le van anhh", D(2001, 5, 20), False, "male", "05434", "164", "0911111111", None, None)]
    records = _records(RECORDS + twins)
    monkeypatch.setattr(predict, "RESTRICT_SHARE", restrict_share)
    expected = link_records(records, _citizens()).sort_by("dose_record_key")
    session = duckdb.connect()
    session.register("citizens", _citizens())
    session.execute("create table features as " + predict.citizen_features_sql("citizens", predict.load_model()))
    session.register("records", records)
    to_link = session.sql(predict.needs_linkage_sql("records", "citizens")).to_arrow_table()
    before = session.execute("select count(*) from duckdb_views() where not internal").fetchall()
    linked = predict.link_citizen_features(session, to_link, "(select * from features)").sort_by("dose_record_key")
    assert linked.equals(expected)
    assert linked.num_rows == len(RECORDS) + 1
    assert session.execute("select count(*) from duckdb_views() where not internal").fetchall() == before
