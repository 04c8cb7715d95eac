"""Helpers of the simulator tests (a uniquely named module: conftest names collide across test dirs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def read_versions(path: Path) -> list[dict]:
    """Every servable line of a JSONL file, parsed (an independent reading of what the server should serve)."""
    versions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            stamp = datetime.fromisoformat(record["updated_at"]).astimezone(UTC)
        except (ValueError, TypeError, KeyError):
            continue
        versions.append({"record": record, "at": stamp})
    return versions
