"""The raw lake's layout: a table whose schema gained a column is readable across old and new files."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

from vaxclean.load import registry
from vaxclean.raw.layout import RAW_TABLES, init_raw, table_dir, table_glob, write_parquet_atomic


def test_a_lake_written_before_a_column_was_added_reads_it_as_null(tmp_path: Path) -> None:
    """file_registry gained file_modified_at: a lake of the previous schema (its _empty.parquet and a registry
    row without the column) still reads, the column null in the old row and set in a new one."""
    schema = RAW_TABLES["file_registry"].schema
    old = pa.schema([f for f in schema if f.name != "file_modified_at"])
    write_parquet_atomic(old.empty_table(), table_dir(tmp_path, "file_registry") / "_empty.parquet")
    old_row = {"file_sha256": "a" * 64, "source": "site_batch", "file_path": "site_batches/S1/a.csv", "size_bytes": 1,
               "load_id": "L1", "status": "loaded", "registered_at": None}
    write_parquet_atomic(pa.Table.from_pylist([old_row], schema=old),
                         table_dir(tmp_path, "file_registry") / "site_batch" / f"{'a' * 64}.parquet")
    init_raw(tmp_path)
    query = (f"select file_path, epoch(file_modified_at) from read_parquet('{table_glob(tmp_path, 'file_registry')}', "
             "union_by_name = true)")
    assert duckdb.sql(query).fetchall() == [("site_batches/S1/a.csv", None)]  # no file has it yet: still a column
    landed = tmp_path / "b.csv"
    landed.write_text("x")
    os.utime(landed, (1_650_000_000, 1_650_000_000))
    registry.register_file(tmp_path, source="site_batch", sha256="b" * 64, file_path="site_batches/S1/b.csv",
                           size_bytes=1, load_id="L2", status="loaded", modified_at=registry.modified_time(landed))
    rows = dict(duckdb.sql(query).fetchall())
    assert rows == {"site_batches/S1/a.csv": None, "site_batches/S1/b.csv": 1_650_000_000}
