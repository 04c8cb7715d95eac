"""dbt build on a small raw fixture: the marts say what the edge cases of tests/dbt/fixture.py need."""

from __future__ import annotations

import re
from pathlib import Path

import dbt_raw_fixture as fixture  # noqa: E402  (put on sys.path by conftest.py)
import duckdb
import pytest

from vaxclean.config import PROJECT_ROOT
from vaxclean.schemas.marts import MART_MODELS
from vaxclean.transform.dbt import DbtFailure, parse, run_dbt


def _dose(marts: duckdb.DuckDBPyConnection, key: tuple[str, str]) -> dict[str, object]:
    cur = marts.execute(
        "select * from marts.dose_reconciliation where source = ? and source_record_id = ?", list(key)
    )
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1, key
    return dict(zip(names, rows[0], strict=True))


def test_build_passes_every_node(built_warehouse: dict[str, object]) -> None:
    summary = built_warehouse["summary"]
    assert summary["failures"] == []
    assert summary["statuses"].get("success", 0) >= 20  # models and seeds
    assert summary["statuses"].get("pass", 0) >= 50  # data and unit tests


def test_lost_zero_is_corrected_to_the_right_citizen(marts: duckdb.DuckDBPyConnection) -> None:
    dose = _dose(marts, fixture.DOSE_LOST_ZERO)
    assert (dose["match_status"], dose["citizen_id"]) == ("corrected", "019088000444")
    assert "id_leading_zero_lost" in dose["issues"]


def test_twins_without_id_need_review(marts: duckdb.DuckDBPyConnection) -> None:
    dose = _dose(marts, fixture.DOSE_TWIN)
    assert dose["match_status"] == "needs_review"
    assert dose["citizen_id"] is None
    assert "ambiguous_candidates" in dose["issues"]


def test_duplicate_points_at_its_original(marts: duckdb.DuckDBPyConnection) -> None:
    duplicate = _dose(marts, fixture.DOSE_DUPLICATE)
    assert duplicate["match_status"] == "duplicate"
    assert (duplicate["duplicate_of_source"], duplicate["duplicate_of_record_id"]) == fixture.DOSE_ORIGINAL
    assert duplicate["citizen_id"] is None
    original = _dose(marts, fixture.DOSE_ORIGINAL)
    assert original["match_status"] == "verified" and original["dose_sequence"] == 1


@pytest.mark.parametrize(
    ("key", "status", "citizen_id", "issue"),
    [
        (fixture.DOSE_OLD_ID, "verified", "019175000333", "old_id_number"),
        (fixture.DOSE_SWAPPED_DOB, "verified", "019192000555", "dob_day_month_swapped"),
        (fixture.DOSE_YEAR_ONLY, "verified", "019045000111", None),
        (fixture.DOSE_NFD_TONE, "verified", "019190004567", "dose_number_inconsistent"),
        (fixture.DOSE_SHORT_INTERVAL, "verified", "019190004567", "implausible_dose_interval"),
        (fixture.DOSE_NO_ID_PROBABLE, "probable", "019195000777", "missing_id"),
        (fixture.DOSE_AFTER_DEATH, "needs_review", None, "citizen_deceased"),
        (fixture.DOSE_BORROWED, "needs_review", None, "suspected_borrowed_identity"),
        (fixture.DOSE_MISSING_ID, "unmatched", None, "missing_id"),
        (fixture.DOSE_BAD_ID, "unmatched", None, "bad_id_format"),
        (fixture.DOSE_UNKNOWN_VACCINE, "verified", "019045000111", "unknown_vaccine"),
        # police returns: confirmed -> corrected; corrected to the other twin; not resident; not found
        (fixture.DOSE_GENDER_CONFIRMED, "corrected", "019183000999", "gender_mismatch"),
        (fixture.DOSE_TWIN_RETURNED, "corrected", "019201000223", None),
        (fixture.DOSE_NOT_RESIDENT, "unmatched", None, "not_resident"),
        (fixture.DOSE_NOT_FOUND, "needs_review", None, "police_not_found"),
    ],
)
def test_match_status_per_edge_case(marts: duckdb.DuckDBPyConnection, key: tuple[str, str], status: str,
                                    citizen_id: str | None, issue: str | None) -> None:
    dose = _dose(marts, key)
    assert (dose["match_status"], dose["citizen_id"]) == (status, citizen_id)
    if issue:
        assert issue in dose["issues"]


def test_tombstoned_and_replaced_records_are_gone(marts: duckdb.DuckDBPyConnection) -> None:
    keys = set(marts.execute("select source, source_record_id from marts.dose_reconciliation").fetchall())
    assert fixture.DOSE_DELETED not in keys
    assert len(keys) == len(fixture.PLATFORM) - 1 + len(fixture.SITE_ROWS)


