"""Vietnamese labels of the commune worklist files: headers, reasons, statuses, police results.

The verification headers and result values are fixed by sources.md §6 (the police return them);
`Nguồn` and `Mã bản ghi` key a returned row back to its dose record.
"""

from __future__ import annotations

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

STATUS_VI: dict[str, str] = {
    "open": "Chờ xác minh",
    "returned": "Đã trả kết quả, cần xác minh lại",
    "rejected": "Kết quả chưa áp dụng được, cần xác minh lại",
    "applied": "Đã áp dụng",
}

GENDER_VI: dict[str, str] = {"male": "Nam", "female": "Nữ"}

# Issue codes (marts.md) in plain Vietnamese for the health station and the police.
REASON_VI: dict[str, str] = {
    "missing_id": "Thiếu số CMND/CCCD",
    "bad_id_format": "Số CMND/CCCD sai định dạng",
    "id_leading_zero_lost": "Số định danh bị mất số 0 ở đầu",
    "id_repaired": "Số định danh đã được sửa tự động",
    "old_id_number": "Khai số CMND cũ (9 số)",
    "old_id_repaired": "Số CMND cũ đã được sửa tự động",
    "id_not_in_population": "Số định danh không có trong CSDL quốc gia về dân cư",
    "name_mismatch": "Họ tên không khớp CSDL dân cư",
    "dob_mismatch": "Ngày sinh không khớp CSDL dân cư",
    "dob_day_month_swapped": "Ngày và tháng sinh bị đảo",
    "gender_mismatch": "Giới tính không khớp CSDL dân cư",
    "commune_mismatch": "Xã/phường khai báo khác nơi thường trú",
    "unparseable_dob": "Ngày sinh không đọc được",
    "not_resident": "Không thường trú tại địa phương",
    "citizen_deceased": "Người có số định danh này đã mất theo CSDL dân cư",
    "suspected_borrowed_identity": "Nghi dùng thông tin của người khác (mượn danh tính)",
    "ambiguous_candidates": "Có nhiều người trùng thông tin, cần xác định đúng người",
    "implausible_dose_interval": "Khoảng cách giữa các mũi tiêm bất thường",
    "dose_number_inconsistent": "Số mũi khai báo không khớp lịch sử tiêm",
    "dose_before_birth": "Ngày tiêm trước ngày sinh",
    "unknown_vaccine": "Không rõ loại vắc xin",
    "police_not_found": "Lần xác minh trước: không tìm thấy",
    "police_id_not_in_population": "Số định danh công an trả về không có trong CSDL dân cư",
    "police_verified": "Đã được công an xác minh",
}


def reason_text(codes: list[str] | None) -> str:
    """Issue codes as one line of plain Vietnamese; an unknown code is kept as is (never dropped)."""
    return "; ".join(REASON_VI.get(code, code) for code in (codes or []))
