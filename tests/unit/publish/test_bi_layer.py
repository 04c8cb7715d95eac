"""The BI layer and the published set: pseudonymised, labelled, published with the restricted file as one
set, readable by the right people only; a missing key or a failure publishes nothing."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vaxclean.personal_data import PERSONAL_COLUMNS
from vaxclean.publish import bi, publish
from vaxclean.schemas import examples

SECRET = "another-test-secret-0123456789-abcdef"


def _load(warehouse: Path, scale: int = 1) -> dict[str, pl.DataFrame]:
    marts, sources = examples.consistent_marts(scale)
    examples.write_warehouse(warehouse / "warehouse.duckdb", {"marts": marts, **sources})
    return marts


def _files(published: Path) -> dict[str, str]:
    return {str(p.relative_to(published)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in published.rglob("*") if p.is_file() and not p.is_symlink()}


def test_marts_dot_table_works_in_the_bi_file_and_holds_no_personal_column(tmp_path: Path) -> None:
    marts = _load(tmp_path)
    result = publish(warehouse_dir=tmp_path, run_id="r1", run_info={}, secret=SECRET)
    with duckdb.connect(str(tmp_path / "published" / "bi.duckdb"), read_only=True) as con:
        # what a BI user types first: no "Ambiguous reference to catalog or schema marts"
        assert con.execute("select count(*) from marts.complaint_tracking").fetchone()[0] == marts["complaint_tracking"].height
        columns = con.execute("select table_name, column_name from duckdb_columns() "
                              "where database_name = current_database()").fetchall()
        tables = {t for t, _ in columns}
        labels = dict(con.execute("select match_status, any_value(match_status_label) from marts.dose_reconciliation "
                                  "group by 1").fetchall())
        issues = con.execute("select issues_text, issues_label from marts.dose_reconciliation "
                             "where match_status = 'needs_review' limit 1").fetchone()
        names = con.execute("select distinct district_name from marts.person_vaccination").fetchall()
    assert not {c for _, c in columns} & PERSONAL_COLUMNS
    assert "commune_worklist" not in tables and {"worklist_commune_daily", "ref_admin_units", "ref_code_labels",
                                                  "pipeline_runs"} <= tables
    assert labels["verified"] == "Đã xác thực" and labels["duplicate"] == "Bản ghi trùng"
    assert issues == ("name_mismatch, dob_mismatch", "Họ tên không khớp CSDL dân cư; Ngày sinh không khớp CSDL dân cư")
    assert names == [("Thành phố Thái Nguyên",)]
    assert result["bi_rows"]["dose_reconciliation"] == marts["dose_reconciliation"].height
    assert (tmp_path / "published" / "bi" / "parquet" / "dose_reconciliation.parquet").exists()


def _keys(warehouse: Path, mart: str, secret: str, run_id: str) -> set[str]:
    """Publish with `secret`; the citizen keys of one mart of the BI layer."""
    publish(warehouse_dir=warehouse, run_id=run_id, run_info={}, secret=secret)
    with duckdb.connect(str(warehouse / "published" / "bi.duckdb"), read_only=True) as con:
        return {r[0] for r in con.execute(f"select citizen_key from marts.{mart} where citizen_key is not null")
                .fetchall()}


@pytest.mark.parametrize("secret", [SECRET, "k" * 100])  # a key longer than SHA-256's block is hashed first
def test_citizen_keys_are_the_keyed_pseudonym_stable_across_runs_and_secret_dependent(tmp_path: Path,
                                                                                       secret: str) -> None:
    marts = _load(tmp_path)
    expected = {bi.citizen_key(secret, c) for c in marts["person_vaccination"]["citizen_id"]}
    assert expected == {hmac.new(secret.encode(), c.encode(), hashlib.sha256).hexdigest()[:32]
                        for c in marts["person_vaccination"]["citizen_id"]}  # RFC 2104, as Python computes it
    assert _keys(tmp_path, "person_vaccination", secret, "r1") == expected
    assert _keys(tmp_path, "person_vaccination", secret, "r2") == expected  # the same every run
    assert not _keys(tmp_path, "person_vaccination", secret + "x", "r3") & expected  # another key: unrelated
    # one citizen, one key in every mart: the credited doses carry their citizen's key
    credited = {bi.citizen_key(secret, c) for c in marts["dose_reconciliation"]["citizen_id"].drop_nulls()}
    assert _keys(tmp_path, "dose_reconciliation", secret, "r4") == credited


@pytest.mark.parametrize(("secret", "message"), [(None, "no pseudonym secret"), ("", "no pseudonym secret"),
                                                 ("short-secret", "fewer than 32")])
def test_a_missing_or_short_secret_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     secret: str | None, message: str) -> None:
    _load(tmp_path)
    publish(warehouse_dir=tmp_path, run_id="good", run_info={}, secret=SECRET)
    before = _files(tmp_path / "published")
    monkeypatch.delenv("VAXCLEAN_PSEUDONYM_SECRET", raising=False)
    monkeypatch.delenv("VAXCLEAN_PSEUDONYM_SECRET_FILE", raising=False)
    with pytest.raises(bi.PseudonymSecretError, match=message):
        publish(warehouse_dir=tmp_path, run_id="bad", run_info={}, secret=secret)
    assert _files(tmp_path / "published") == before


def test_the_secret_comes_from_a_file_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vaxclean.config import pseudonym_secret

    key_file = tmp_path / "key"
    key_file.write_text(SECRET + "\n")
    monkeypatch.delenv("VAXCLEAN_PSEUDONYM_SECRET", raising=False)
    monkeypatch.setenv("VAXCLEAN_PSEUDONYM_SECRET_FILE", str(key_file))
    assert pseudonym_secret() == SECRET
    monkeypatch.setenv("VAXCLEAN_PSEUDONYM_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="VAXCLEAN_PSEUDONYM_SECRET_FILE"):
        pseudonym_secret()


def test_personal_files_are_owner_and_group_only_the_bi_layer_readable(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _load(tmp_path)
    monkeypatch.setenv("VAXCLEAN_RESTRICTED_GROUP", str(os.getgid()))
    publish(warehouse_dir=tmp_path, run_id="r1", run_info={}, secret=SECRET)
    current = (tmp_path / "published" / "current").resolve()

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(current / "marts.duckdb") == 0o640 and mode(current / "parquet") == 0o750
    assert {mode(p) for p in (current / "parquet").iterdir()} == {0o640}
    assert mode(current / "bi.duckdb") == 0o644 and mode(current / "bi" / "parquet") == 0o755
    assert mode(current) == 0o755
    monkeypatch.setenv("VAXCLEAN_RESTRICTED_GROUP", "no-such-group-vaxclean")
    with pytest.raises(ValueError, match="no-such-group-vaxclean"):
        publish(warehouse_dir=tmp_path, run_id="r2", run_info={}, secret=SECRET)


def test_the_restricted_file_and_the_bi_layer_switch_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while the BI layer is built leaves both files (and the pointer) as they were; the next
    publication removes what the failed one left."""
    _load(tmp_path)
    publish(warehouse_dir=tmp_path, run_id="good", run_info={}, secret=SECRET)
    published = tmp_path / "published"
    pointer = os.readlink(published / "current")
    before = _files(published)

    def broken_bi(*args, **kwargs):
        raise RuntimeError("disk full while writing the BI layer")

    _load(tmp_path, scale=2)
    monkeypatch.setattr(bi, "build_bi", broken_bi)
    with pytest.raises(RuntimeError, match="disk full"):
        publish(warehouse_dir=tmp_path, run_id="broken", run_info={}, secret=SECRET)
    assert os.readlink(published / "current") == pointer and _files(published) == before
    monkeypatch.undo()
    (published / ".versions" / "20200101T000000Z__crashed").mkdir()  # a hard-killed publication's leftovers
    (published / ".marts.duckdb.old-run.tmp").write_text("personal data")
    result = publish(warehouse_dir=tmp_path, run_id="next", run_info={}, secret=SECRET)
    versions = sorted(p.name for p in (published / ".versions").iterdir())
    assert len(versions) == 2 and versions[-1] == result["version"]  # the current and the previous one
    assert not list(published.glob(".*.tmp"))
    with duckdb.connect(str(published / "marts.duckdb"), read_only=True) as r, \
            duckdb.connect(str(published / "bi.duckdb"), read_only=True) as b:
        assert r.execute("select count(*) from marts.marts.dose_reconciliation").fetchone() == \
            b.execute("select count(*) from marts.dose_reconciliation").fetchone()


