"""Police verification returns for a few communes: dirty records of the commune, verified as the police would.

The police know the true identity: a corrected identity comes back as `điều chỉnh`, a right one as `xác nhận`,
a person who is not a permanent resident as `không thường trú`. Some rows first come back `không tìm thấy` and
are verified again in a later file (the newest verification wins).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from vaxclean.scenario import reference as ref
from vaxclean.scenario.dirt import has_any
from vaxclean.scenario.people import People

N_COMMUNES = 4
MAX_ROWS_PER_COMMUNE = 300
TAKE_SHARE = 0.7
NOT_FOUND_FIRST = 0.08
WORTH_VERIFYING = ["id_missing", "id_malformed", "id_typo", "borrowed_identity", "migrant", "name_typo", "dob_wrong",
                   "dob_swapped", "id_old_number", "id_leading_zero_lost", "gender_wrong"]
CORRECTING = {"id_missing", "id_malformed", "id_typo", "name_typo", "dob_wrong", "dob_swapped", "gender_wrong",
              "borrowed_identity"}
OFFICERS = ["Nguyễn Văn Hùng", "Trần Đức Thắng", "Hoàng Văn Toàn", "Lê Thị Hằng", "Đặng Quốc Việt",
            "Nông Văn Dũng", "Ma Thị Lan", "Phạm Minh Tuấn"]


def _result(joined: str, resident: bool) -> str:
    tags = joined.split(";")
    if not resident:
        return "không thường trú"
    if any(t in CORRECTING for t in tags):
        return "điều chỉnh"
    return "xác nhận"


def generate_police_returns(rng: np.random.Generator, people: People, final: pl.DataFrame
                            ) -> dict[str, list[tuple[str, pl.DataFrame]]]:
    """commune_code -> [(file name, rows with Vietnamese headers)]."""
    units = ref.load_units()
    live = final.filter(~has_any(pl.col("tags"), ["tombstoned"]) & has_any(pl.col("tags"), WORTH_VERIFYING))
    commune_idx = people.commune_idx[live["id_person"].to_numpy()]
    live = live.with_columns(pl.Series("commune_idx", commune_idx))
    counts = live.group_by("commune_idx").len().sort("len", "commune_idx", descending=True)
    top = counts.head(N_COMMUNES * 4)["commune_idx"].to_numpy()
    chosen = np.sort(rng.choice(top, min(N_COMMUNES, len(top)), replace=False)) if len(top) else top
    out: dict[str, list[tuple[str, pl.DataFrame]]] = {}
    for ci in chosen:
        rows = live.filter(pl.col("commune_idx") == int(ci)).sort("rec")
        take = rows.filter(pl.Series(rng.random(rows.height) < TAKE_SHARE)).head(MAX_ROWS_PER_COMMUNE)
        code = units.commune_code[int(ci)]
        out[code] = _files(rng, people, take, code)
    return out


def _files(rng: np.random.Generator, people: People, rows: pl.DataFrame, code: str) -> list[tuple[str, pl.DataFrame]]:
    first, second = [], []
    officer = OFFICERS[int(rng.integers(0, len(OFFICERS)))]
    d1 = dt.date(2022, 9, 5) + dt.timedelta(days=int(rng.integers(0, 8)))
    d2 = d1 + dt.timedelta(days=int(rng.integers(7, 14)))
    for r in rows.iter_rows(named=True):
        person = int(r["person"])
        resident = bool(people.is_resident[person])
        result = _result(r["tags"], resident)
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=int(people.birth_day[person]))
        verified = {"Nguồn": r["source"], "Mã bản ghi": r["source_record_id"], "Kết quả xác minh": result,
                    "Số định danh xác minh": people.citizen_id[person], "Họ tên xác minh": people.full_name[person],
                    "Ngày sinh xác minh": birth.strftime("%d/%m/%Y"),
                    "Giới tính xác minh": "Nữ" if people.female[person] else "Nam",
                    "Cán bộ xác minh": officer, "Ngày xác minh": d1.strftime("%d/%m/%Y")}
        if resident and rng.random() < NOT_FOUND_FIRST:
            blank = {k: ("" if k.endswith("xác minh") and k != "Kết quả xác minh" else v) for k, v in verified.items()}
            blank["Kết quả xác minh"] = "không tìm thấy"
            blank["Cán bộ xác minh"] = officer
            first.append(blank)
            second.append({**verified, "Ngày xác minh": d2.strftime("%d/%m/%Y")})
        else:
            first.append(verified)
    files = [(f"ket_qua_xac_minh_{code}_{d1:%Y%m%d}", pl.DataFrame(first))]
    if second:
        files.append((f"ket_qua_xac_minh_{code}_{d2:%Y%m%d}_bo_sung", pl.DataFrame(second)))
    return files
