"""`make run SCENARIO=<dir>` on a contract-conforming scenario that this project did not generate:
hand-written records with other id and site conventions, no feedback portal, no hotline and no
police returns at all. The pipeline must run through and credit what the data proves."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import unicodedata

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vaxclean.config import PROJECT_ROOT

CITIZENS = [
    # citizen_id, old_id, name, dob, year_only, gender, district, commune
    ("019085001234", None, "Hoàng Thị Hoà", dt.date(1985, 3, 14), False, "female", "164", "05434"),
    ("019090004321", "090123456", "Đỗ Văn Đức", dt.date(1990, 11, 2), False, "male", "164", "05437"),
    ("019052000777", None, "Ma Văn Lục", dt.date(1952, 1, 1), True, "male", "167", "05527"),
    ("019195000555", None, "Nông Thị Mai", dt.date(1995, 7, 30), False, "female", "164", "05434"),
]


def _record(rid: str, updated: str, **fields: object) -> dict:
    base = {"record_id": rid, "full_name": None, "date_of_birth": None, "gender": None, "id_number": None,
            "phone": None, "address": "Thái Nguyên", "province_code": "19", "district_code": "164",
            "commune_code": "05434", "priority_group": None, "workplace": None, "site_code": "TRAM-QV",
            "site_name": "Trạm Quang Vinh", "vaccine": "Vaxzevria", "lot_number": "A1", "dose_number": 1,
            "vaccinated_on": "2021-08-01", "signed": True, "signed_at": "2021-08-01T10:00:00+07:00",
            "updated_at": updated, "deleted": False}
    base.update(fields)
    return base


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    base = tmp_path_factory.mktemp("foreign")
    scenario, warehouse = base / "scenario", base / "warehouse"
    records = [
        _record("x-1", "2021-08-01T05:00:00Z", full_name="HOÀNG THỊ HÒA", date_of_birth="14/03/1985",
                gender="Nữ", id_number="019 085 001 234"),
        # NFD name, old 9-digit ID
        _record("x-2", "2021-08-02T05:00:00Z", full_name=unicodedata.normalize("NFD", "Đỗ Văn Đức"),
                date_of_birth="1990-11-02", gender="nam", id_number="090123456", commune_code="5437"),
        # year-only birth date, lost leading zero
        _record("x-3", "2021-09-01T05:00:00Z", full_name="Ma Van Luc", date_of_birth="1952", gender="Nam",
                id_number="19052000777", district_code="167", commune_code="05527"),
        # a migrant with a passport: nobody in the population
        _record("x-4", "2021-09-02T05:00:00Z", full_name="Kim Min Jun", date_of_birth="01/01/1988",
                gender="Nam", id_number="M12345678"),
        # entered, then deleted
        _record("x-5", "2021-09-03T05:00:00Z", full_name="Nông Thị Mai", date_of_birth="30/07/1995",
                gender="Nữ", id_number="019195000555"),
        _record("x-5", "2021-09-04T05:00:00Z", deleted=True),
    ]
    (scenario / "platform").mkdir(parents=True)
    with (scenario / "platform" / "immunizations.jsonl").open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    batch_dir = scenario / "site_batches" / "KCN-01"
    batch_dir.mkdir(parents=True)
    header = ("STT,Họ và tên,Ngày sinh,Giới tính,Số điện thoại,Số CMND/CCCD,Địa chỉ,Mã tỉnh,Mã huyện,Mã xã,"
              "Đơn vị công tác,Tên vắc xin,Số lô,Mũi tiêm,Ngày tiêm")
    rows = ["1,Nông Thị Mai,30/07/1995,Nữ,0912000111,019195000555,Tổ 5,19,164,05434,Công ty A,Pfizer,FA1,1,05/10/2021"]
    (batch_dir / "dot1.csv").write_bytes(("\n".join([header, *rows]) + "\n").encode("utf-8-sig"))
    snap = scenario / "population" / "2022-06-30"
    snap.mkdir(parents=True)
    cols = list(zip(*CITIZENS, strict=True))
    pq.write_table(pa.table({
        "citizen_id": cols[0], "old_id_number": cols[1], "full_name": cols[2],
        "date_of_birth": pa.array(cols[3], pa.date32()), "birth_year_only": cols[4], "gender": cols[5],
        "province_code": ["19"] * 4, "district_code": cols[6], "commune_code": cols[7],
        "phone": [None] * 4, "status": ["active"] * 4,
    }), snap / "citizens.parquet")
    (scenario / "truth").mkdir()
    (scenario / "truth" / "doses.csv").write_text(
        "source,source_record_id,true_citizen_id,recorded_citizen_id,duplicate_of_source,duplicate_of_record_id,tags\n"
        "platform,x-1,019085001234,019085001234,,,case;tone_placement;id_separators\n"
        "platform,x-2,019090004321,019090004321,,,nfd;id_old_number\n"
        "platform,x-3,019052000777,019052000777,,,no_diacritics;dob_year_only;id_leading_zero_lost\n"
        "platform,x-4,,,,,migrant\n"
        "platform,x-5,019195000555,019195000555,,,tombstoned\n"
        "site_batch,KCN-01/dot1.csv#1,019195000555,019195000555,,,late_batch\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "vaxclean.cli", "run", "--scenario", str(scenario),
                           "--warehouse", str(warehouse)], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    scores = subprocess.run([sys.executable, "-m", "vaxclean.evaluate", "--scenario", str(scenario),
                             "--warehouse", str(warehouse)], capture_output=True, text=True, check=True).stdout
    con = duckdb.connect()
    con.execute(f"attach '{warehouse / 'published' / 'marts.duckdb'}' as pub (read_only)")
    return json.loads(scores), {sid: (cid, status) for sid, cid, status in con.execute(
        "select source_record_id, citizen_id, match_status from pub.marts.dose_reconciliation").fetchall()}


def test_every_live_record_is_reconciled_and_the_tombstone_is_not(foreign):
    _, foreign = foreign
    assert set(foreign) == {"x-1", "x-2", "x-3", "x-4", "KCN-01/dot1.csv#1"}


def test_identities_are_credited_as_the_data_proves(foreign):
    _, foreign = foreign
    assert foreign["x-1"] == ("019085001234", "verified")  # case, separators, tone placement
    assert foreign["x-2"][0] == "019090004321"  # old 9-digit ID
    assert foreign["x-3"][0] == "019052000777" and foreign["x-3"][1] in ("corrected", "verified")
    assert foreign["x-4"] == (None, "unmatched")
    assert foreign["KCN-01/dot1.csv#1"] == ("019195000555", "verified")


def test_make_evaluate_scores_a_foreign_scenario(foreign):
    scores, _ = foreign
    assert scores["doses"]["precision"] == 1.0 and scores["doses"]["recall"] == 1.0
    assert scores["doses"]["truth_records_missing_from_mart"] == 0
    assert scores["complaints"] == {}  # this scenario has no ticket truth