def test_a_published_directory_of_the_layout_before_versions_is_taken_over(tmp_path: Path) -> None:
    _load(tmp_path)
    published = tmp_path / "published"
    (published / "parquet").mkdir(parents=True)
    (published / "parquet" / "dose_reconciliation.parquet").write_text("old")
    (published / "marts.duckdb").write_text("old")
    publish(warehouse_dir=tmp_path, run_id="r1", run_info={}, secret=SECRET)
    for name in ("marts.duckdb", "parquet", "bi.duckdb", "bi"):
        assert (published / name).is_symlink(), name
    with duckdb.connect(str(published / "marts.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.marts.dose_reconciliation").fetchone()[0] > 0


def test_a_bi_table_with_a_personal_column_is_never_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: whatever the projection makes, a personal column in the BI file stops the publication."""
    _load(tmp_path)
    projection = bi.projection_sql

    def leaking(mart, columns, source):  # a projection bug: the ID number goes out beside its key
        sql = projection(mart, columns, source)
        return sql.replace("select ", "select t.citizen_id, ", 1) if mart == "person_vaccination" else sql

    monkeypatch.setattr(bi, "projection_sql", leaking)
    with pytest.raises(bi.BiLayerMismatch, match="person_vaccination.citizen_id is a personal column"):
        publish(warehouse_dir=tmp_path, run_id="r1", run_info={}, secret=SECRET)
    assert not (tmp_path / "published" / "marts.duckdb").exists()


def test_a_failure_after_the_switch_leaves_the_new_publication_whole(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the pointer names the new version, nothing removes it (the clean-up failing, a signal)."""
    from vaxclean.publish import versions

    _load(tmp_path)
    publish(warehouse_dir=tmp_path, run_id="r1", run_info={}, secret=SECRET)

    def failing_cleanup(*args, **kwargs):
        raise KeyboardInterrupt("stopped right after the switch")

    monkeypatch.setattr(versions, "remove_old_versions", failing_cleanup)
    with pytest.raises(KeyboardInterrupt):
        publish(warehouse_dir=tmp_path, run_id="r2", run_info={}, secret=SECRET)
    published = tmp_path / "published"
    assert versions.current_version(published).name.endswith("__r2")
    for name in ("marts.duckdb", "bi.duckdb"):
        with duckdb.connect(str(published / name), read_only=True) as con:
            assert con.execute("select count(*) from duckdb_tables()").fetchone()[0] > 0


def test_concurrent_publications_take_turns(tmp_path: Path) -> None:
    """Two publishers at once (the DAG and a manual run): each waits for the other; the set stays whole."""
    from concurrent.futures import ThreadPoolExecutor

    from vaxclean.publish import versions

    _load(tmp_path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda run: publish(warehouse_dir=tmp_path, run_id=run, run_info={}, secret=SECRET),
                                ["a", "b"]))
    published = tmp_path / "published"
    current = versions.current_version(published)
    assert current is not None and current.name in {r["version"] for r in results}
    assert sorted(p.name for p in (published / ".versions").iterdir()) == sorted(r["version"] for r in results)
    with duckdb.connect(str(published / "marts.duckdb"), read_only=True) as con:
        runs = {r[0] for r in con.execute("select run_id from marts.ops.run_log").fetchall()}
    assert runs == {"a", "b"}  # the second carried the first's run log: they did not overlap
