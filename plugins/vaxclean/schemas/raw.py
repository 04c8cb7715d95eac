"""pandera schemas of the raw layer (the Parquet lake, `vaxclean.raw.layout.RAW_TABLES`).

Structural only: every column of the layout with its Arrow type, and the keys that the sources
promise are never null. Source values are kept as received (dirt included), so there are no format
checks here; those belong to staging.
"""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

UtcTimestamp = Annotated[pl.Datetime, "us", "UTC"]


class _ApiMeta(pa.DataFrameModel):
    """Load metadata of an API extraction: one file per extracted interval."""

    meta_load_id: str = pa.Field(alias="_load_id", description="Load that wrote the row.")
    meta_interval_start: UtcTimestamp = pa.Field(alias="_interval_start", description="Extracted interval start (inclusive).")
    meta_interval_end: UtcTimestamp = pa.Field(alias="_interval_end", description="Extracted interval end (exclusive).")
    meta_extracted_at: UtcTimestamp = pa.Field(alias="_extracted_at", description="When the page was fetched.")
    meta_page: pl.Int32 = pa.Field(alias="_page", ge=0, description="Page number within the interval.")
    meta_row_in_page: pl.Int32 = pa.Field(alias="_row_in_page", ge=0, description="Row position within the page.")


class _FileMeta(pa.DataFrameModel):
    """Load metadata of a landed file: one raw file per landed file content."""

    meta_load_id: str = pa.Field(alias="_load_id", description="Load that wrote the row.")
    meta_file_path: str = pa.Field(alias="_file_path", description="Path relative to the landing directory.")
    meta_file_name: str = pa.Field(alias="_file_name", description="File name of the landed file.")
    meta_file_sha256: str = pa.Field(alias="_file_sha256", str_matches=r"^[0-9a-f]{64}$", description="Content checksum.")
    meta_line_number: pl.Int32 = pa.Field(alias="_line_number", ge=1, description="1-based line/row in the file.")
    meta_loaded_at: UtcTimestamp = pa.Field(alias="_loaded_at", description="When the file was loaded.")


def _text(description: str) -> object:
    return pa.Field(nullable=True, description=description)


class RawPlatformImmunization(_ApiMeta):
    """Vaccination platform API records as received: one row per served version."""

    record_id: str = pa.Field(description="Platform record id, stable across edits; never null.")
    updated_at: str = pa.Field(description="ISO-8601 UTC text as served; never null.")
    deleted: bool = pa.Field(nullable=True, description="Tombstone flag as served.")
    payload: str = pa.Field(nullable=True, description="The whole record as served (JSON); large, not data-checked.")


class RawFeedbackTicket(_ApiMeta):
    """Feedback portal API tickets as received: one row per served version."""

    ticket_id: str = pa.Field(description="Portal ticket id; never null.")
    updated_at: str = pa.Field(description="ISO-8601 UTC text as served; never null.")
    payload: str = pa.Field(nullable=True, description="The whole ticket as served (JSON); large, not data-checked.")


class RawSiteBatchRow(_FileMeta):
    """Offline site batch rows, every cell as text as read (XLSX numbers as their text)."""

    meta_site_code: str = pa.Field(alias="_site_code", description="Site folder the file landed in.")
    stt: str = _text("STT (row number in the batch), as read.")
    full_name: str = _text("Họ và tên, as read.")
    date_of_birth: str = _text("Ngày sinh, as read.")
    gender: str = _text("Giới tính, as read.")
    phone: str = _text("Số điện thoại, as read.")
    id_number: str = _text("Số CMND/CCCD, as read.")
    address: str = _text("Địa chỉ, as read.")
    province_code: str = _text("Mã tỉnh, as read.")
    district_code: str = _text("Mã huyện, as read.")
    commune_code: str = _text("Mã xã, as read.")
    workplace: str = _text("Đơn vị công tác, as read.")
    vaccine: str = _text("Tên vắc xin, as read.")
    lot_number: str = _text("Số lô, as read.")
    dose_number: str = _text("Mũi tiêm, as read.")
    vaccinated_on: str = _text("Ngày tiêm, as read.")


class RawHotlineCall(_FileMeta):
    """Hotline call log rows, every cell as text."""

    call_id: str = _text("Mã cuộc gọi, as read.")
    called_at: str = _text("Thời gian, as read.")
    full_name: str = _text("Họ tên, as read.")
    phone: str = _text("Số điện thoại, as read.")
    id_number: str = _text("Số CMND/CCCD, as read.")
    date_of_birth: str = _text("Ngày sinh, as read.")
    commune_code: str = _text("Mã xã, as read.")
    description: str = _text("Nội dung, as read.")
    category: str = _text("Phân loại, as read.")
    status: str = _text("Trạng thái, as read.")


