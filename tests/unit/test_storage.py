"""vaxclean.transform.storage: the share of deleted rows a DuckDB file still stores, and vaxclean.build
rewriting a layer (full refresh) once it reaches COMPACT_DELETED_SHARE."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from vaxclean import build
from vaxclean.transform.storage import COMPACT_DELETED_SHARE, deleted_share


def test_deleted_rows_count_until_their_row_groups_are_rewritten(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("set max_vacuum_tasks = 0")
    con.execute("create schema s")
    con.execute("create table s.big as select range as id from range(300000)")
    con.execute("create table s.small as select range as id from range(10)")
    con.execute("checkpoint")
    assert deleted_share(con, "w", ["s"]) == 0
    con.execute("delete from s.big where id % 5 = 0")  # scattered, as a scope is
    con.execute("checkpoint")
    assert deleted_share(con, "w", ["s"]) == pytest.approx(0.2)
    assert deleted_share(con, "w", ["other"]) == 0
    con.execute("create or replace table s.big as select * from s.big")  # what a full refresh does
    assert deleted_share(con, "w", ["s"]) == 0


@pytest.mark.parametrize("share", [0.0, COMPACT_DELETED_SHARE])
def test_a_layer_holding_many_deleted_rows_is_rebuilt_in_full(monkeypatch, tmp_path: Path, share: float) -> None:
    monkeypatch.setattr(build, "_deleted_share", lambda layer, db: share)
    skippable = {"stg_site_batches__batch_rows": ("site_batch_rows",), "stg_hotline__calls": ("hotline_calls",)}
    inputs = {"site_batch_rows": "new", "hotline_calls": "h"}
    stamp = {"code": "c", "build_id": "b1", "inputs": inputs | {"site_batch_rows": "old"}}
    reason = build._full_build_reason("staging", stamp, "c", tmp_path / "warehouse.duckdb")
    full_refresh, excluded, why = build._plan("staging", stamp, inputs, tmp_path / "warehouse.duckdb", skippable, (),
                                              reason)
    assert full_refresh is (share >= COMPACT_DELETED_SHARE)
    assert excluded == ([] if full_refresh else ["resource_type:seed", "stg_hotline__calls"])
    assert why == ("compaction: 10 % of a table's stored rows are deleted ones" if full_refresh else "continues build b1")
