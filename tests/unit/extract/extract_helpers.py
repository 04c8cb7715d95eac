"""Helpers of the extraction tests (a uniquely named module: conftest names collide across test dirs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

TOKEN = "test-token"
SINCE = datetime(2021, 8, 3, tzinfo=UTC)
UNTIL = datetime(2021, 8, 25, tzinfo=UTC)


def expected_keys(scenario: Path, since: datetime = SINCE, until: datetime = UNTIL) -> dict[str, int]:
    """Served versions in the window, counted by (record_id or None, updated_at), read independently."""
    counts: dict[str, int] = {}
    for line in (scenario / "platform" / "immunizations.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if since <= datetime.fromisoformat(record["updated_at"]).astimezone(UTC) < until:
            key = f"{record.get('record_id')}|{record['updated_at']}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def raw_rows(path: str | Path, drop: tuple[str, ...] = ("_extracted_at",)) -> list[dict]:
    table = pq.read_table(path)
    return table.drop_columns(list(drop)).to_pylist()


def content(path: str | Path) -> set[tuple[str, str, str]]:
    return {(r["record_id"], r["updated_at"], r["payload"]) for r in raw_rows(path)}
