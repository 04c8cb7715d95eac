"""The incremental build equals a full build: a generated scenario is built, then a delta arrives (platform
edits of names, birth dates, IDs, phones and dates, tombstones, new doses and re-keyed copies of existing
ones, a station renamed as a company's clinic on most of its records, a site batch delivered again under
another file name); the incremental build (vaxclean.build,
dose chain by scope) and a full refresh of the same raw layer give the same rows in every table of the
dose chain and every mart."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from pathlib import Path

import duckdb
import pytest

PEOPLE, SEED = 2500, 31
T0 = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)  # after every version of the generated history
T1 = T0 + dt.timedelta(hours=1)


def _build(run_id: str, *, publish: bool = False) -> dict:
    from vaxclean.build import build_layer, gate, publish_marts

    built = {}
    for layer in ("staging", "marts"):  # in the DAG's order
        built[layer] = build_layer(layer, run_id)
        if publish:
            built[f"gate_{layer}"] = gate(layer, run_id)
    if publish:
        built["publish"] = publish_marts(run_id, {})
    return built


def _delta(history: Path, out: Path, rng: random.Random) -> tuple[dict[str, int], str]:
    """Platform versions in [T0, T1) that touch every scope rule (phone, ID, name + birth date, citizen, a
    site's kind)."""
    records = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines() if line.strip()]
    newest = {r["record_id"]: r for r in sorted(records, key=lambda r: r["updated_at"])}
    live = [r for r in newest.values() if not r.get("deleted")]
    picked = rng.sample(live, 240)
    phones = [r["phone"] for r in live if r.get("phone")]
    kinds = ["name", "dob", "no_id", "phone", "tombstone", "copy", "next_dose", "date"]
    out_rows, counts = [], dict.fromkeys(kinds, 0)
    for i, record in enumerate(picked):
        kind = kinds[i % len(kinds)]
        row = dict(record)
        row["updated_at"] = (T0 + dt.timedelta(seconds=10 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if kind == "name":
            row["full_name"] = (row.get("full_name") or "") + " Văn"
        elif kind == "dob":
            row["date_of_birth"] = "01/01/1970"
        elif kind == "no_id":
            row["id_number"] = ""
        elif kind == "phone":
            row["phone"] = rng.choice(phones)
        elif kind == "tombstone":
            row["deleted"] = True
        elif kind == "copy":  # the same dose keyed in again: a duplicate
            row["record_id"] = f"IMMD{i:08d}"
        elif kind == "next_dose":  # a later dose of the same person: the sequence moves
            row["record_id"] = f"IMMN{i:08d}"
            row["vaccinated_on"] = (dt.date.fromisoformat(row["vaccinated_on"]) + dt.timedelta(days=120)).isoformat()
        elif kind == "date":
            row["vaccinated_on"] = (dt.date.fromisoformat(row["vaccinated_on"]) - dt.timedelta(days=40)).isoformat()
        counts[kind] += 1
        out_rows.append(row)
    # a site renamed on most of its records: its kind changes (a station becomes a workplace clinic), and
    # its records not renamed (outside R0) must be screened and routed again by the new kind
    by_site: dict[str, list[dict]] = {}
    for r in live:
        by_site.setdefault(r["site_code"], []).append(r)
    site = min((c for c, rs in by_site.items() if len(rs) >= 8), key=lambda c: (len(by_site[c]), c))
    untouched = {r["record_id"] for r in picked}
    renamed = sorted((r for r in by_site[site] if r["record_id"] not in untouched), key=lambda r: r["record_id"])[2:]
    for j, record in enumerate(renamed):
        row = dict(record, site_name="Phòng y tế Công ty TNHH Điện tử Delta")
        row["updated_at"] = (T0 + dt.timedelta(seconds=10 * len(picked) + j)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out_rows.append(row)
    counts["site_renamed"] = len(renamed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out_rows), encoding="utf-8")
    return counts, site


@pytest.fixture(scope="module")
def builds(tmp_path_factory, monkeypatch_module, extract_and_load):
    from vaxclean.load import load_site_batches
    from vaxclean.scenario import generate

    base = tmp_path_factory.mktemp("incremental")
    scenario, warehouse = base / "scenario", base / "warehouse"
    generate(scenario, people=PEOPLE, seed=SEED)
    monkeypatch_module.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    monkeypatch_module.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    raw = warehouse / "raw"
    extract_and_load(scenario, raw, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), T0)
    first = _build("first", publish=True)

    counts, renamed_site = _delta(scenario / "platform" / "immunizations.jsonl",
                    base / "delta" / "platform" / "immunizations.jsonl", random.Random(SEED))
    extract_and_load(base / "delta", raw, T0, T1, ("immunizations",), load_files=False)
    # a site batch exported again later, its last row withdrawn: a new version of the batch
    batch = sorted((scenario / "site_batches").rglob("*.csv"))[0]
    lines = batch.read_bytes().splitlines(keepends=True)
    site, week = batch.stem.split("_")[:2]
    batch.with_name(f"{site}_{week}_xuat_2022-12-31.csv").write_bytes(b"".join(lines[:-1]))
    load_site_batches(scenario, raw)
    incremental = _build("incremental", publish=True)

    # the same raw layer, built from scratch
    full = base / "full"
    shutil.copytree(raw, full / "raw")
    monkeypatch_module.setenv("VAXCLEAN_WAREHOUSE_DIR", str(full))
    _build("full")
    return {"first": first, "incremental": incremental, "counts": counts, "renamed_site": renamed_site,
            "incremental_db": warehouse / "warehouse.duckdb", "full_db": full / "warehouse.duckdb",
            "published_db": warehouse / "published" / "marts.duckdb"}


def test_the_second_build_is_incremental(builds):
    assert builds["first"]["marts"]["full_refresh"] is True
    assert builds["incremental"]["marts"]["full_refresh"] is False
    staging = builds["incremental"]["staging"]
    assert staging["full_refresh"] is False
    # only the sources that changed are rebuilt: population, police returns, hotline, feedback stand
    assert "stg_population__citizens" in staging["excluded"]
    assert "stg_site_batches__batch_rows" not in staging["excluded"]
    # no new complaints and the same population: the population's tables and the complaint linkage stand
    assert sorted(builds["incremental"]["marts"]["excluded"]) == [
        "int_complaints_linked", "int_complaints_unioned", "int_population_linkage_features"]


def test_incremental_equals_full_refresh(builds, compare_builds):
    tables, incremental_tables, differences = compare_builds(builds["incremental_db"], builds["full_db"])
    assert "intermediate.int_dose_records_sequenced" in tables and "marts.person_vaccination" in tables
    assert tables == incremental_tables
    assert differences == {}


def test_a_site_whose_kind_changed_is_screened_and_routed_again(builds):
    """The renamed station is a workplace clinic now; all its records, renamed or not, were re-derived."""
    con = duckdb.connect(str(builds["incremental_db"]), read_only=True)
    kind, outside = con.execute("""
        select
            (select site_kind from intermediate.int_vaccination_sites_classified where site_code = $site),
            (select count(*) from intermediate.int_dose_records_unioned as records
             where records.site_code = $site
                 and records.dose_record_key not in (select dose_record_key from intermediate.int_dose_scopes_sequenced))
    """, {"site": builds["renamed_site"]}).fetchone()
    assert kind == "workplace_clinic"
    assert outside == 0


def test_the_scopes_were_small_and_the_delta_landed(builds):
    con = duckdb.connect(str(builds["incremental_db"]), read_only=True)
    changed, sequenced, records = con.execute(
        "select (select count(*) from intermediate.int_dose_scopes_changed), "
        "(select count(*) from intermediate.int_dose_scopes_sequenced), "
        "(select count(*) from intermediate.int_dose_records_unioned)").fetchall()[0]
    assert changed >= sum(builds["counts"].values())  # the platform delta + the re-delivered batch
    # the next build's watermark: the newest extraction staged, kept in the chain state
    watermark, newest = con.execute("select (select max(extracted_at) from intermediate.int_dose_chain_state), "
                                    "(select max(last_extracted_at) from staging.stg_platform__immunizations)"
                                    ).fetchall()[0]
    assert watermark is not None and watermark == newest
    assert sequenced < records / 2
    copies = con.execute("select count(*) from marts.dose_reconciliation where source_record_id like 'IMMD%' "
                         "and match_status = 'duplicate'").fetchall()[0][0]
    assert copies > 0


def test_the_published_file_is_patched_and_equals_the_marts(builds):
    assert builds["first"]["publish"]["patched"] is False
    assert builds["incremental"]["publish"]["patched"] is True
    assert builds["incremental"]["publish"]["validated_by"] == "fingerprints of the passed marts gate"
    con = duckdb.connect()
    con.execute(f"attach '{builds['published_db']}' as pub (read_only)")
    con.execute(f"attach '{builds['full_db']}' as full_build (read_only)")
    marts = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                       "where table_catalog = 'full_build' and table_schema = 'marts' order by 1"
                                       ).fetchall()]
    assert "dose_reconciliation" in marts
    for table in marts:
        a, b = f"pub.marts.{table}", f"full_build.marts.{table}"
        assert con.execute(f"select (select count(*) from (from {a} except all from {b})) "
                           f"+ (select count(*) from (from {b} except all from {a}))").fetchone()[0] == 0, table
    runs = [r[0] for r in con.execute("select run_id from pub.ops.run_log order by published_at").fetchall()]
    assert runs == ["first", "incremental"]


