"""Reference data and fixed facts the scenario generator draws from.

Admin units come from the dbt seeds (GSO codes), names from `scenario/data/` (see its SOURCES.md).
Everything here is small and loaded once per run; lists are returned in a fixed order so that the
generator is deterministic for a seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from vaxclean.config import DBT_PROJECT_DIR

DATA_DIR = Path(__file__).resolve().parent / "data"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

PROVINCE_CODE = "19"
PROVINCE_ID_PREFIX = "019"
PROVINCE_NAME = "Thái Nguyên"
PHO_YEN_DISTRICT = "172"
PHO_YEN_CHANGE_ON = dt.date(2022, 4, 10)

# Birth-registration provinces of residents born elsewhere (neighbours and main origins of migrants).
OTHER_PROVINCE_PREFIXES = ["001", "004", "006", "008", "020", "022", "024", "025", "026", "027", "030",
                           "034", "035", "036", "037", "038", "040"]

# Thái Nguyên's ethnic minorities (2019 census, rounded shares of the province's population).
ETHNIC_GROUP_SHARES = {"Tày": 0.107, "Nùng": 0.056, "San Chay (Cao Lan-Sán Chỉ)": 0.025, "Dao": 0.021,
                       "H'Mông": 0.006}
# Share of ethnic-minority residents by district (mountain districts far above the lowland ones).
DISTRICT_MINORITY_SHARE = {"164": 0.08, "165": 0.08, "167": 0.70, "168": 0.45, "169": 0.40, "170": 0.70,
                           "171": 0.35, "172": 0.10, "173": 0.12}
# Relative population per commune by district type (wards of the cities are denser).
DISTRICT_COMMUNE_WEIGHT = {"164": 1.6, "165": 1.3, "167": 0.55, "168": 0.85, "169": 0.8, "170": 0.7,
                           "171": 0.75, "172": 1.2, "173": 0.9}

# Old mobile prefixes (11 digits, before 2018) keyed by their new 3-digit prefix.
NEW_TO_OLD_MOBILE = {"032": "0162", "033": "0163", "034": "0164", "035": "0165", "036": "0166", "037": "0167",
                     "038": "0168", "039": "0169", "070": "0120", "079": "0121", "077": "0122", "076": "0126",
                     "078": "0128", "083": "0123", "084": "0124", "085": "0125", "081": "0127", "082": "0129",
                     "056": "0186", "058": "0188", "059": "0199"}
# Current mobile prefixes with rough market shares (Viettel dominates in the north).
MOBILE_PREFIXES = ["032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098",
                   "070", "079", "077", "076", "078", "090", "093", "083", "084", "085", "081", "082", "088",
                   "091", "094", "056", "058", "059"]

# Tone placement: the population and name lists use the new style (hòa, thủy); old style is dirt.
_NEW_TO_OLD_TONE = [("òa", "oà"), ("óa", "oá"), ("ỏa", "oả"), ("õa", "oã"), ("ọa", "oạ"),
                    ("òe", "oè"), ("óe", "oé"), ("ỏe", "oẻ"), ("õe", "oẽ"), ("ọe", "oẹ"),
                    ("ùy", "uỳ"), ("úy", "uý"), ("ủy", "uỷ"), ("ũy", "uỹ"), ("ụy", "uỵ")]


def tone_patterns_new_to_old() -> list[tuple[str, str]]:
    """Regex (pattern, replacement) pairs turning new-style tone marks into the old style.

    Only at the end of a syllable, and never after `q` (`quý` is the same in both styles).
    """
    pairs = []
    for new, old in _NEW_TO_OLD_TONE + [(a.capitalize(), b.capitalize()) for a, b in _NEW_TO_OLD_TONE]:
        pairs.append((rf"(^|[^qQ]){new}($|[^\p{{L}}])", rf"${{1}}{old}${{2}}"))
    return pairs


def to_new_tone_style(text: str) -> str:
    for new, old in _NEW_TO_OLD_TONE + [(a.capitalize(), b.capitalize()) for a, b in _NEW_TO_OLD_TONE]:
        text = re.sub(rf"(^|[^qQ]){old}\b", lambda m, n=new: m.group(1) + n, text)
    return text


@dataclass(frozen=True)
class Units:
    district_code: list[str]
    district_name: list[str]
    commune_code: list[str]
    commune_name: list[str]
    unit_type: list[str]
    commune_name_after: list[str]  # name valid from 2022-04-10 (Phổ Yên), else the same
    district_name_after: list[str]


@lru_cache(maxsize=1)
def load_units() -> Units:
    """Thái Nguyên's 178 communes with their districts (valid 2020 to 2022-04-09) and Phổ Yên's change."""
    with open(SEEDS_DIR / "ref_admin_units.csv", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["commune_code"])
    with open(SEEDS_DIR / "ref_admin_unit_changes.csv", encoding="utf-8") as f:
        changes = {r["commune_code"]: r for r in csv.DictReader(f)
                   if r["effective"] == PHO_YEN_CHANGE_ON.isoformat() and r["new_name"]}
    after_name = [changes[r["commune_code"]]["new_name"] if r["commune_code"] in changes else r["commune_name"]
                  for r in rows]
    after_district = [changes[r["commune_code"]]["new_district"] if r["commune_code"] in changes
                      else r["district_name"] for r in rows]
    return Units(
        district_code=[r["district_code"] for r in rows],
        district_name=[r["district_name"] for r in rows],
        commune_code=[r["commune_code"] for r in rows],
        commune_name=[r["commune_name"] for r in rows],
        unit_type=[r["unit_type"] for r in rows],
        commune_name_after=after_name,
        district_name_after=after_district,
    )


def unaccent(text: str) -> str:
    """Vietnamese text as typed without diacritics: `Đỗ Văn Đức` -> `Do Van Duc`."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def district_codes() -> list[str]:
    return sorted(set(load_units().district_code))


