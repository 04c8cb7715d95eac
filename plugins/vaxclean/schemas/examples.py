"""Small valid frames for every schema (tests, fixtures) and a large synthetic dose_reconciliation
(benchmarks). Fake values only: no real person is described here.

Frames are built with polars expressions over a row index, so `dose_reconciliation(3_300_000)`
takes about a second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl

from vaxclean.raw.layout import RAW_TABLES
from vaxclean.schemas._common import MATCH_STATUSES

_STR_LIST = pl.List(pl.String)
_COMMUNES = ("05434", "05437", "05440", "05443")


def _idx(n: int) -> pl.DataFrame:
    return pl.DataFrame({"i": pl.int_range(0, n, dtype=pl.Int64, eager=True)})


def _citizen_id(i: pl.Expr) -> pl.Expr:
    return pl.lit("019") + i.cast(pl.String).str.zfill(9)


def dose_reconciliation(n: int = 20, *, offset: int = 0) -> pl.DataFrame:
    """A valid `marts.dose_reconciliation` of n rows (every match status; duplicates point back)."""
    i = pl.col("i") + offset
    status = pl.lit(pl.Series(MATCH_STATUSES)).get((pl.col("i") % len(MATCH_STATUSES)).cast(pl.Int64))
    credited = status.is_in(["verified", "corrected", "probable"])
    is_dup = status == "duplicate"
    commune = pl.lit(pl.Series(_COMMUNES)).get((pl.col("i") % len(_COMMUNES)).cast(pl.Int64))
    return _idx(n).select(
        source=pl.when(pl.col("i") % 3 == 0).then(pl.lit("site_batch")).otherwise(pl.lit("platform")),
        source_record_id=pl.lit("R") + i.cast(pl.String).str.zfill(9),
        citizen_id=pl.when(credited).then(_citizen_id(i // 3)).otherwise(None),
        match_status=status,
        match_score=pl.when(status == "probable").then((i % 100).cast(pl.Float64) / 100.0).otherwise(None),
        issues=pl.when(status == "needs_review").then(pl.lit(["name_mismatch", "dob_mismatch"], dtype=_STR_LIST))
        .otherwise(pl.lit([], dtype=_STR_LIST)),
        duplicate_of_source=pl.when(is_dup).then(pl.lit("platform")).otherwise(None),
        duplicate_of_record_id=pl.when(is_dup).then(pl.lit("R") + (i - 1).cast(pl.String).str.zfill(9)).otherwise(None),
        vaccine_code=pl.lit("AZ"),
        dose_number_reported=((i % 3) + 1).cast(pl.Int32),
        dose_sequence=pl.when(credited).then(((i % 3) + 1).cast(pl.Int32)).otherwise(None),
        vaccinated_on=pl.lit(dt.date(2021, 6, 1)) + pl.duration(days=i % 500),
        is_signed=(i % 2 == 0),
        province_code=pl.lit("19"),
        district_code=pl.lit("164"),
        commune_code=commune,
    )


def person_vaccination(n: int = 10) -> pl.DataFrame:
    i = pl.col("i")
    return _idx(n).select(
        citizen_id=_citizen_id(i),
        province_code=pl.lit("19"),
        district_code=pl.lit("164"),
        commune_code=pl.lit("05434"),
        doses_credited=((i % 3) + 1).cast(pl.Int32),
        first_dose_on=pl.lit(dt.date(2021, 6, 1)),
        latest_dose_on=pl.lit(dt.date(2021, 6, 1)) + pl.duration(days=(i % 3) * 60),
        is_primary_series_complete=i % 3 >= 1,
        booster_doses=pl.when(i % 3 == 2).then(1).otherwise(0).cast(pl.Int32),
        is_passport_eligible=i % 3 >= 1,
        is_passport_signed=i % 2 == 0,
        open_issue_count=pl.lit(0, dtype=pl.Int32),
    )


def commune_worklist(n: int = 6) -> pl.DataFrame:
    i = pl.col("i")
    record = pl.lit("R") + i.cast(pl.String).str.zfill(9)
    status = pl.when(i % 2 == 0).then(pl.lit("open")).otherwise(pl.lit("returned"))
    frame = _idx(n).select(
        worklist_item_id=pl.lit(None, dtype=pl.String),  # set below (md5 is not a polars expression)
        province_code=pl.lit("19"),
        district_code=pl.lit("164"),
        commune_code=pl.lit("05434"),
        source=pl.lit("platform"),
        source_record_id=record,
        reasons=pl.lit(["name_mismatch"], dtype=_STR_LIST),
        full_name=pl.lit("Nguyen Van A"),
        date_of_birth=pl.lit("01/02/1980"),
        gender=pl.lit("Nam"),
        id_number=pl.lit("01908000012"),
        phone=pl.lit("0912345678"),
        candidate_citizen_id=_citizen_id(i),
        candidate_full_name=pl.lit("Nguyễn Văn A"),
        candidate_date_of_birth=pl.lit(dt.date(1980, 2, 1)),
        candidate_gender=pl.lit("male"),
        candidate_score=pl.lit(0.7),
        status=status,
        police_result=pl.when(i % 2 == 1).then(pl.lit("xác nhận")).otherwise(None),
        police_verified_id_number=pl.lit(None, dtype=pl.String),
        police_verified_full_name=pl.lit(None, dtype=pl.String),
        police_verified_date_of_birth=pl.lit(None, dtype=pl.Date),
        police_verified_gender=pl.lit(None, dtype=pl.String),
        police_verifier=pl.lit(None, dtype=pl.String),
        police_verified_on=pl.lit(None, dtype=pl.Date),
    )
    ids = [hashlib.md5(f"{s}/{r}".encode()).hexdigest() for s, r in zip(frame["source"], frame["source_record_id"], strict=True)]
    return frame.with_columns(worklist_item_id=pl.Series(ids, dtype=pl.String))


def complaint_tracking(n: int = 6) -> pl.DataFrame:
    i = pl.col("i")
    received = pl.lit(dt.datetime(2022, 3, 1, 8, 0)) + pl.duration(days=i)
    resolved = i % 2 == 0
    return _idx(n).select(
        source=pl.when(i % 2 == 0).then(pl.lit("portal")).otherwise(pl.lit("hotline")),
        ticket_id=pl.lit("T") + i.cast(pl.String),
        channel=pl.lit("portal"),
        received_at=received,
        category=pl.lit("missing_dose"),
        is_category_inferred=pl.lit(False),
        status=pl.when(resolved).then(pl.lit("resolved")).otherwise(pl.lit("assigned")),
        status_at=received + pl.duration(days=1),
        resolved_at=pl.when(resolved).then(received + pl.duration(days=1)).otherwise(None),
        age_days=(i + 1).cast(pl.Int32),
        sla_due_at=received + pl.duration(days=7),
        is_sla_breached=pl.lit(False),
        citizen_id=_citizen_id(i),
        linked_record_ids=pl.lit(["R000000001"], dtype=_STR_LIST),
        data_fix_detected_at=pl.lit(None, dtype=pl.Datetime("us")),
        province_code=pl.lit("19"),
        district_code=pl.lit("164"),
        commune_code=pl.lit("05434"),
        sla_days=pl.lit(7, dtype=pl.Int32),
        is_open=~resolved,
        sla_state=pl.when(resolved).then(pl.lit("closed")).otherwise(pl.lit("on_time")),
        resolution_days=pl.when(resolved).then(pl.lit(1, dtype=pl.Int32)).otherwise(None),
        linked_match_statuses=pl.lit(["verified"], dtype=_STR_LIST),
        linked_doses_credited=pl.lit(1, dtype=pl.Int32),
    )


def _commune_days(i: pl.Expr) -> dict[str, pl.Expr]:
    """The keys of a commune-and-day mart: the communes of _COMMUNES, day after day from 2022-03-01."""
    return {"as_of_date": pl.lit(dt.date(2022, 3, 1)) + pl.duration(days=i // len(_COMMUNES)),
            "province_code": pl.lit("19"), "district_code": pl.lit("164"),
            "commune_code": pl.lit(pl.Series(_COMMUNES)).get((i % len(_COMMUNES)).cast(pl.Int64))}


def kpi_commune_daily(n: int = 6) -> pl.DataFrame:
    i = pl.col("i")
    return _idx(n).select(
        **_commune_days(i),
        doses_received=(i + 10),
        doses_credited=(i + 5),
        persons_vaccinated=(i + 4),
        persons_passport_eligible=(i + 2),
        persons_passport_signed=(i + 1),
        worklist_open=pl.lit(1, dtype=pl.Int64),
        complaints_open=pl.lit(0, dtype=pl.Int64),
        complaints_sla_breached=pl.lit(0, dtype=pl.Int64),
    )


def worklist_verification_history(n: int = 6) -> pl.DataFrame:
    """Police return rows of n // 2 + n % 2 dose records: the odd rows are the first return of a record
    (superseded), the even rows its current return (applied)."""
    i = pl.col("i")
    record = pl.lit("R") + (i // 2).cast(pl.String).str.zfill(9)
    returns = pl.len().over(i // 2)
    current = (i % 2 == 1) | (returns == 1)
    sha = pl.lit("a" * 56) + (i // 4).cast(pl.String).str.zfill(8)
    frame = _idx(n).select(
        verification_id=pl.lit(None, dtype=pl.String),  # set below (md5 is not a polars expression)
        worklist_item_id=pl.lit(None, dtype=pl.String),
        source=pl.lit("platform"),
        source_record_id=record,
        return_sequence=((i % 2) + 1).cast(pl.Int32),
        is_current=current,
        outcome=pl.when(current).then(pl.lit("applied")).otherwise(pl.lit("superseded")),
        police_result=pl.when(i % 2 == 0).then(pl.lit("not_found")).otherwise(pl.lit("confirmed")),
        police_result_reported=pl.when(i % 2 == 0).then(pl.lit("không tìm thấy")).otherwise(pl.lit("xác nhận")),
        police_verified_id_number=pl.lit("019080000012"),
        police_verified_full_name=pl.lit("Nguyễn Văn A"),
        police_verified_date_of_birth=pl.lit(dt.date(1980, 2, 1)),
        police_verified_gender=pl.lit("male"),
        police_verifier=pl.lit("Công an xã"),
        police_verified_on=pl.lit(dt.date(2022, 2, 1)) + pl.duration(days=i % 2 * 7),
        returned_by_commune_code=pl.lit("05434"),
        file_name=pl.format("ket_qua_{}.csv", i // 4),
        file_path=pl.format("05434/ket_qua_{}.csv", i // 4),
        file_sha256=sha,
        line_number=(i % 4 + 2).cast(pl.Int32),
        loaded_at=pl.lit(dt.datetime(2022, 2, 10, 8, 0)) + pl.duration(days=i // 4),
        match_status=pl.when(current).then(pl.lit("corrected")).otherwise(None),
        citizen_id=pl.when(current).then(_citizen_id(i // 2)).otherwise(None),
        province_code=pl.lit("19"),
        district_code=pl.lit("164"),
        commune_code=pl.lit("05434"),
        rejection_reason=pl.lit(None, dtype=pl.String),
    )
    verification = [hashlib.md5(f"{s}#{n}".encode()).hexdigest()
                    for s, n in zip(frame["file_sha256"], frame["line_number"], strict=True)]
    item = [hashlib.md5(f"{s}/{r}".encode()).hexdigest()
            for s, r in zip(frame["source"], frame["source_record_id"], strict=True)]
    return frame.with_columns(verification_id=pl.Series(verification, dtype=pl.String),
                              worklist_item_id=pl.Series(item, dtype=pl.String))


def kpi_province_summary(n: int = 6) -> pl.DataFrame:
    """n - 1 district rows and the province row that sums them (n >= 2)."""
    i = pl.col("i")
    districts = _idx(max(n - 1, 1)).select(
        as_of_date=pl.lit(dt.date(2022, 9, 30)),
        level=pl.lit("district"),
        province_code=pl.lit("19"),
        district_code=(i + 164).cast(pl.String).str.zfill(3),
        district_name=pl.format("Huyện {}", i),
        communes=(i % 5 + 10),
        doses_received=(i * 10 + 100),
        doses_credited=(i * 10 + 90),
        doses_corrected=(i + 5),
        doses_duplicate=pl.lit(4, dtype=pl.Int64),
        doses_needs_review=pl.lit(4, dtype=pl.Int64),
        doses_unmatched=pl.lit(2, dtype=pl.Int64),
        credited_share=pl.lit(None, dtype=pl.Float64),
        persons_vaccinated=(i * 4 + 40),
        persons_primary_series_complete=(i * 4 + 30),
        persons_boosted=(i + 10),
        persons_passport_eligible=(i * 4 + 30),
        persons_passport_signed=(i * 4 + 20),
        worklist_open=(i % 3),
        worklist_returned=pl.lit(1, dtype=pl.Int64),
        worklist_applied=pl.lit(2, dtype=pl.Int64),
        worklist_rejected=pl.lit(0, dtype=pl.Int64),
        worklist_backlog=(i % 3 + 1),
        complaints_received=pl.lit(3, dtype=pl.Int64),
        complaints_open=pl.lit(2, dtype=pl.Int64),
        complaints_open_sla_breached=pl.lit(1, dtype=pl.Int64),
        complaints_sla_breached=pl.lit(1, dtype=pl.Int64),
        complaints_open_data_fixed=pl.lit(0, dtype=pl.Int64),
    ).with_columns(pl.col(pl.Int32).cast(pl.Int64))
    counts = [c for c, dtype in districts.schema.items() if dtype == pl.Int64]
    province = districts.select(
        pl.col("as_of_date").first(), pl.lit("province").alias("level"), pl.lit("19").alias("province_code"),
        pl.lit(None, dtype=pl.String).alias("district_code"), pl.lit("Tỉnh Thái Nguyên").alias("district_name"),
        *[pl.col(c).sum() for c in counts],
    )
    # an unrouted worklist item counts on the province row only
    province = province.with_columns(worklist_open=pl.col("worklist_open") + 1, worklist_backlog=pl.col("worklist_backlog") + 1)
    share = (pl.col("doses_credited") / (pl.col("doses_received") - pl.col("doses_duplicate"))).round(4)
    return pl.concat([districts, province], how="diagonal").with_columns(credited_share=share).select(districts.columns)


def worklist_commune_daily(n: int = 8) -> pl.DataFrame:
    i = pl.col("i")
    return _idx(n).select(
        **_commune_days(i),
        items_open=(i % 3),
        items_returned=pl.lit(1, dtype=pl.Int64),
        items_applied=(i // 2),
        items_rejected=pl.lit(0, dtype=pl.Int64),
    ).with_columns(items_backlog=pl.col("items_open") + pl.col("items_returned") + pl.col("items_rejected"),
                   is_latest=pl.col("as_of_date") == pl.col("as_of_date").max())


def data_quality_site_weekly(n: int = 6) -> pl.DataFrame:
    i = pl.col("i")
    received = (i * 10 + 20)
    return _idx(n).select(
        site_code=pl.format("TYT-{}", i % 3),
        source=pl.when(i % 2 == 0).then(pl.lit("platform")).otherwise(pl.lit("site_batch")),
        week_start_on=pl.lit(dt.date(2021, 6, 7)) + pl.duration(weeks=i // 2),
        province_code=pl.lit("19"),
        district_code=pl.lit("164"),
        commune_code=pl.lit("05434"),
        files_received=pl.when(i % 2 == 1).then(pl.lit(2, dtype=pl.Int64)).otherwise(pl.lit(0, dtype=pl.Int64)),
        files_quarantined=pl.lit(0, dtype=pl.Int64),
        records_received=received,
        rows_quarantined=(i % 2),
        quarantined_share=(i % 2) / (received + i % 2),
        delay_days_median=pl.lit(3.0),
        delay_days_p90=pl.lit(12.0),
        records_timely=received - 5,
        timely_share=(received - 5) / received,
        records_verified=received - 6,
        records_corrected=pl.lit(2, dtype=pl.Int64),
        records_probable=pl.lit(1, dtype=pl.Int64),
        records_needs_review=pl.lit(1, dtype=pl.Int64),
        records_unmatched=pl.lit(1, dtype=pl.Int64),
        records_duplicate=pl.lit(1, dtype=pl.Int64),
    ).with_columns(unmatched_share=1 / pl.col("records_received"), needs_review_share=1 / pl.col("records_received"))


def intake_quarantine_daily(n: int = 4) -> pl.DataFrame:
    i = pl.col("i")
    return _idx(n).select(
        quarantined_on=pl.lit(dt.date(2022, 3, 1)) + pl.duration(days=i),
        source=pl.lit("site_batch"),
        reason_code=pl.when(i % 2 == 0).then(pl.lit("field_count")).otherwise(pl.lit("header_mismatch")),
        rows_quarantined=(i + 1),
        files_affected=pl.lit(1, dtype=pl.Int64),
        files_quarantined_whole=(i % 2),
    )


def vaccination_sites(n: int = 6) -> pl.DataFrame:
    i = pl.col("i")
    station = i % 3 == 0
    return _idx(n).select(
        site_code=pl.format("S{}", i),
        site_name=pl.when(station).then(pl.lit("Trạm Y tế Phường Quang Vinh")).otherwise(pl.lit("Cty TNHH May A")),
        site_kind=pl.when(station).then(pl.lit("commune_station")).otherwise(pl.lit("workplace_clinic")),
        kind_source=pl.lit("name"),
        confidence=pl.lit(0.95),
        has_conflicting_evidence=pl.lit(False),
        evidence=pl.when(station).then(pl.lit(["name_says_commune_station", "all_ages", "one_commune"]))
        .otherwise(pl.lit(["name_says_workplace_clinic", "working_ages_only", "one_employer"])),
        name_kind=pl.when(station).then(pl.lit("commune_station")).otherwise(pl.lit("workplace_clinic")),
        name_keyword=pl.when(station).then(pl.lit("tram y te")).otherwise(pl.lit("cty")),
        profile_kind=pl.when(station).then(pl.lit("commune_station")).otherwise(pl.lit("workplace_clinic")),
        province_code=pl.lit("19"),
        district_code=pl.lit("164"),
        commune_code=pl.when(station).then(pl.lit("05434")).otherwise(pl.lit(None, dtype=pl.String)),
        commune_source=pl.when(station).then(pl.lit("name_and_people")).otherwise(pl.lit(None, dtype=pl.String)),
        dose_records=(i * 10 + 40),
        offline_share=pl.lit(0.1),
        working_age_share=pl.when(station).then(pl.lit(0.6)).otherwise(pl.lit(1.0)),
        minor_share=pl.when(station).then(pl.lit(0.2)).otherwise(pl.lit(0.0)),
        elderly_share=pl.when(station).then(pl.lit(0.2)).otherwise(pl.lit(0.0)),
        top_workplace=pl.lit("Công ty TNHH May A"),
        top_workplace_share=pl.lit(0.7),
        top_commune_share=pl.lit(0.8),
        communes_served=(i + 1),
    )


def reference_frames() -> dict[str, pl.DataFrame]:
    """The warehouse's reference tables the publisher reads (the dbt seeds, as dbt loads them: text)."""
    from vaxclean.config import DBT_PROJECT_DIR

    seeds = DBT_PROJECT_DIR / "seeds"
    return {
        "ref_admin_units": pl.read_csv(seeds / "ref_admin_units.csv", infer_schema=False),
        "ref_code_labels": pl.read_csv(seeds / "ref_code_labels.csv", infer_schema=False).with_columns(
            pl.col("sort_order").cast(pl.Int32)),
    }


