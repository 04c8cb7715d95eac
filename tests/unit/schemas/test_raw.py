"""Raw schemas mirror the raw layout exactly; each accepts a valid frame and rejects a null key."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from vaxclean.raw.layout import RAW_TABLES
from vaxclean.schemas import examples
from vaxclean.schemas.raw import RAW_KEYS, RAW_MODELS


def test_every_raw_table_has_a_schema_with_its_exact_arrow_types() -> None:
    assert set(RAW_MODELS) == set(RAW_TABLES) == set(RAW_KEYS)
    for name, table in RAW_TABLES.items():
        expected = dict(pl.from_arrow(table.schema.empty_table()).schema)
        schema = RAW_MODELS[name].to_schema()
        assert {c: col.dtype.type for c, col in schema.columns.items()} == expected, name


@pytest.mark.parametrize("table", list(RAW_MODELS))
def test_valid_frame_passes(table: str) -> None:
    RAW_MODELS[table].validate(examples.raw_frame(table, 3), lazy=True)


@pytest.mark.parametrize("table", list(RAW_MODELS))
def test_null_key_fails(table: str) -> None:
    schema = RAW_MODELS[table].to_schema()
    key = next(c for c, col in schema.columns.items() if not col.nullable)
    frame = examples.raw_frame(table, 3).with_columns(pl.lit(None, dtype=schema.columns[key].dtype.type).alias(key))
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        RAW_MODELS[table].validate(frame, lazy=True)
    assert key in caught.value.failure_cases["column"].to_list()


def test_load_audit_must_add_up() -> None:
    frame = examples.raw_frame("load_audit", 2).with_columns(loaded=pl.lit(3, dtype=pl.Int64))
    with pytest.raises(pa.errors.SchemaErrors, match="received_is_loaded_plus_quarantined"):
        RAW_MODELS["load_audit"].validate(frame, lazy=True)