@dataclass(frozen=True)
class NamePool:
    values: list[str]
    weights: np.ndarray  # probabilities, sum 1


def _pool(values: list[str], weights: list[float]) -> NamePool:
    w = np.asarray(weights, dtype=float)
    return NamePool(values, w / w.sum())


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def _uit_counts() -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for row in _read_csv("uit_member_name_part_counts.csv"):
        counts.setdefault(row["part"], {})[unicodedata.normalize("NFC", row["value"])] = int(row["count"])
    return counts


@lru_cache(maxsize=1)
def kinh_surnames() -> NamePool:
    """Family names by the published national shares (2005 edition), joint entries split for the north.

    Hoàng/Huỳnh: Hoàng is the northern form (95 %); Vũ/Võ: Vũ (90 %). The unpublished remainder is spread
    over the other family names of the UIT sample by their counts.
    """
    split = {"Hoàng/Huỳnh": [("Hoàng", 0.95), ("Huỳnh", 0.05)], "Vũ/Võ": [("Vũ", 0.9), ("Võ", 0.1)]}
    shares: dict[str, float] = {}
    for row in _read_csv("vn_surname_share_published.csv"):
        if row["edition"] != "2005":
            continue
        for name, part in split.get(row["surname"], [(row["surname"], 1.0)]):
            shares[name] = shares.get(name, 0.0) + float(row["share_percent"]) * part
    rest = 100.0 - sum(shares.values())
    others = {k: v for k, v in _uit_counts()["family"].items() if k not in shares and len(k) > 1}
    total = sum(others.values())
    for name in sorted(others):
        shares[name] = rest * others[name] / total
    names = sorted(shares)
    return _pool(names, [shares[n] for n in names])


@lru_cache(maxsize=1)
def minority_surnames() -> dict[str, NamePool]:
    """Per ethnic group, its listed family names, the first listed ones more common."""
    groups: dict[str, list[str]] = {}
    for row in _read_csv("ethnic_minority_surnames.csv"):
        groups.setdefault(row["ethnic_group"], []).append(row["surname"])
    return {g: _pool(names, [1.0 / (i + 1) ** 0.7 for i in range(len(names))]) for g, names in groups.items()}