MART_EXAMPLES = {
    "dose_reconciliation": dose_reconciliation,
    "person_vaccination": person_vaccination,
    "commune_worklist": commune_worklist,
    "complaint_tracking": complaint_tracking,
    "kpi_commune_daily": kpi_commune_daily,
    "worklist_verification_history": worklist_verification_history,
    "kpi_province_summary": kpi_province_summary,
    "worklist_commune_daily": worklist_commune_daily,
    "data_quality_site_weekly": data_quality_site_weekly,
    "intake_quarantine_daily": intake_quarantine_daily,
    "vaccination_sites": vaccination_sites,
}


def mart_frames(scale: int = 1) -> dict[str, pl.DataFrame]:
    """A valid frame per mart; `scale` multiplies the default sizes (to make distinct versions)."""
    sizes = {"dose_reconciliation": 24, "person_vaccination": 10, "commune_worklist": 6,
             "complaint_tracking": 6, "kpi_commune_daily": 8, "worklist_verification_history": 6,
             "kpi_province_summary": 6, "worklist_commune_daily": 8, "data_quality_site_weekly": 6,
             "intake_quarantine_daily": 4, "vaccination_sites": 6}
    return {name: build(sizes[name] * scale) for name, build in MART_EXAMPLES.items()}


def staging_frames() -> dict[str, pl.DataFrame]:
    """A valid frame per staging model of `vaxclean.schemas.staging.STAGING_MODELS`."""
    ts = dt.datetime(2022, 1, 5, 10, 0)
    person = {"full_name": ["Nguyễn Văn A", None], "date_of_birth": [dt.date(1980, 2, 1), None],
              "gender": ["male", None], "id_digits": ["019080000012", "12345678"], "id_class": ["cccd12", "cmnd9_lost_zero"],
              "phone": ["0912345678", None]}
    admin = {"province_code": ["19", None], "district_code": ["164", None], "commune_code": ["05434", None]}
    dose = {"vaccine_key": ["astrazeneca", None], "dose_number_reported": pl.Series([1, None], dtype=pl.Int32),
            "vaccinated_on": [dt.date(2021, 7, 1), dt.date(2022, 1, 2)]}
    return {
        "stg_platform__immunizations": pl.DataFrame({
            "source_record_id": ["P1", "P2"], "updated_at": [ts, ts],
            "is_signed": [True, None], "signed_at": [ts, None], "site_code": ["S1", "S2"],
            **person, **admin, **dose,
        }),
        "stg_site_batches__batch_rows": pl.DataFrame({
            "source_record_id": ["F01/a.xlsx#1", "F01/a.xlsx#2"], "site_code": ["F01", "F01"],
            "file_name": ["a.xlsx", "a.xlsx"], **person, **admin, **dose,
        }),
        "stg_feedback__tickets": pl.DataFrame({
            "ticket_id": ["T1", "T2"], "channel": ["portal", "zalo"], "channel_as_sent": ["portal", "Zalo"],
            "received_at": [ts, ts], "category_reported": ["missing_dose", None],
            "category_as_sent": ["missing_dose", None], "status": ["received", "resolved"], "updated_at": [ts, ts],
            "commune_code": ["05434", None], **person,
        }),
        "stg_hotline__calls": pl.DataFrame({
            "ticket_id": ["C1", "C2"], "received_at": [ts, None], "category_reported": [None, "other"],
            "commune_code": ["05434", "05437"], **person,
        }),
        "stg_population__citizens": pl.DataFrame({
            "citizen_id": ["019080000012", "019180000013"], "old_id_number": ["090000001", None],
            "full_name": ["Nguyễn Văn A", "Trần Thị B"], "date_of_birth": [dt.date(1980, 2, 1), dt.date(1980, 1, 1)],
            "is_birth_year_only": [False, True], "gender": ["male", "female"], "status": ["active", "deceased"],
            "province_code": ["19", "19"], "district_code": ["164", "164"], "commune_code": ["05434", "05434"],
        }),
        "stg_police_returns__verifications": pl.DataFrame({
            "source": ["platform", "site_batch"], "source_record_id": ["P1", "F01/a.xlsx#2"],
            "police_verified_id_digits": ["019080000012", None],
            "police_verified_date_of_birth": [dt.date(1980, 2, 1), None],
            "police_verified_gender": ["male", None], "police_verified_on": [dt.date(2022, 2, 1), None],
        }),
    }


