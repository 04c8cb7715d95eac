"""Vietnamese labels of the commune worklist files: headers, reasons, statuses, police results.

The verification headers and result values are fixed by sources.md §6 (the police return them);
`Nguồn` and `Mã bản ghi` key a returned row back to its dose record.
"""

from __future__ import annotations

import csv
import functools

from vaxclean.config import DBT_PROJECT_DIR

CODE_LABELS_SEED = DBT_PROJECT_DIR / "seeds" / "ref_code_labels.csv"


@functools.cache
def _code_labels() -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {}
    with CODE_LABELS_SEED.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            labels.setdefault(row["domain"], {})[row["code"]] = row["label_vi"]
    return labels


def code_labels(domain: str) -> dict[str, str]:
    """{code: Vietnamese label} of one domain of the seed ref_code_labels (match_status, issue, ...)."""
    return dict(_code_labels().get(domain, {}))

# The police verification columns, exactly as sources.md §6 names them (left blank for the police).
RESULT_HEADER = "Kết quả xác minh"
VERIFICATION_HEADERS: tuple[str, ...] = (
    RESULT_HEADER,
    "Số định danh xác minh",
    "Họ tên xác minh",
    "Ngày sinh xác minh",
    "Giới tính xác minh",
    "Cán bộ xác minh",
    "Ngày xác minh",
)
# The values the police choose from (the dropdown of `Kết quả xác minh`).
POLICE_RESULTS: tuple[str, ...] = ("xác nhận", "điều chỉnh", "không tìm thấy", "không thường trú")
GENDERS_VI: tuple[str, ...] = ("Nam", "Nữ")

# (header, commune_worklist column or a derived value) for the case columns, in sheet order.
CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("STT", "_row_number"),
    ("Nguồn", "source"),
    ("Mã bản ghi", "source_record_id"),
    ("Mã mục", "worklist_item_id"),
    ("Trạng thái", "_status_vi"),
    ("Lý do", "_reasons_vi"),
    ("Họ và tên (khai báo)", "full_name"),
    ("Ngày sinh (khai báo)", "date_of_birth"),
    ("Giới tính (khai báo)", "_gender_vi"),
    ("Số CMND/CCCD (khai báo)", "id_number"),
    ("Số điện thoại (khai báo)", "phone"),
    ("Vắc xin", "vaccine"),
    ("Ngày tiêm", "_vaccinated_on_vi"),
    ("Điểm tiêm", "site_code"),
    ("Số định danh gợi ý", "candidate_citizen_id"),
    ("Họ tên gợi ý", "candidate_full_name"),
    ("Ngày sinh gợi ý", "_candidate_dob_vi"),
    ("Giới tính gợi ý", "_candidate_gender_vi"),
    ("Độ tin cậy gợi ý", "_candidate_score_pct"),
    ("Kết quả lần trước", "police_result"),
)
HEADERS: tuple[str, ...] = tuple(h for h, _ in CASE_COLUMNS) + VERIFICATION_HEADERS

# Statuses and issue codes in plain Vietnamese: the dbt seed ref_code_labels is the one list (the BI layer
# publishes the same labels; a code without a label fails the dbt test assert_every_code_has_a_label).
STATUS_VI: dict[str, str] = code_labels("worklist_status")

GENDER_VI: dict[str, str] = {"male": "Nam", "female": "Nữ"}

REASON_VI: dict[str, str] = code_labels("issue")


def reason_text(codes: list[str] | None) -> str:
    """Issue codes as one line of plain Vietnamese; an unknown code is kept as is (never dropped)."""
    return "; ".join(REASON_VI.get(code, code) for code in (codes or []))
