"""The data team's accepts of quarantined loads that blocked publishing.

When the raw gate fails only because of its proportionate quarantine check (`GateReport.needs_acceptance`),
the `build_warehouse` DAG asks for an approval in Airflow's Required Actions view; an approval is recorded
here: which loads, who, when, in which run. The raw gate then no longer counts those loads (their rows stay
in quarantine with their reasons). The record is append-only JSON under the gate reports
(vaxclean.state.quarantine_accepted_path), written atomically.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vaxclean.state import quarantine_accepted_path, write_atomic

log = logging.getLogger(__name__)


def acceptances(warehouse_dir: Path) -> list[dict[str, Any]]:
    """Every accept recorded, oldest first ([] when none; an unreadable record is an error, not "none":
    forgetting accepts would block publishing again without saying why)."""
    path = quarantine_accepted_path(warehouse_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except ValueError as error:
        raise RuntimeError(f"{path} is unreadable ({error.__class__.__name__}); restore it from a backup or "
                           "remove it to be asked again for every blocked load") from None
    return list(data.get("accepts", []))


def accepted_loads(warehouse_dir: Path) -> frozenset[tuple[str, str]]:
    """(source, load_id) of every load an accept covers."""
    return frozenset((load["source"], load["load_id"]) for accept in acceptances(warehouse_dir)
                     for load in accept["loads"])


def record_acceptance(warehouse_dir: Path, loads: list[dict[str, Any]], *, accepted_by: str,
                      accepted_at: datetime | None = None, run_id: str = "", note: str = "") -> dict[str, Any]:
    """Record that `accepted_by` accepted the quarantined `loads` (the report's load summaries: source,
    load_id and counts); returns the accept."""
    if not loads:
        raise ValueError("nothing to accept: no blocked load was named")
    if not accepted_by:
        raise ValueError("an accept needs the name of who accepted")
    accept = {"accepted_by": accepted_by, "accepted_at": (accepted_at or datetime.now(UTC)).isoformat(),
              "run_id": run_id, "note": note,
              "loads": [{k: load.get(k) for k in ("source", "load_id", "received", "quarantined", "reason")}
                        for load in loads]}
    path = quarantine_accepted_path(warehouse_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({"accepts": [*acceptances(warehouse_dir), accept]}, ensure_ascii=False, indent=1))
    log.info("quarantine accepted by %s: %d load(s) of %s", accepted_by, len(loads),
             ", ".join(sorted({load["source"] for load in loads})))
    return accept


def blocked_loads(quarantine: dict[str, Any]) -> list[dict[str, Any]]:
    """The loads an accept must cover to unblock, from a raw gate report's `quarantine` section: every load
    with quarantined rows of a blocking source."""
    return list(quarantine.get("blocked_loads", []))