def raw_frame(table: str, rows: int = 2) -> pl.DataFrame:
    """A valid frame of a raw table: every non-null column filled with a plausible value."""
    ts = dt.datetime(2022, 1, 5, 10, 0, tzinfo=dt.UTC)
    fill: dict[str, object] = {
        "_load_id": "L1", "load_id": "L1", "source": "platform", "_file_sha256": "a" * 64, "file_sha256": "a" * 64,
        "_line_number": 2, "_page": 0, "_row_in_page": 0, "received": 10, "loaded": 9, "quarantined": 1,
        "_snapshot_date": dt.date(2022, 1, 1), "citizen_id": "019080000012", "reason": "bad row",
    }
    columns: dict[str, pl.Series] = {}
    schema = pl.from_arrow(RAW_TABLES[table].schema.empty_table()).schema
    for name, dtype in schema.items():
        if name in fill:
            value = fill[name]
        elif dtype == pl.String:
            value = f"{name}-x"
        elif isinstance(dtype, pl.Datetime):
            value = ts
        elif dtype == pl.Boolean:
            value = False
        elif dtype == pl.Date:
            value = dt.date(1980, 1, 1)
        else:
            value = 1
        columns[name] = pl.Series(name, [value] * rows).cast(dtype)
    frame = pl.DataFrame(columns)
    if "_line_number" in frame.columns:
        frame = frame.with_columns(pl.int_range(2, rows + 2, dtype=pl.Int32).alias("_line_number"))
    if table == "load_audit":
        frame = frame.with_columns(pl.format("L{}", pl.int_range(0, rows)).alias("load_id"))
    if table == "file_registry":
        frame = frame.with_columns(pl.format("{}", pl.int_range(0, rows)).str.pad_start(64, "0").alias("file_sha256"))
    return frame