@lru_cache(maxsize=1)
def given_names() -> dict[tuple[str, str], NamePool]:
    """(gender, kind) -> names; kind `middle+given` (two words) or `single_word`; new tone style, deduplicated."""
    uit = _uit_counts()
    seen: dict[tuple[str, str], dict[str, float]] = {}
    for row in _read_csv("duyet_given_names.csv"):
        name = to_new_tone_style(unicodedata.normalize("NFC", row["name_fixed"].strip()))
        if not name:
            continue
        words = name.split()
        weight = (uit.get("middle_first_token", {}).get(words[0], 0) + 1) ** 0.5
        weight *= (uit.get("given", {}).get(words[-1], 0) + 1) ** 0.5
        seen.setdefault((row["gender"], row["kind"]), {})[name] = weight
    return {key: _pool(sorted(v), [v[n] for n in sorted(v)]) for key, v in sorted(seen.items())}


# ---- vaccines ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Vaccine:
    code: str
    spellings: tuple[str, ...]  # the first is the canonical entry
    interval_days: tuple[int, int]  # between primary doses
    primary_doses: int
    lot_prefix: str


VACCINES: list[Vaccine] = [
    Vaccine("astrazeneca", ("AstraZeneca", "Vaxzevria", "ASTRAZENECA", "Astra Zeneca", "AZ", "astrazeneca",
                            "AstraZenca", "Covid-19 Vaccine AstraZeneca"), (56, 84), 2, "ABV"),
    Vaccine("pfizer", ("Pfizer", "Comirnaty", "Pfizer-BioNTech", "PFIZER", "pfizer", "Phizer", "Pfizer BioNTech"),
            (21, 28), 2, "FF"),
    Vaccine("moderna", ("Moderna", "Spikevax", "MODERNA", "moderna", "Modena"), (28, 35), 2, "0"),
    Vaccine("verocell", ("Vero Cell", "Sinopharm", "Verocell", "VERO CELL", "Vero cell", "Sinopharm Vero Cell",
                         "BBIBP-CorV"), (21, 28), 2, "2021"),
    Vaccine("sputnik_v", ("Sputnik V", "Sputnik-V", "Gam-COVID-Vac", "sputnik v", "Spútnik V"), (21, 21), 2, "II"),
    Vaccine("abdala", ("Abdala", "ABDALA", "CIGB-66", "abdala"), (14, 14), 3, "A"),
    Vaccine("hayat_vax", ("Hayat-Vax", "Hayat Vax", "HayatVax", "HAYAT-VAX"), (21, 28), 2, "HV"),
    Vaccine("janssen", ("Janssen", "Johnson & Johnson", "J&J", "Ad26.COV2.S", "janssen"), (0, 0), 1, "XD"),
]
VACCINE_INDEX = {v.code: i for i, v in enumerate(VACCINES)}

# Supply mix of first doses by month (from 2021-03 on); shares per vaccine code.
_MIX = {
    "2021-03": {"astrazeneca": 1.0},
    "2021-07": {"astrazeneca": 0.8, "moderna": 0.08, "pfizer": 0.06, "sputnik_v": 0.03, "verocell": 0.03},
    "2021-08": {"astrazeneca": 0.5, "verocell": 0.3, "pfizer": 0.1, "moderna": 0.08, "sputnik_v": 0.02},
    "2021-09": {"astrazeneca": 0.35, "verocell": 0.33, "pfizer": 0.2, "moderna": 0.07, "sputnik_v": 0.01,
                "hayat_vax": 0.02, "abdala": 0.01, "janssen": 0.01},
    "2021-11": {"astrazeneca": 0.3, "verocell": 0.22, "pfizer": 0.32, "moderna": 0.12, "hayat_vax": 0.01,
                "abdala": 0.01, "janssen": 0.02},
    "2022-01": {"astrazeneca": 0.3, "pfizer": 0.4, "moderna": 0.25, "verocell": 0.05},
}


def supply_mix(month_index: int) -> np.ndarray:
    """Shares of first-dose vaccines in month `month_index` (0 = 2021-03), in VACCINES order."""
    year, month = 2021 + (2 + month_index) // 12, (2 + month_index) % 12 + 1
    key = f"{year:04d}-{month:02d}"
    chosen = max(k for k in _MIX if k <= key)
    out = np.zeros(len(VACCINES))
    for code, share in _MIX[chosen].items():
        out[VACCINE_INDEX[code]] = share
    return out / out.sum()


