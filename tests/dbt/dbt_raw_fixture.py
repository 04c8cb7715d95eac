"""A small raw-layer fixture for the dbt build: a handful of citizens and dose records, each edge case once.

Names, IDs and phones are invented. Keys of the interesting records are module constants so the tests
can assert on them without repeating literals.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

from vaxclean.raw.layout import init_raw, rows_to_table, table_dir, write_parquet_atomic

LOADED_AT = datetime(2022, 7, 20, 8, 0, tzinfo=UTC)
AS_OF = "2022-07-15T00:00:00"

# citizens: (citizen_id, old_id, full_name, dob, year_only, gender, district, commune, status)
CITIZENS = [
    ("019085001234", None, "Nguyễn Văn Hòa", date(1985, 3, 15), False, "male", "164", "05434", "active"),
    ("019190004567", None, "Trần Thị Thủy", date(1990, 7, 4), False, "female", "164", "05434", "active"),
    ("019045000111", None, "Đặng Văn Đức", date(1945, 1, 1), True, "male", "164", "05437", "active"),
    ("019201000222", None, "Lê Văn Anh", date(2001, 5, 20), False, "male", "164", "05434", "active"),
    ("019201000223", None, "Lê Văn Ánh", date(2001, 5, 20), False, "male", "164", "05434", "active"),
    ("019175000333", "091234567", "Phạm Thị Lan", date(1975, 11, 2), False, "female", "164", "05437", "active"),
    ("019088000444", None, "Hoàng Văn Nam", date(1988, 2, 12), False, "male", "164", "05434", "active"),
    ("019192000555", None, "Vũ Thị Hương", date(1992, 12, 25), False, "female", "164", "05434", "active"),
    ("019060000666", None, "Bùi Văn Tuấn", date(1960, 4, 4), False, "male", "164", "05437", "deceased"),
    ("019195000777", None, "Đỗ Thị Mai", date(1995, 8, 8), False, "female", "164", "05434", "active"),
    ("019070000888", None, "Ma Văn Phúc", date(1970, 10, 10), False, "male", "164", "05437", "active"),
    ("019183000999", None, "Nguyễn Thị Hà", date(1983, 6, 1), False, "female", "164", "05434", "active"),
]

# record keys the tests assert on
# the factory clinic's batch row is the original; its later re-keying into the platform the duplicate
DOSE_ORIGINAL = ("site_batch", "S0001/batch_a.csv#1")
DOSE_DUPLICATE = ("platform", "P-HOA-1")
DOSE_LOST_ZERO = ("site_batch", "S0001/batch_a.csv#2")
DOSE_TWIN = ("platform", "P-TWIN-1")
DOSE_TWIN_RETURNED = ("platform", "P-TWIN-2")
DOSE_OLD_ID = ("platform", "P-LAN-1")
DOSE_SWAPPED_DOB = ("platform", "P-HUONG-1")
DOSE_YEAR_ONLY = ("platform", "P-DUC-1")
DOSE_NFD_TONE = ("platform", "P-THUY-1")
DOSE_SHORT_INTERVAL = ("platform", "P-THUY-2")
DOSE_AFTER_DEATH = ("platform", "P-TUAN-1")
DOSE_NO_ID_PROBABLE = ("platform", "P-MAI-1")
DOSE_BORROWED = ("platform", "P-PHUC-1")
DOSE_GENDER_CONFIRMED = ("platform", "P-HA-1")
DOSE_NOT_RESIDENT = ("platform", "P-KHONG-1")
DOSE_MISSING_ID = ("platform", "P-NOID-1")
DOSE_BAD_ID = ("platform", "P-PASS-1")
DOSE_UNKNOWN_VACCINE = ("platform", "P-DUC-2")
DOSE_DELETED = ("platform", "P-DEL-1")
DOSE_NOT_FOUND = ("platform", "P-NF-1")


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _dose(record_id: str, name: str | None, dob: str | None, gender: str | None, id_number: str | None,
          vaccine: str, dose: int, on: str, *, commune: str | None = "05434", signed: bool = True,
          phone: str | None = None) -> dict[str, object]:
    return {
        "record_id": record_id, "full_name": name, "date_of_birth": dob, "gender": gender,
        "id_number": id_number, "phone": phone, "address": "Xóm 1", "province_code": "19",
        "district_code": "164", "commune_code": commune, "priority_group": "", "workplace": None,
        "site_code": "TYT01", "site_name": "Trạm y tế", "vaccine": vaccine, "lot_number": "L1",
        "dose_number": dose, "vaccinated_on": on, "signed": signed,
        "signed_at": f"{on}T10:00:00Z" if signed else None, "deleted": False,
    }


PLATFORM = [
    # C1 Hòa: full history (the original of a site-batch duplicate), all signed
    _dose("P-HOA-1", "nguyễn  văn hoà", "15/03/1985", "Nam", "019085001234", "AstraZeneca", 1, "2021-08-01",
          phone="+84 912 345 678"),
    _dose("P-HOA-2", "Nguyễn Văn Hòa", "15/3/1985", "Nam", "019.085.001.234", "Vaxzevria", 2, "2021-10-20"),
    _dose("P-HOA-3", "Nguyễn Văn Hòa", "1985-03-15", "nam", "019085001234", "Pfizer", 3, "2022-03-01",
          phone="01662345678"),
    # C2 Thủy: NFD input and new tone placement; second dose too soon and numbered wrongly
    _dose("P-THUY-1", _nfd("TRẦN THỊ THUỶ"), "04/07/1990", "Nữ", "019190004567", "Vero Cell", 2, "2021-09-01"),
    _dose("P-THUY-2", "Tran Thi Thuy", "04/07/1990", "nu", "019190004567", "Sinopharm", 2, "2021-09-10"),
    # C3 Đức: year-only birth date; an unknown vaccine
    _dose("P-DUC-1", "ĐẶNG VĂN ĐỨC", "1945", "Nam", "019045000111", "Moderna", 1, "2021-10-01", commune="5437"),
    _dose("P-DUC-2", "Đặng Văn Đức", "1945", "Nam", "019045000111", "Covaxin", 2, "2021-11-15", commune="5437"),
    # twins (names differ only in diacritics): a record without ID and without diacritics is ambiguous
    _dose("P-TWIN-1", "Le Van Anh", "20/05/2001", "Nam", "", "Pfizer", 1, "2021-11-01"),
    _dose("P-TWIN-2", "Le Van Anh", "20/05/2001", "Nam", None, "Pfizer", 2, "2021-12-01"),
    # C6 Lan: old 9-digit ID card
    _dose("P-LAN-1", "Phạm Thị Lan", "02/11/1975", "Nữ", "091 234 567", "Comirnaty", 1, "2021-09-05", commune="05437"),
    # C8 Hương: day and month swapped (month 25 impossible)
    _dose("P-HUONG-1", "Vũ Thị Hương", "12/25/1992", "Nữ", "019192000555", "Spikevax", 1, "2021-09-07"),
    # C9 Tuấn: a dose after the snapshot that shows him deceased
    _dose("P-TUAN-1", "Bùi Văn Tuấn", "04/04/1960", "Nam", "019060000666", "Pfizer", 1, "2022-07-01", commune="05437"),
    # C10 Mai: no ID, exact name + birth date + commune
    _dose("P-MAI-1", "Đỗ Thị Mai", "08/08/1995", "Nữ", None, "Moderna", 1, "2021-09-09"),
    # C11 Phúc's ID carried by somebody else entirely
    _dose("P-PHUC-1", "Lường Thị Thảo", "03/03/2000", "Nữ", "019070000888", "Pfizer", 1, "2021-10-10", commune="05437"),
    # C12 Hà: gender typed wrong; the police confirm
    _dose("P-HA-1", "Nguyễn Thị Hà", "01/06/1983", "Nam", "019183000999", "Pfizer", 1, "2021-10-11"),
    # not in the population at all; the police say not a resident
    _dose("P-KHONG-1", "Nguyễn Văn Không", "01/01/1999", "Nam", "019099999999", "Pfizer", 1, "2021-10-12"),
    _dose("P-NOID-1", "Trịnh Văn Vắng", "02/02/1998", "Nam", None, "Pfizer", 1, "2021-10-13"),
    _dose("P-PASS-1", "Kim Min Ho", "1990-01-01", "Nam", "B1234567", "Pfizer", 1, "2021-10-14"),
    # the police could not find this one: it stays in review
    _dose("P-NF-1", "Nguyễn Thị Hà", "01/06/1983", "Nữ", "019183000990", "Pfizer", 1, "2021-10-15"),
    # a tombstoned record
    _dose("P-DEL-1", "Nguyễn Văn Hòa", "15/03/1985", "Nam", "019085001234", "Pfizer", 4, "2022-05-01"),
]

SITE_HEADER = ["stt", "full_name", "date_of_birth", "gender", "phone", "id_number", "address", "province_code",
               "district_code", "commune_code", "workplace", "vaccine", "lot_number", "dose_number", "vaccinated_on"]

SITE_ROWS_OLD = [  # the first delivery of batch_a.csv, replaced by a corrected one under the same name
    ["1", "Nguyễn Văn Hòa", "15/03/1985", "Nam", "", "019085001234", "", "19", "164", "5434", "", "AZ", "L9", "1",
     "03/08/2021"],
]
SITE_ROWS = [
    # the same dose as P-HOA-1, keyed in offline one day later: a duplicate
    ["1", "NGUYEN VAN HOA", "15/03/1985", "Nam", "0912.345.678", "019 085 001 234", "", "19", "164", "5434", "",
     "Astra Zeneca", "L9", "1", "02/08/2021"],
    # lost leading zero (numeric XLSX cell) and an Excel serial birth date: 32185 = 1988-02-12
    ["2.0", "Hoàng Văn Nam", "32185", "Nam", "", "19088000444", "", "19", "164", "05434", "", "Pfizer", "L2", "1",
     "05/10/2021"],
]


def _platform_rows() -> list[dict[str, object]]:
    rows = []
    base = _ts("2022-07-01T00:00:00")
    for i, record in enumerate(PLATFORM):
        updated = f"2022-07-0{1 + i % 5}T0{i % 9}:00:00Z"
        rows.append({"record_id": record["record_id"], "updated_at": updated, "deleted": False,
                     "payload": json.dumps({**record, "updated_at": updated}, ensure_ascii=False),
                     "_load_id": "platform-1", "_interval_start": base, "_interval_end": base,
                     "_extracted_at": LOADED_AT, "_page": 1, "_row_in_page": i})
    # an edit served later (the lot number changed) and a tombstone
    edit = {**PLATFORM[0], "lot_number": "L1-fixed"}
    rows.append({"record_id": "P-HOA-1", "updated_at": "2022-07-10T00:00:00Z", "deleted": False,
                 "payload": json.dumps(edit, ensure_ascii=False), "_load_id": "platform-2",
                 "_extracted_at": LOADED_AT, "_page": 1, "_row_in_page": 0})
    rows.append({"record_id": "P-DEL-1", "updated_at": "2022-07-10T00:00:00Z", "deleted": True,
                 "payload": json.dumps({**PLATFORM[-1], "deleted": True}, ensure_ascii=False),
                 "_load_id": "platform-2", "_extracted_at": LOADED_AT, "_page": 1, "_row_in_page": 1})
    return rows


def _site_rows() -> list[dict[str, object]]:
    out = []
    for sha, loaded, rows in (("sha-old", _ts("2022-06-01T00:00:00"), SITE_ROWS_OLD), ("sha-new", LOADED_AT, SITE_ROWS)):
        for line, row in enumerate(rows, start=2):
            out.append({"_load_id": f"site-{sha}", "_file_path": "site_batches/S0001/batch_a.csv",
                        "_file_name": "batch_a.csv", "_file_sha256": sha, "_line_number": line,
                        "_loaded_at": loaded, "_site_code": "S0001", **dict(zip(SITE_HEADER, row, strict=True))})
    return out


def _population_rows(snapshot: date, *, deceased_as_active: bool) -> list[dict[str, object]]:
    rows = []
    for cid, old, name, dob, year_only, gender, district, commune, status in CITIZENS:
        rows.append({"_load_id": f"pop-{snapshot}", "_snapshot_date": snapshot, "_file_path": f"population/{snapshot}/a.parquet",
                     "_loaded_at": LOADED_AT, "citizen_id": cid, "old_id_number": old, "full_name": name,
                     "date_of_birth": dob, "birth_year_only": year_only, "gender": gender, "province_code": "19",
                     "district_code": district, "commune_code": commune, "phone": None,
                     "status": "active" if deceased_as_active else status})
    return rows


def _ticket_rows() -> list[dict[str, object]]:
    tickets = [
        {"ticket_id": "TK1", "channel": "portal", "received_at": "2022-06-01T03:00:00Z", "full_name": "Hoàng Văn Nam",
         "id_number": "019088000444", "phone": None, "date_of_birth": "12/02/1988", "commune_code": "05434",
         "category": None, "description": "Tôi đã tiêm mũi 1 nhưng chưa thấy trên ứng dụng, đề nghị kiểm tra.",
         "status": "received", "status_history": [{"status": "received", "at": "2022-06-01T03:00:00Z", "unit": "TYT"}],
         "assigned_unit": "TYT", "updated_at": "2022-06-01T03:00:00Z"},
        {"ticket_id": "TK2", "channel": "zalo", "received_at": "2022-06-20T03:00:00Z", "full_name": "Do Thi Mai",
         "id_number": None, "phone": None, "date_of_birth": "08/08/1995", "commune_code": "5434",
         "category": "wrong_personal_info", "description": "Sai ngày sinh", "status": "resolved",
         "status_history": [{"status": "received", "at": "2022-06-20T03:00:00Z", "unit": "TYT"},
                            {"status": "resolved", "at": "2022-06-25T03:00:00Z", "unit": "TYT"}],
         "assigned_unit": "TYT", "updated_at": "2022-06-25T03:00:00Z"},
    ]
    rows = []
    for i, ticket in enumerate(tickets):
        rows.append({"ticket_id": ticket["ticket_id"], "updated_at": ticket["updated_at"],
                     "payload": json.dumps(ticket, ensure_ascii=False), "_load_id": "feedback-1",
                     "_extracted_at": LOADED_AT, "_page": 1, "_row_in_page": i})
    return rows


def _hotline_rows() -> list[dict[str, object]]:
    return [
        {"_load_id": "hotline-1", "_file_path": "hotline/2022-07-01.csv", "_file_name": "2022-07-01.csv",
         "_file_sha256": "h1", "_line_number": 2, "_loaded_at": LOADED_AT, "call_id": "CALL-1",
         "called_at": "2022-07-01T02:00:00Z", "full_name": "Phạm Thị Lan", "phone": "0912000111",
         "id_number": "091234567", "date_of_birth": "02/11/1975", "commune_code": "05437",
         "description": "Gia đình bị trùng lặp hai bản ghi mũi 1", "category": "", "status": "Đang xử lý"},
    ]


def _police_rows() -> list[dict[str, object]]:
    def row(source: str, record_id: str, result: str, verified_id: str | None, line: int) -> dict[str, object]:
        return {"_load_id": "police-1", "_file_path": "police_returns/05434/r.csv", "_file_name": "r.csv",
                "_file_sha256": "p1", "_line_number": line, "_loaded_at": LOADED_AT, "_commune_code": "05434",
                "source": source, "source_record_id": record_id, "result": result,
                "verified_id_number": verified_id, "verified_full_name": None, "verified_date_of_birth": None,
                "verified_gender": None, "verifier": "Cán bộ A", "verified_on": "10/07/2022", "other_columns": "{}"}
    return [
        row("platform", "P-HA-1", "Xác nhận", "019183000999", 2),
        row("platform", "P-TWIN-2", "điều chỉnh", "019201000223", 3),
        row("platform", "P-KHONG-1", "không thường trú", None, 4),
        row("platform", "P-NF-1", "không tìm thấy", None, 5),
    ]


def write_fixture(warehouse_dir: Path) -> Path:
    """Write the raw Parquet lake under `<warehouse_dir>/raw` and return that raw directory."""
    raw = Path(warehouse_dir) / "raw"
    init_raw(raw)
    write_parquet_atomic(rows_to_table("platform_immunizations", _platform_rows()),
                         table_dir(raw, "platform_immunizations") / "since=a__until=b.parquet")
    write_parquet_atomic(rows_to_table("site_batch_rows", _site_rows()), table_dir(raw, "site_batch_rows") / "s.parquet")
    for snapshot, as_active in ((date(2021, 6, 1), True), (date(2022, 6, 1), False)):
        write_parquet_atomic(rows_to_table("population", _population_rows(snapshot, deceased_as_active=as_active)),
                             table_dir(raw, "population") / str(snapshot) / "a.parquet")
    write_parquet_atomic(rows_to_table("feedback_tickets", _ticket_rows()), table_dir(raw, "feedback_tickets") / "t.parquet")
    write_parquet_atomic(rows_to_table("hotline_calls", _hotline_rows()), table_dir(raw, "hotline_calls") / "h.parquet")
    write_parquet_atomic(rows_to_table("police_returns", _police_rows()), table_dir(raw, "police_returns") / "p.parquet")
    return raw