def test_person_vaccination(marts: duckdb.DuckDBPyConnection) -> None:
    row = marts.execute(
        "select doses_credited, is_primary_series_complete, booster_doses, is_passport_eligible, is_passport_signed "
        "from marts.person_vaccination where citizen_id = '019085001234'"
    ).fetchone()
    assert row == (3, True, 1, True, True)  # the duplicate is not counted
    nam = marts.execute(
        "select is_primary_series_complete, is_passport_signed from marts.person_vaccination "
        "where citizen_id = '019088000444'"
    ).fetchone()
    assert nam == (False, False)  # one dose, from an unsigned site batch


def test_worklist(marts: duckdb.DuckDBPyConnection) -> None:
    rows = dict(marts.execute(
        "select source_record_id, status from marts.commune_worklist"
    ).fetchall())
    assert rows[fixture.DOSE_TWIN[1]] == "open"
    assert rows[fixture.DOSE_TWIN_RETURNED[1]] == "applied"
    assert rows[fixture.DOSE_NOT_FOUND[1]] == "returned"
    assert fixture.DOSE_BORROWED[1] in rows
    assert fixture.DOSE_ORIGINAL[1] not in rows
    item = marts.execute(
        "select worklist_item_id, candidate_citizen_id from marts.commune_worklist where source_record_id = ?",
        [fixture.DOSE_BORROWED[1]],
    ).fetchone()
    assert item[0] == marts.execute("select md5('platform/' || ?)", [fixture.DOSE_BORROWED[1]]).fetchone()[0]
    assert item[1] == "019070000888"


def test_complaints(marts: duckdb.DuckDBPyConnection) -> None:
    rows = {r[0]: r[1:] for r in marts.execute(
        "select ticket_id, category, is_category_inferred, citizen_id, is_sla_breached, age_days "
        "from marts.complaint_tracking"
    ).fetchall()}
    assert rows["TK1"][:3] == ("missing_dose", True, "019088000444")
    assert rows["TK1"][3] is True  # received 2022-06-01, still open at 2022-07-15
    assert rows["TK2"] == ("wrong_personal_info", False, "019195000777", False, 5)
    assert rows["CALL-1"][:3] == ("duplicate_record", True, "019175000333")


def test_kpi_series_ends_at_the_clock(marts: duckdb.DuckDBPyConnection) -> None:
    last, communes = marts.execute(
        "select max(as_of_date), count(distinct commune_code) from marts.kpi_commune_daily"
    ).fetchone()
    assert str(last) == fixture.AS_OF[:10]
    assert communes >= 178
    credited = marts.execute(
        "select doses_credited from marts.kpi_commune_daily where commune_code = '05434' and as_of_date = ?",
        [fixture.AS_OF[:10]],
    ).fetchone()[0]
    expected = marts.execute(
        "select count(*) from marts.dose_reconciliation where commune_code = '05434' "
        "and match_status in ('verified', 'corrected', 'probable')"
    ).fetchone()[0]
    assert credited == expected


def _documented_types() -> dict[str, list[tuple[str, str]]]:
    """Parse docs/mart_columns.md: `## <mart>` then `name TYPE (...), name TYPE, ...`."""
    text = (PROJECT_ROOT / "docs" / "mart_columns.md").read_text(encoding="utf-8")
    marts: dict[str, list[tuple[str, str]]] = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        name = title.split()[0]
        body = re.sub(r"\([^)]*\)", "", body.split("\n\n")[0].replace("\n", " "))
        cols = []
        for part in body.split(","):
            words = part.split()
            if len(words) >= 2:
                cols.append((words[0], words[1].upper().rstrip(".")))
        marts[name] = cols
    return marts


def test_contract_types_match_the_docs(marts: duckdb.DuckDBPyConnection) -> None:
    documented = _documented_types()
    assert {"dose_reconciliation", "person_vaccination", "commune_worklist", "complaint_tracking",
            "kpi_commune_daily"} <= set(documented)  # the contract
    published = {name for (name,) in marts.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    ).fetchall()}
    assert set(documented) == published  # every published mart is documented, the additional ones too
    assert set(documented) == set(MART_MODELS)  # ... and gated
    for mart, columns in documented.items():
        actual = marts.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position", [mart]
        ).fetchall()
        assert actual[: len(columns)] == columns, mart