def test_the_bi_layer_is_patched_and_equals_one_built_whole(builds, tmp_path):
    """After the incremental build the BI file was patched (the previous version's, the re-derived rows
    replaced): it equals a BI layer built whole from the same published restricted file."""
    import os

    from vaxclean.publish import bi

    assert builds["first"]["publish"]["bi_patched"] is False
    assert builds["incremental"]["publish"]["bi_patched"] is True
    published = Path(builds["published_db"]).parent
    whole = tmp_path / "whole.duckdb"
    bi.build_bi(whole, restricted_db=published / "marts.duckdb", warehouse_db=Path(builds["incremental_db"]),
                secret=os.environ["VAXCLEAN_PSEUDONYM_SECRET"])
    con = duckdb.connect()
    con.execute(f"attach '{published / 'bi.duckdb'}' as patched (read_only)")
    con.execute(f"attach '{whole}' as whole (read_only)")
    tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where database_name = 'whole' "
                                        "and schema_name = 'marts' and table_name <> 'pipeline_runs'").fetchall()]
    assert {"dose_reconciliation", "person_vaccination"} <= set(tables)
    for table in tables:
        a, b = f"patched.marts.{table}", f"whole.marts.{table}"
        assert con.execute(f"select (select count(*) from (from {a} except all from {b})) "
                           f"+ (select count(*) from (from {b} except all from {a}))").fetchone()[0] == 0, table