class RawPopulation(pa.DataFrameModel):
    """National Population Database snapshots, one directory per snapshot date, kept."""

    meta_load_id: str = pa.Field(alias="_load_id", description="Load that wrote the row.")
    meta_snapshot_date: pl.Date = pa.Field(alias="_snapshot_date", description="Snapshot date (directory name).")
    meta_file_path: str = pa.Field(alias="_file_path", description="Path relative to the landing directory.")
    meta_loaded_at: UtcTimestamp = pa.Field(alias="_loaded_at", description="When the snapshot was loaded.")
    citizen_id: str = pa.Field(description="12-digit citizen id; never null.")
    old_id_number: str = _text("9-digit old ID card number, or null.")
    full_name: str = _text("Full name (NFC).")
    date_of_birth: pl.Date = pa.Field(nullable=True, description="Date of birth.")
    birth_year_only: bool = pa.Field(nullable=True, description="Only the year of birth is known.")
    gender: str = _text("male | female.")
    province_code: str = _text("Residence province (GSO).")
    district_code: str = _text("Residence district (GSO).")
    commune_code: str = _text("Residence commune (GSO).")
    phone: str = _text("Phone, or null.")
    status: str = _text("active | deceased | emigrated.")


class RawPoliceReturn(_FileMeta):
    """Police verification returns, every cell as text; other returned columns kept as JSON."""

    meta_commune_code: str = pa.Field(alias="_commune_code", description="Commune folder the file landed in.")
    source: str = _text("Nguồn, as read.")
    source_record_id: str = _text("Mã bản ghi, as read.")
    result: str = _text("Kết quả xác minh, as read.")
    verified_id_number: str = _text("Số định danh xác minh, as read.")
    verified_full_name: str = _text("Họ tên xác minh, as read.")
    verified_date_of_birth: str = _text("Ngày sinh xác minh, as read.")
    verified_gender: str = _text("Giới tính xác minh, as read.")
    verifier: str = _text("Cán bộ xác minh, as read.")
    verified_on: str = _text("Ngày xác minh, as read.")
    other_columns: str = _text("Other returned columns (JSON).")


class RawQuarantine(pa.DataFrameModel):
    """Rows or whole files that could not be read structurally, with the reason and the raw text."""

    load_id: str = pa.Field(description="Load that quarantined the row.")
    source: str = pa.Field(description="Source name.")
    file_path: str = _text("Landed file, for file sources.")
    page: pl.Int32 = pa.Field(nullable=True, description="API page, for API sources.")
    line_number: pl.Int32 = pa.Field(nullable=True, description="Line/row in the file, for file sources.")
    reason: str = pa.Field(description="Why the row could not be read.")
    raw_text: str = _text("The row's raw text.")
    quarantined_at: UtcTimestamp = pa.Field(description="When it was quarantined.")


class RawLoadAudit(pa.DataFrameModel):
    """One row per load: received = loaded + quarantined."""

    load_id: str = pa.Field(description="Load id.")
    source: str = pa.Field(description="Source name.")
    target: str = _text("Raw table written.")
    received: pl.Int64 = pa.Field(ge=0, description="Rows received.")
    loaded: pl.Int64 = pa.Field(ge=0, description="Rows written to the target.")
    quarantined: pl.Int64 = pa.Field(ge=0, description="Rows written to quarantine.")
    started_at: UtcTimestamp = pa.Field(nullable=True, description="Load start.")
    finished_at: UtcTimestamp = pa.Field(nullable=True, description="Load end.")
    status: str = _text("Load status.")
    detail: str = _text("Free-text detail.")

    class Config:
        unique = ["source", "load_id"]

    @pa.dataframe_check(name="received_is_loaded_plus_quarantined")
    def received_is_loaded_plus_quarantined(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("received") == pl.col("loaded") + pl.col("quarantined"))


class RawFileRegistry(pa.DataFrameModel):
    """One row per landed file content seen: path, checksum, and what became of it."""

    file_sha256: str = pa.Field(str_matches=r"^[0-9a-f]{64}$", description="Content checksum.")
    source: str = pa.Field(description="Source name.")
    file_path: str = pa.Field(description="Path relative to the landing directory.")
    size_bytes: pl.Int64 = pa.Field(nullable=True, ge=0, description="File size.")
    load_id: str = _text("Load that read it.")
    status: str = _text("What became of it.")
    registered_at: UtcTimestamp = pa.Field(nullable=True, description="When it was registered.")
    file_modified_at: UtcTimestamp = pa.Field(nullable=True, description="The file's modification time as landed.")


RAW_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "platform_immunizations": RawPlatformImmunization,
    "feedback_tickets": RawFeedbackTicket,
    "site_batch_rows": RawSiteBatchRow,
    "hotline_calls": RawHotlineCall,
    "population": RawPopulation,
    "police_returns": RawPoliceReturn,
    "quarantine": RawQuarantine,
    "load_audit": RawLoadAudit,
    "file_registry": RawFileRegistry,
}

# Columns identifying a raw row in gate reports.
RAW_KEYS: dict[str, tuple[str, ...]] = {
    "platform_immunizations": ("record_id", "updated_at"),
    "feedback_tickets": ("ticket_id", "updated_at"),
    "site_batch_rows": ("_file_path", "_line_number"),
    "hotline_calls": ("_file_path", "_line_number"),
    "population": ("_snapshot_date", "citizen_id"),
    "police_returns": ("_file_path", "_line_number"),
    "quarantine": ("load_id", "line_number", "page"),
    "load_audit": ("source", "load_id"),
    "file_registry": ("file_sha256",),
}
