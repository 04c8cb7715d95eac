from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from vaxclean.transform.dbt import run_dbt

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package: make dbt_raw_fixture importable

from dbt_raw_fixture import AS_OF, write_fixture  # noqa: E402


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The fixture's raw lake built once by `dbt build` (unit tests, models, data tests)."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    write_fixture(warehouse)
    summary = run_dbt(["build"], warehouse_dir=warehouse, vars={"as_of": AS_OF})
    return {"warehouse": warehouse, "summary": summary}


@pytest.fixture(scope="session")
def marts(built_warehouse: dict[str, object]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(Path(str(built_warehouse["warehouse"])) / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()