def test_the_gates_of_the_incremental_build_read_what_it_rederived(builds):
    assert not builds["first"]["gate_marts"]["scope"] and not builds["first"]["gate_staging"]["scope"]
    marts = builds["incremental"]["gate_marts"]
    assert marts["passed"] and "passed the gate of build" in marts["scope"]
    doses = next(t for t in marts["tables"] if t["table"] == "dose_reconciliation")
    assert 0 < doses["rows"] < doses["table_rows"] / 2
    staging = builds["incremental"]["gate_staging"]
    assert staging["passed"] and "stg_population__citizens" in staging["scope"]  # not rebuilt: not read
    platform = next(t for t in staging["tables"] if t["table"] == "stg_platform__immunizations")
    assert 0 < platform["rows"] < platform["table_rows"] / 2


# scoped model: its rows of the scope (the scope tables are in the intermediate schema)
RECORD_KEY, CITIZENS = "dose_record_key in (select dose_record_key from intermediate.{})", \
    "citizen_id in (select citizen_id from intermediate.int_dose_scopes_credited)"
SCOPED = {
    "intermediate.int_dose_records_unioned": RECORD_KEY.format("int_dose_scopes_changed"),
    "intermediate.int_dose_records_linked": RECORD_KEY.format("int_dose_scopes_changed"),
    "intermediate.int_dose_records_matched": RECORD_KEY.format("int_dose_scopes_matched"),
    "intermediate.int_dose_records_verified": RECORD_KEY.format("int_dose_scopes_matched"),
    "intermediate.int_dose_records_deduplicated": RECORD_KEY.format("int_dose_scopes_paired"),
    "intermediate.int_dose_records_screened": RECORD_KEY.format("int_dose_scopes_sequenced"),
    "intermediate.int_dose_records_sequenced": RECORD_KEY.format("int_dose_scopes_sequenced"),
    "intermediate.int_dose_chain_state": RECORD_KEY.format("int_dose_scopes_sequenced"),
    "marts.commune_worklist": "source || '/' || source_record_id in "
                              "(select dose_record_key from intermediate.int_dose_scopes_sequenced)",
    "marts.person_vaccination": CITIZENS,
}