def test_parse_and_failure_reporting(tmp_path: Path) -> None:
    counts = parse(warehouse_dir=tmp_path)
    # 6 upstream sources + the intake bookkeeping (2) + what the previous build left for the dose chain (2)
    assert counts["sources"] == 10 and counts["nodes"]["model"] >= 20
    # no raw lake under this warehouse: the source glob matches nothing and the model fails
    with pytest.raises(DbtFailure, match="stg_platform__immunizations"):
        run_dbt(["run", "--select", "stg_platform__immunizations"], warehouse_dir=tmp_path)


def _failing_dbt_test(built_warehouse: dict[str, object], tmp_path: Path, statements: list[str], select: str,
                      match: str) -> str:
    """`dbt test --select <select>` on a copy of the built warehouse after `statements` broke it: the
    failure's message (the test must fail, naming `match`)."""
    import shutil

    warehouse = tmp_path / "warehouse"
    shutil.copytree(Path(str(built_warehouse["warehouse"])), warehouse)
    with duckdb.connect(str(warehouse / "warehouse.duckdb")) as con:
        for statement in statements:
            con.execute(statement)
    with pytest.raises(DbtFailure, match=match) as failure:
        run_dbt(["test", "--select", select], warehouse_dir=warehouse, vars={"as_of": fixture.AS_OF})
    return str(failure.value)


def test_primary_key_test_catches_a_duplicate_and_a_null_key(built_warehouse: dict[str, object], tmp_path: Path) -> None:
    """A dose chain model's key test (macros/tests/primary_key.sql) fails on a repeated and on a null key."""
    message = _failing_dbt_test(built_warehouse, tmp_path, [
        "insert into intermediate.int_dose_records_unioned select * from intermediate.int_dose_records_unioned limit 1",
        "insert into intermediate.int_dose_records_unioned "
        "select * replace (null as dose_record_key) from intermediate.int_dose_records_unioned limit 1",
    ], "int_dose_records_unioned,test_name:primary_key", "primary_key_int_dose_records_unioned_dose_record_key")
    assert "Got 2 results" in message


def test_not_null_columns_names_each_column_with_nulls(built_warehouse: dict[str, object], tmp_path: Path) -> None:
    """A mart's required columns are checked by one not_null_columns test: a row per column with nulls."""
    message = _failing_dbt_test(built_warehouse, tmp_path, [
        "update marts.complaint_tracking set category = null, sla_days = null "
        "where ticket_id = (select min(ticket_id) from marts.complaint_tracking)",
    ], "complaint_tracking,test_name:not_null_columns", "not_null_columns_complaint_tracking")
    assert "Got 2 results" in message


def test_what_a_build_may_skip_comes_from_dbt_lineage(tmp_path: Path) -> None:
    """vaxclean.build decides which models a build may skip, and which raw tables make the dose chain's build
    full, from the manifest: a model's raw tables are those its lineage reaches."""
    from vaxclean.build import full_build_inputs, layer_inputs
    from vaxclean.transform.dbt import parse_manifest

    manifest = parse_manifest(warehouse_dir=tmp_path)
    assert full_build_inputs(manifest) == ("population",)
    staging = layer_inputs(manifest, "staging")
    assert staging["stg_site_batches__batch_rows"] == ("site_batch_rows",)
    assert staging["stg_police_returns__verifications"] == ("police_returns",)
    assert "stg_platform__immunizations" not in staging  # incremental: finds its own changes
    assert len(staging) == 9 and all(staging.values())
    assert layer_inputs(manifest, "marts") == {
        "int_complaints_linked": ("feedback_tickets", "hotline_calls", "population"),
        "int_complaints_unioned": ("feedback_tickets", "hotline_calls"),
        "int_population_linkage_features": ("population",),
    }


def test_every_reader_of_the_previous_build_runs_before_its_writer(tmp_path: Path) -> None:
    """The source previous_build.<table> is the table a model of the same run overwrites: every model reading
    it must be upstream of that model, or it could read this build's state instead of the previous one."""
    from vaxclean.transform.dbt import parse_manifest

    manifest = parse_manifest(warehouse_dir=tmp_path)
    parents = {uid: set(getattr(node.depends_on, "nodes", ())) for uid, node in manifest.nodes.items()}

    def ancestors(uid: str) -> set[str]:
        seen, pending = set(), [uid]
        while pending:
            for parent in parents.get(pending.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        return seen

    sources = [s for s in manifest.sources.values() if s.source_name == "previous_build"]
    assert {s.identifier for s in sources} == {"int_dose_chain_state", "int_complaint_citizens_collected"}
    for source in sources:
        writer = next(uid for uid, n in manifest.nodes.items() if n.resource_type == "model"
                      and n.alias == source.identifier)
        readers = [uid for uid, p in parents.items() if source.unique_id in p
                   and manifest.nodes[uid].resource_type == "model"]
        assert readers and all(r in ancestors(writer) for r in readers), (source.identifier, readers)
