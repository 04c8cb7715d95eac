"""A tiny fake API scenario (platform and feedback JSONL only) for tests and throughput benchmarks.

Not the project's scenario generator: records are plausible in shape and size (all contract
fields, Vietnamese text, edits and tombstones served again later) but carry no ground truth.
Lines are written in shuffled order so the simulator's sort is exercised.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ma", "Lường"]
_MIDDLE = ["Văn", "Thị", "Đức", "Ngọc", "Minh", "Thu", "Hữu"]
_GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hương", "Lan", "Nam", "Phúc", "Quỳnh", "Thảo", "Tuấn"]
_VACCINES = ["AstraZeneca", "Vaxzevria", "Pfizer", "Comirnaty", "Moderna", "Vero Cell", "Sputnik V", "Abdala"]
_CATEGORIES = ["missing_dose", "wrong_personal_info", "wrong_dose_info", "certificate_not_issued", None]
_STATUSES = ["received", "assigned", "in_progress", "resolved"]


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _person(rng: random.Random) -> dict[str, object]:
    return {
        "full_name": f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}",
        "date_of_birth": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1935, 2005)}",
        "id_number": f"019{rng.randint(0, 3)}{rng.randint(0, 99):02d}{rng.randint(0, 999999):06d}",
        "phone": f"09{rng.randint(0, 99999999):08d}",
    }


def _immunization(rng: random.Random, number: int, updated: datetime) -> dict[str, object]:
    vaccinated = updated - timedelta(days=rng.randint(0, 20))
    commune = f"{rng.randint(5400, 5900):05d}"
    return {
        "record_id": f"IMM{number:09d}", **_person(rng),
        "gender": rng.choice(["Nam", "Nữ", "nam", "nu", ""]),
        "address": f"Xóm {rng.randint(1, 20)}, xã {rng.choice(_GIVEN)}, huyện Đại Từ, Thái Nguyên",
        "province_code": "19", "district_code": str(rng.choice([164, 165, 167, 168])), "commune_code": commune,
        "priority_group": rng.choice(["Người trên 65 tuổi", "Nhân viên y tế", "Công nhân", ""]),
        "workplace": rng.choice(["Công ty TNHH Samsung Electronics Việt Nam Thái Nguyên", "", None]),
        "site_code": f"S{rng.randint(1, 300):04d}", "site_name": f"Trạm y tế xã {rng.choice(_GIVEN)}",
        "vaccine": rng.choice(_VACCINES), "lot_number": f"L{rng.randint(1000, 9999)}",
        "dose_number": rng.randint(1, 3), "vaccinated_on": vaccinated.date().isoformat(),
        "signed": rng.random() < 0.7, "signed_at": None, "updated_at": _ts(updated), "deleted": False,
    }


def _ticket(rng: random.Random, number: int, updated: datetime) -> dict[str, object]:
    status = rng.choice(_STATUSES)
    return {
        "ticket_id": f"TK{number:08d}", "channel": rng.choice(["portal", "zalo", "email", "in_person"]),
        "received_at": _ts(updated - timedelta(hours=rng.randint(0, 72))), **_person(rng),
        "commune_code": f"{rng.randint(5400, 5900):05d}", "category": rng.choice(_CATEGORIES),
        "description": "Tôi đã tiêm mũi 2 nhưng chưa thấy trên ứng dụng, đề nghị kiểm tra lại.",
        "status": status, "status_history": [{"status": "received", "at": _ts(updated), "unit": "TYT"}],
        "assigned_unit": "Trạm y tế xã", "updated_at": _ts(updated),
    }


def _versions(rng: random.Random, base: dict[str, object], start: datetime, span_s: int,
              edit_share: float, tombstone_share: float) -> list[dict[str, object]]:
    """The first version and, for some records, a later edit and/or tombstone."""
    versions = [base]
    updated = datetime.fromisoformat(str(base["updated_at"]))
    if rng.random() < edit_share:
        updated = updated + timedelta(seconds=rng.randint(1, max(1, span_s // 10)))
        edit = {"lot_number": f"L{rng.randint(1000, 9999)}"} if "lot_number" in base else {"status": "resolved"}
        versions.append({**versions[-1], "updated_at": _ts(updated), **edit})
    if "deleted" in base and rng.random() < tombstone_share:
        updated = updated + timedelta(seconds=rng.randint(1, max(1, span_s // 10)))
        versions.append({**versions[-1], "updated_at": _ts(updated), "deleted": True})
    return versions


def write_fake_api_scenario(
    scenario_dir: Path,
    *,
    records: int,
    tickets: int = 0,
    seed: int = 0,
    start: datetime = datetime(2021, 8, 1, tzinfo=UTC),
    span_days: float = 30.0,
    edit_share: float = 0.1,
    tombstone_share: float = 0.02,
) -> dict[str, int]:
    """Write `platform/immunizations.jsonl` (and `feedback/tickets.jsonl` if tickets > 0); return line counts."""
    rng = random.Random(seed)
    span_s = int(span_days * 86400)
    lines: dict[str, list[str]] = {"platform/immunizations.jsonl": [], "feedback/tickets.jsonl": []}
    for number in range(records):
        updated = start + timedelta(seconds=rng.randint(0, span_s), milliseconds=rng.randint(0, 999))
        base = _immunization(rng, number, updated)
        for version in _versions(rng, base, start, span_s, edit_share, tombstone_share):
            lines["platform/immunizations.jsonl"].append(json.dumps(version, ensure_ascii=False))
    for number in range(tickets):
        updated = start + timedelta(seconds=rng.randint(0, span_s))
        for version in _versions(rng, _ticket(rng, number, updated), start, span_s, edit_share, 0.0):
            lines["feedback/tickets.jsonl"].append(json.dumps(version, ensure_ascii=False))
    counts: dict[str, int] = {}
    for rel, rows in lines.items():
        if not rows:
            continue
        rng.shuffle(rows)
        path = Path(scenario_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        counts[rel] = len(rows)
    return counts