def dose_sources_for(doses: pl.DataFrame) -> dict[str, dict[str, pl.DataFrame]]:
    """Staging dose tables whose live records are exactly the mart's dose records (plus an older
    version of one platform record and a tombstoned record, which must not count), and the
    intermediate model holding the live dose keys; as {db schema: {table: frame}}."""
    ts = dt.datetime(2022, 1, 5, 10, 0)
    platform = doses.filter(pl.col("source") == "platform").select(
        source_record_id=pl.col("source_record_id"), updated_at=pl.lit(ts), is_deleted=pl.lit(False),
        vaccinated_on=pl.col("vaccinated_on"),
    )
    extra = pl.DataFrame({"source_record_id": ["TOMBSTONED"], "updated_at": [ts], "is_deleted": [True],
                          "vaccinated_on": [dt.date(2021, 8, 1)]})
    older = platform.head(1).with_columns(updated_at=pl.lit(ts - dt.timedelta(days=3)))
    site = doses.filter(pl.col("source") == "site_batch").select(
        source_record_id=pl.lit("F01/a.xlsx#") + pl.col("source_record_id"), vaccinated_on=pl.col("vaccinated_on"),
    )
    live = doses.select(
        "source",
        source_record_id=pl.when(pl.col("source") == "site_batch")
        .then(pl.lit("F01/a.xlsx#") + pl.col("source_record_id")).otherwise(pl.col("source_record_id")),
    )
    return {
        "staging": {"stg_platform__immunizations": pl.concat([platform, older, extra]),
                    "stg_site_batches__batch_rows": site},
        "intermediate": {"int_dose_records_unioned": live},
    }