# ---- sites ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Factory:
    code: str
    name: str
    commune_code: str
    district_code: str

    @property
    def company(self) -> str:
        """The company the clinic belongs to: `Công ty TNHH Điện tử Yên Bình 1`."""
        return self.name.split("(")[0].replace("Phòng khám ", "").replace("Phòng y tế ", "").strip()

    @property
    def zone(self) -> str:
        """The industrial zone in brackets (`KCN Yên Bình`), or empty."""
        return self.name[self.name.find("(") + 1:self.name.find(")")] if "(" in self.name else ""


FACTORIES: list[Factory] = [
    Factory("NM-001", "Phòng khám Công ty TNHH Điện tử Yên Bình 1 (KCN Yên Bình)", "05878", "172"),
    Factory("NM-002", "Phòng khám Công ty TNHH Điện tử Yên Bình 2 (KCN Yên Bình)", "05869", "172"),
    Factory("NM-003", "Phòng y tế Công ty TNHH Linh kiện Yên Bình (KCN Yên Bình)", "05902", "172"),
    Factory("NM-004", "Phòng y tế Công ty TNHH Cơ khí Tiên Phong (KCN Yên Bình)", "05884", "172"),
    Factory("NM-005", "Phòng y tế Công ty TNHH May Nam Tiến (KCN Nam Phổ Yên)", "05890", "172"),
    Factory("NM-006", "Phòng y tế Công ty CP Phụ tùng Sông Công (KCN Sông Công I)", "05528", "165"),
    Factory("NM-007", "Phòng y tế Công ty TNHH Điện tử Tân Quang (KCN Sông Công II)", "05527", "165"),
    Factory("NM-008", "Phòng y tế Công ty TNHH May Bá Xuyên (KCN Sông Công II)", "05533", "165"),
    Factory("NM-009", "Phòng y tế Công ty TNHH Vật liệu Quyết Thắng (KCN Quyết Thắng)", "05491", "164"),
    Factory("NM-010", "Phòng y tế Công ty CP Gang thép Cam Giá", "05467", "164"),
    Factory("NM-011", "Phòng y tế Công ty TNHH Điện tử Điềm Thụy (KCN Điềm Thụy)", "05941", "173"),
]
# Which factory district the workers of a home district commute to.
WORKER_DISTRICT_FACTORIES = {"172": ["NM-001", "NM-002", "NM-003", "NM-004", "NM-005"],
                             "165": ["NM-006", "NM-007", "NM-008"], "164": ["NM-009", "NM-010", "NM-001"],
                             "173": ["NM-011", "NM-001"], "171": ["NM-006", "NM-001"],
                             "168": ["NM-009", "NM-010"], "169": ["NM-010", "NM-009"], "167": ["NM-001"],
                             "170": ["NM-001"]}
# Share of residents aged 18-45 working in a factory clinic's company, by home district.
FACTORY_WORKER_SHARE = {"172": 0.28, "165": 0.22, "164": 0.08, "173": 0.14, "171": 0.07, "168": 0.06,
                        "169": 0.06, "167": 0.03, "170": 0.03}
# Districts whose mountain communes have remote stations that send batches.
REMOTE_DISTRICTS = ("167", "170", "171")

PRIORITY_GROUPS = [
    "Nhóm 1: Người làm việc trong cơ sở y tế",
    "Nhóm 2: Người tham gia phòng chống dịch",
    "Nhóm 3: Lực lượng quân đội",
    "Nhóm 4: Lực lượng công an",
    "Nhóm 6: Giáo viên, người làm việc tại cơ sở giáo dục",
    "Nhóm 7: Người cung cấp dịch vụ thiết yếu",
    "Nhóm 9: Người mắc bệnh mạn tính",
    "Nhóm 10: Người trên 65 tuổi",
    "Nhóm 12: Công nhân tại các khu công nghiệp",
    "Nhóm 15: Người lao động tự do",
    "Nhóm 16: Các đối tượng khác",
    "Trẻ em 12-17 tuổi",
    "Trẻ em 5-11 tuổi",
]

HOTLINE_CATEGORY_LABELS = {
    "missing_dose": "Thiếu mũi tiêm",
    "wrong_personal_info": "Sai thông tin cá nhân",
    "wrong_dose_info": "Sai thông tin mũi tiêm",
    "certificate_not_issued": "Chưa cấp chứng nhận",
    "duplicate_record": "Trùng bản ghi",
    "other": "Khác",
}