def test_each_scoped_model_kept_exactly_its_rows_of_the_scope(builds):
    """What the next models of a scope, the tests, the gate and the publisher read instead of filtering the
    model (dbt_project/macros/dose_chain.sql, get_incremental_dose_scope_sql): every row of the scope's
    keys, nothing else; a full build keeps none. The build record lists each scoped model as its YAML
    declares it (from the manifest)."""
    con = duckdb.connect(str(builds["incremental_db"]), read_only=True)
    for model, in_scope in SCOPED.items():
        kept, rows = f"intermediate.{model.split('.')[1]}__rederived", f"(select * from {model} where {in_scope})"
        kept_rows, extra, missing = con.execute(
            f"select (select count(*) from {kept}), (select count(*) from (from {kept} except all from {rows})), "
            f"(select count(*) from (from {rows} except all from {kept}))").fetchone()
        # (the screening keeps only suspected records: the delta may touch none)
        assert (kept_rows > 0 or "screened" in model) and (extra, missing) == (0, 0), model
    con.close()
    from vaxclean.state import read_build_stamp

    declared = read_build_stamp(builds["incremental_db"].parent, "marts")["scoped_models"]
    assert {f"{d['relation']}" for d in declared.values()} == {*SCOPED, "marts.dose_reconciliation"}
    assert declared["dose_reconciliation"]["projection_of"] == "intermediate.int_dose_records_sequenced"
    with duckdb.connect(str(builds["full_db"]), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables() where suffix(table_name, '__rederived')"
                           ).fetchall()[0][0] == 0
        # a full build re-derives everything: every scope is empty
        scopes = [name for (name,) in con.execute("select table_name from duckdb_tables() "
                                                  "where starts_with(table_name, 'int_dose_scopes_')").fetchall()]
        assert len(scopes) == 5
        assert all(con.execute(f"select count(*) from intermediate.{s}").fetchall()[0][0] == 0 for s in scopes)


def test_a_plain_dbt_build_after_a_new_population_equals_a_full_one(builds, tmp_path, compare_builds):
    """`dbt build` without --full-refresh and without a build record after a new population snapshot
    (vaxclean.build would refresh): the chain's models take their full_refresh from the build record, so
    the chain is built in full and keeps no re-derived rows. It equals a --full-refresh."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vaxclean.load import load_population
    from vaxclean.transform.dbt import run_dbt

    plain, full, landing = tmp_path / "plain", tmp_path / "full", tmp_path / "landing"
    shutil.copytree(builds["incremental_db"].parent, plain)
    snapshots = sorted((builds["incremental_db"].parent.parent / "scenario" / "population").iterdir())
    citizens = pq.read_table(sorted(snapshots[-1].glob("*.parquet"))[0])
    names = citizens.column("full_name").to_pylist()
    names[0] = (names[0] or "") + " Văn"  # a citizen renamed: every match can change
    later = landing / "population" / "2022-12-31"
    later.mkdir(parents=True)
    renamed = pa.array(names, citizens.schema.field("full_name").type)
    pq.write_table(citizens.set_column(citizens.schema.get_field_index("full_name"), "full_name", renamed),
                   later / "part-0.parquet")
    assert load_population(landing, plain / "raw")["files_loaded"] == 1
    run_dbt(["build", "--exclude", "resource_type:unit_test"], warehouse_dir=plain)
    shutil.copytree(plain / "raw", full / "raw")
    run_dbt(["build", "--full-refresh", "--exclude", "resource_type:unit_test"], warehouse_dir=full)

    with duckdb.connect(str(plain / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from intermediate.int_dose_scopes_changed").fetchall() == [(0,)]
        assert con.execute("select count(*) from duckdb_tables() where suffix(table_name, '__rederived')"
                           ).fetchall()[0][0] == 0
    tables, plain_tables, differences = compare_builds(plain / "warehouse.duckdb", full / "warehouse.duckdb")
    assert "intermediate.int_dose_records_sequenced" in tables and tables == plain_tables
    assert differences == {}


def test_incremental_deletes_stay_in_their_row_groups_until_a_compaction(builds, monkeypatch):
    """Vacuum is off (vaxclean.transform.storage): the rows an incremental build re-derived are still stored
    as deleted ones in the warehouse and the patched published file; a published file holding
    COMPACT_DELETED_SHARE of them is not patched again but copied whole."""
    from vaxclean.build import _deleted_share, publish_marts
    from vaxclean.publish import publisher
    from vaxclean.transform.storage import deleted_share

    assert _deleted_share("marts", builds["incremental_db"]) > 0
    with duckdb.connect(str(builds["published_db"]), read_only=True) as con:
        assert deleted_share(con, "marts", ["marts"]) > 0
    monkeypatch.setattr(publisher, "COMPACT_DELETED_SHARE", 0.0)
    monkeypatch.setenv("VAXCLEAN_WAREHOUSE_DIR", str(builds["incremental_db"].parent))
    republished = publish_marts("incremental", {})
    assert republished["patched"] is False
    with duckdb.connect(str(builds["published_db"]), read_only=True) as con:
        assert deleted_share(con, "marts", ["marts"]) == 0
        assert con.execute("select count(*) from marts.marts.dose_reconciliation").fetchall()[0][0] == \
            republished["mart_rows"]["dose_reconciliation"]