def consistent_doses(doses: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, dict[str, pl.DataFrame]]]:
    """A dose_reconciliation frame with site batch keys shaped `<site>/<file>#<STT>`, and its sources."""
    site = pl.col("source") == "site_batch"
    shaped = doses.with_columns(source_record_id=pl.when(site).then(pl.lit("F01/a.xlsx#") + pl.col("source_record_id"))
                                .otherwise(pl.col("source_record_id")))
    return shaped, dose_sources_for(doses)


def consistent_marts(scale: int = 1) -> tuple[dict[str, pl.DataFrame], dict[str, dict[str, pl.DataFrame]]]:
    """(marts, {db schema: {table: frame}} of the dose sources) that pass the mart gate with conservation."""
    marts = mart_frames(scale)
    marts["dose_reconciliation"], sources = consistent_doses(marts["dose_reconciliation"])
    return marts, {**sources, "reference": reference_frames()}


def write_warehouse(db_path: str | Path, tables: dict[str, dict[str, pl.DataFrame]]) -> Path:
    """Create (or replace) tables `<schema>.<name>` in a DuckDB file from polars frames (via Arrow)."""
    import duckdb  # local: examples are importable without DuckDB for pure schema tests

    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        for schema, frames in tables.items():
            con.execute(f'create schema if not exists "{schema}"')
            for name, frame in frames.items():
                arrow_table = frame.to_arrow()
                con.register("_frame", arrow_table)
                con.execute(f'create or replace table "{schema}"."{name}" as select * from _frame')
                con.unregister("_frame")
        con.execute("checkpoint")
    finally:
        con.close()
    return db_path
