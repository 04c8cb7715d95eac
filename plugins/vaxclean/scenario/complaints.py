"""Complaints: feedback portal tickets (every served version) and hotline calls, mostly about dirty records.

Counts are small (about one ticket per 200 people), so tickets are built row by row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from vaxclean.scenario import reference as ref
from vaxclean.scenario.dirt import has_any
from vaxclean.scenario.people import People
from vaxclean.scenario.reference import unaccent
from vaxclean.scenario.versions import END_TS

PORTAL_PER_PERSON = 1 / 200
HOTLINE_PER_PERSON = 1 / 400
DIRTY_SHARE = 0.75
CATEGORY_BY_TAG = [
    ("duplicate_record", ("double_entry", "rekeyed_duplicate")),
    ("missing_dose", ("id_missing", "id_malformed", "id_typo", "late_batch", "id_old_number")),
    ("wrong_personal_info", ("name_typo", "dob_wrong", "dob_swapped", "gender_wrong", "dob_year_only")),
    ("wrong_dose_info", ("dose_number_wrong",)),
    ("certificate_not_issued", ("unsigned",)),
]
TEMPLATES = {
    "missing_dose": [
        "Tôi đã tiêm mũi {mui} ngày {ngay} tại {site} nhưng trên sổ sức khỏe điện tử chưa cập nhật.",
        "Em tiêm mũi {mui} vắc xin {vx} ngày {ngay} mà app PC-Covid vẫn chỉ hiện {mui_truoc} mũi, đề nghị cập nhật.",
        "Đã tiêm đủ mũi nhưng tra cứu trên hệ thống không thấy mũi {mui} (tiêm ngày {ngay} tại {site}).",
        "Gia đình tôi tiêm cùng ngày {ngay} nhưng chỉ có tôi chưa được cập nhật mũi {mui}.",
    ],
    "wrong_personal_info": [
        "Thông tin cá nhân trên chứng nhận tiêm bị sai (họ tên/ngày sinh), đề nghị sửa lại cho đúng với CCCD.",
        "Ngày sinh của tôi bị ghi sai trên hệ thống tiêm chủng, mũi {mui} tiêm ngày {ngay}.",
        "Tên tôi bị viết sai chính tả trên sổ sức khỏe điện tử, xin điều chỉnh.",
        "Hệ thống ghi sai giới tính và ngày sinh, tôi tiêm tại {site}.",
    ],
    "wrong_dose_info": [
        "Mũi tiêm ngày {ngay} bị ghi nhầm thành mũi {mui_sai}, thực tế là mũi {mui}.",
        "Loại vắc xin mũi {mui} bị ghi sai, tôi tiêm {vx} ngày {ngay}.",
        "Thông tin mũi tiêm không đúng: thứ tự mũi bị nhầm, đề nghị kiểm tra lại.",
    ],
    "certificate_not_issued": [
        "Tôi đã tiêm đủ {mui} mũi nhưng chưa được cấp hộ chiếu vắc xin.",
        "Chứng nhận tiêm chủng chưa được ký số nên không xuất được hộ chiếu vắc xin, mũi cuối tiêm ngày {ngay}.",
        "Đề nghị ký xác nhận mũi tiêm ngày {ngay} tại {site} để cấp chứng nhận.",
    ],
    "duplicate_record": [
        "Trên hệ thống tôi có 2 bản ghi cho cùng mũi {mui} ngày {ngay}, đề nghị xóa bản ghi trùng.",
        "Mũi tiêm ngày {ngay} bị nhập trùng, app hiển thị thừa một mũi.",
        "Hệ thống ghi nhận tôi tiêm {mui_sai} mũi trong khi tôi chỉ tiêm {mui} mũi.",
    ],
    "other": [
        "Cho tôi hỏi khi nào được tiêm mũi nhắc lại?",
        "Tôi muốn hỏi thủ tục cấp lại mã QR tiêm chủng.",
        "Đề nghị hướng dẫn cách tra cứu thông tin tiêm chủng trên sổ sức khỏe điện tử.",
        "Sau khi tiêm mũi {mui} ngày {ngay} tôi bị sốt, cần tư vấn.",
    ],
}
HOTLINE_TEMPLATES = {
    "missing_dose": ["Công dân phản ánh đã tiêm mũi {mui} ngày {ngay} tại {site} nhưng chưa có trên hệ thống",
                     "Người dân gọi báo chưa được cập nhật mũi {mui}, tiêm {vx}"],
    "wrong_personal_info": ["Công dân báo sai ngày sinh trên sổ sức khỏe điện tử",
                            "Người gọi phản ánh tên bị sai chính tả trên chứng nhận tiêm"],
    "wrong_dose_info": ["Công dân phản ánh mũi {mui} bị ghi nhầm loại vắc xin",
                        "Báo nhầm thứ tự mũi tiêm, ghi mũi {mui_sai} thay vì mũi {mui}"],
    "certificate_not_issued": ["Hỏi vì sao chưa có hộ chiếu vắc xin dù đã tiêm đủ",
                               "Công dân chưa được ký số chứng nhận tiêm mũi {mui}"],
    "duplicate_record": ["Công dân báo bị trùng mũi tiêm ngày {ngay}", "App hiện thừa 1 mũi tiêm, nghi nhập trùng"],
    "other": ["Hỏi lịch tiêm mũi nhắc lại", "Tư vấn phản ứng sau tiêm", "Hỏi địa điểm tiêm cho trẻ 5-11 tuổi"],
}
CHANNELS = (("portal", 0.7), ("zalo", 0.18), ("email", 0.06), ("in_person", 0.06))


@dataclass
class Complaints:
    ticket_versions: pl.DataFrame
    hotline_calls: pl.DataFrame  # with a `file_date` column
    truth: pl.DataFrame


def _category(joined: str) -> str:
    tags = joined.split(";")
    for cat, keys in CATEGORY_BY_TAG:
        if any(t in tags for t in keys):
            return cat
    return "other"


def _pick_records(rng: np.random.Generator, final: pl.DataFrame, n: int) -> np.ndarray:
    live = final.filter(~has_any(pl.col("tags"), ["tombstoned", "borrowed_identity"]))
    dirty_keys = [k for _, keys in CATEGORY_BY_TAG for k in keys]
    is_dirty = live.select(has_any(pl.col("tags"), dirty_keys))["tags"].to_numpy()
    idx = live["rec"].to_numpy()
    dirty, clean = idx[is_dirty], idx[~is_dirty]
    n_dirty = min(int(round(n * DIRTY_SHARE)), len(dirty))
    chosen = np.concatenate([rng.choice(dirty, n_dirty, replace=False) if n_dirty else idx[:0],
                             rng.choice(clean, min(n - n_dirty, len(clean)), replace=False) if len(clean) else idx[:0]])
    return np.sort(chosen)


def _typed_name(rng: np.random.Generator, name: str) -> str:
    u = rng.random()
    if u < 0.1:
        return unaccent(name)
    if u < 0.2:
        return name.upper()
    return name


def _typed_id(rng: np.random.Generator, cid: str, old: str | None) -> str | None:
    u = rng.random()
    if u < 0.08:
        return None
    if u < 0.11 and old:
        return old
    if u < 0.14:
        return f"{cid[:3]} {cid[3:6]} {cid[6:9]} {cid[9:]}"
    return cid


def _fmt_date(d: dt.date, rng: np.random.Generator) -> str:
    return d.strftime("%d/%m/%Y") if rng.random() < 0.7 else d.isoformat()


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Context:
    def __init__(self, rng: np.random.Generator, people: People, final: pl.DataFrame) -> None:
        self.rng, self.p = rng, people
        self.units = ref.load_units()
        cols = ["rec", "person", "dose_seq", "vaccinated_day", "site_name", "vaccine", "dose_number", "entry_at",
                "edit_at", "source_record_id", "source", "tags"]
        self.rows = final.select(cols).to_dicts()  # small: only rows asked for are used below
        self.index = {r["rec"]: i for i, r in enumerate(self.rows)}

    def row(self, rec: int) -> dict:
        return self.rows[self.index[rec]]

    def fill(self, template: str, row: dict, rng: np.random.Generator) -> str:
        mui = int(row["dose_seq"])
        return template.format(
            mui=mui, mui_truoc=max(mui - 1, 0), mui_sai=int(row["dose_number"]) if row["dose_number"] != mui else mui + 1,
            ngay=(dt.date(1970, 1, 1) + dt.timedelta(days=int(row["vaccinated_day"]))).strftime("%d/%m/%Y"),
            site=row["site_name"], vx=row["vaccine"])

    def timeline(self, row: dict) -> tuple[int, list[tuple[str, int]]]:
        rng = self.rng
        start = int(row["entry_at"]) if row["entry_at"] is not None and row["entry_at"] >= 0 else (
            int(row["vaccinated_day"]) + 20) * 86400
        edit = row["edit_at"] if row["edit_at"] is not None and row["edit_at"] >= 0 else None
        if edit is not None:
            received = max(start + 3600, edit - int(rng.integers(2, 15)) * 86400)
        else:
            received = start + int(rng.integers(5, 90)) * 86400 + int(rng.integers(0, 40000))
        received = min(received, END_TS - 10 * 86400)
        steps = [("received", received)]
        t = received + int(rng.integers(2000, 2 * 86400))
        steps.append(("assigned", t))
        stop = rng.random()
        if stop > 0.1:
            t += int(rng.integers(3600, 5 * 86400))
            steps.append(("in_progress", t))
        if stop > 0.25:
            t = max(t + 3600, edit + int(rng.integers(60, 2 * 86400))) if edit else t + int(rng.integers(86400,
                                                                                                         20 * 86400))
            steps.append(("rejected" if rng.random() < 0.08 else "resolved", t))
        return received, [(s, ts) for s, ts in steps if ts <= END_TS]


def generate_complaints(rng: np.random.Generator, people: People, final: pl.DataFrame, n_people: int) -> Complaints:
    n_portal = max(1, int(round(n_people * PORTAL_PER_PERSON)))
    n_hotline = max(1, int(round(n_people * HOTLINE_PER_PERSON)))
    recs = _pick_records(rng, final, n_portal + n_hotline)
    ctx = _Context(rng, people, final.filter(pl.col("rec").is_in(recs.tolist())))
    order = rng.permutation(len(recs))
    portal, hotline = recs[np.sort(order[:n_portal])], recs[np.sort(order[n_portal:])]
    versions, truth = _tickets(ctx, portal)
    calls, truth_h = _calls(ctx, hotline)
    return Complaints(versions, calls, pl.DataFrame(truth + truth_h, schema=["source", "ticket_id", "true_citizen_id",
                                                                            "true_category", "true_record_ids"],
                                                    orient="row"))


def _person_fields(ctx: _Context, person: int) -> dict:
    p, rng = ctx.p, ctx.rng
    cid = p.citizen_id[person]
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=int(p.birth_day[person]))
    commune = ctx.units.commune_code[int(p.commune_idx[person])]
    return {
        "full_name": _typed_name(rng, p.full_name[person]),
        "id_number": _typed_id(rng, cid, p.old_id[person]),
        "phone": p.phone1[person] if rng.random() < 0.9 else None,
        "date_of_birth": str(birth.year) if p.birth_year_only[person] else _fmt_date(birth, rng),
        "commune_code": commune.lstrip("0") if rng.random() < 0.1 else commune,
        "_cid": cid if p.is_resident[person] else None,
        "_unit": (f"TYT-{commune}" if rng.random() < 0.7 else
                  f"TTYT-{ctx.units.district_code[int(p.commune_idx[person])]}"),
    }


def _tickets(ctx: _Context, recs: np.ndarray) -> tuple[pl.DataFrame, list[tuple]]:
    rng = ctx.rng
    rows, truth = [], []
    cats = list(TEMPLATES)
    for i, rec in enumerate(recs):
        row = ctx.row(int(rec))
        cat = _category(row["tags"])
        f = _person_fields(ctx, int(row["person"]))
        received, steps = ctx.timeline(row)
        ticket_id = f"PAKN-{dt.datetime.fromtimestamp(received, dt.UTC):%y%m}-{i + 1:06d}"
        u = rng.random()
        given = cat if u < 0.7 else (None if u < 0.85 else cats[int(rng.integers(0, len(cats)))])
        templates = TEMPLATES[cat]
        desc = ctx.fill(templates[int(rng.integers(0, len(templates)))], row, rng)
        channel = CHANNELS[int(np.searchsorted(np.cumsum([w for _, w in CHANNELS]), rng.random()))][0]
        history = []
        for status, ts in steps:
            unit = "Cổng tiếp nhận phản ánh - Sở Y tế Thái Nguyên" if status == "received" else f["_unit"]
            history.append({"status": status, "at": _iso(ts), "unit": unit})
            rows.append({"ticket_id": ticket_id, "channel": channel, "received_at": _iso(received),
                         "full_name": f["full_name"], "id_number": f["id_number"], "phone": f["phone"],
                         "date_of_birth": f["date_of_birth"], "commune_code": f["commune_code"], "category": given,
                         "description": desc, "status": status, "status_history": list(history),
                         "assigned_unit": None if status == "received" else f["_unit"], "updated_at": _iso(ts)})
        truth.append(("portal", ticket_id, f["_cid"], cat, row["source_record_id"]))
    schema = {"ticket_id": pl.String, "channel": pl.String, "received_at": pl.String, "full_name": pl.String,
              "id_number": pl.String, "phone": pl.String, "date_of_birth": pl.String, "commune_code": pl.String,
              "category": pl.String, "description": pl.String, "status": pl.String,
              "status_history": pl.List(pl.Struct({"status": pl.String, "at": pl.String, "unit": pl.String})),
              "assigned_unit": pl.String, "updated_at": pl.String}
    return pl.DataFrame(rows, schema=schema).sort("updated_at", "ticket_id"), truth


def _calls(ctx: _Context, recs: np.ndarray) -> tuple[pl.DataFrame, list[tuple]]:
    rng = ctx.rng
    rows, truth = [], []
    per_day: dict[str, int] = {}
    for rec in recs:
        row = ctx.row(int(rec))
        cat = _category(row["tags"])
        f = _person_fields(ctx, int(row["person"]))
        received, _ = ctx.timeline(row)
        local = dt.datetime.fromtimestamp(received, dt.UTC) + dt.timedelta(hours=7)
        day_key = local.date().isoformat()
        per_day[day_key] = per_day.get(day_key, 0) + 1
        call_id = f"HL{local:%Y%m%d}-{per_day[day_key]:03d}"
        templates = HOTLINE_TEMPLATES[cat]
        status = ["Đã tiếp nhận", "Đã chuyển xử lý", "Đã giải quyết"][int(rng.integers(0, 3))]
        rows.append({"file_date": day_key, "Mã cuộc gọi": call_id, "Thời gian": local.strftime("%d/%m/%Y %H:%M"),
                     "Họ tên": f["full_name"], "Số điện thoại": f["phone"] or "", "Số CMND/CCCD": f["id_number"] or "",
                     "Ngày sinh": f["date_of_birth"], "Mã xã": f["commune_code"],
                     "Nội dung": ctx.fill(templates[int(rng.integers(0, len(templates)))], row, rng),
                     "Phân loại": ref.HOTLINE_CATEGORY_LABELS[cat] if rng.random() < 0.4 else "",
                     "Trạng thái": status})
        truth.append(("hotline", call_id, f["_cid"], cat, row["source_record_id"]))
    return pl.DataFrame(rows).sort("file_date", "Mã cuộc gọi") if rows else pl.DataFrame(), truth
