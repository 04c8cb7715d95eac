"""Generate a whole scenario directory (all six sources plus ground truth) for a number of people and a seed."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl

from vaxclean.scenario import complaints, police, write
from vaxclean.scenario import reference as ref
from vaxclean.scenario.campaign import assign_sites, generate_doses
from vaxclean.scenario.dirt import RATES, WRONG_DETAIL_KINDS, Dirt, tags_to_string
from vaxclean.scenario.people import EPOCH, People, generate_people
from vaxclean.scenario.records import build_records
from vaxclean.scenario.sites import generate_sites
from vaxclean.scenario.versions import clean_fields, final_tags, plan, platform_versions, record_ids

log = logging.getLogger(__name__)

SNAPSHOT_DATES = (dt.date(2021, 6, 30), dt.date(2022, 9, 30))
EXCEL_EPOCH_DAY = (dt.date(1899, 12, 30) - EPOCH).days


def generate(out_dir: Path, people: int, seed: int, site_convention: str | None = None) -> dict:
    """Write the scenario to `out_dir` (replacing it) and return the manifest. `site_convention`: how
    site codes are written (sites.SITE_CONVENTIONS; by default the seed picks one)."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    sites = generate_sites(seed, site_convention)
    rng = np.random.default_rng(seed)
    p = generate_people(rng, people)
    doses = assign_sites(rng, p, generate_doses(rng, p))
    records = build_records(rng, p, doses, sites)
    dirt = Dirt(rng, p, records, sites)
    reported = dirt.run()
    times = plan(rng, records, dirt.tags)
    ids = record_ids(rng, records.height)
    is_plat = (records["source"] == "platform").to_numpy()
    source_record_id = pl.select(pl.when(pl.Series(is_plat)).then(ids).otherwise(records["batch_record_id"])
                                 ).to_series().alias("source_record_id")
    tagmask = final_tags(dirt.tags, times, is_plat)
    tags = tags_to_string(tagmask)
    final = records.select("rec", "person", "id_person", "dose_seq", "vaccinated_day", "source", "dup_of").with_columns(
        source_record_id, tags.alias("tags"), reported["site_name"], reported["vaccine"], reported["dose_number"],
        times["entry_at"], times["edit_at"])
    log.info("generated %d people, %d records in %.1fs", p.size, records.height, time.perf_counter() - t0)
    versions = platform_versions(records, reported, clean_fields(p, records), times, ids)
    write.write_jsonl(versions, out_dir / "platform" / "immunizations.jsonl")
    batch_stats = _write_batches(out_dir, records, reported)
    _write_population(out_dir, p)
    comp = complaints.generate_complaints(rng, p, final, people)
    _write_complaints(out_dir, comp)
    police_stats = _write_police(out_dir, police.generate_police_returns(rng, p, final))
    truth = _truth_doses(p, records, final)
    (out_dir / "truth").mkdir(exist_ok=True)
    truth.write_csv(out_dir / "truth" / "doses.csv", null_value="")
    comp.truth.write_csv(out_dir / "truth" / "tickets.csv", null_value="")
    used = records["site"].unique()
    sites.truth_of(used).write_csv(out_dir / "truth" / "sites.csv", null_value="")
    manifest = _manifest(seed, people, p, doses, final, tagmask, versions, comp, batch_stats, police_stats)
    manifest["site_convention"] = sites.convention
    (out_dir / "truth" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                                      encoding="utf-8")
    log.info("scenario written to %s in %.1fs", out_dir, time.perf_counter() - t0)
    return manifest


def _write_batches(out_dir: Path, records: pl.DataFrame, reported: pl.DataFrame) -> dict:
    rows = pl.concat([records.select("source", "site_code", "file_name", "stt", "file_format", "numeric_ids",
                                     "serial_dates", "vaccinated_day", "export_day"),
                      reported.drop("site_name", "priority_group")], how="horizontal")
    rows = rows.filter(pl.col("source") == "site_batch").sort("site_code", "file_name", "stt").with_columns(
        pl.when(pl.col("serial_dates")).then((pl.col("vaccinated_day") - EXCEL_EPOCH_DAY).cast(pl.String))
        .otherwise(pl.col("vaccinated_day").cast(pl.Date).dt.strftime("%d/%m/%Y")).alias("vaccinated_on"),
        pl.col("stt").cast(pl.String))
    files = rows.select("site_code", "file_name", "file_format", "numeric_ids", "serial_dates", "export_day").unique(
        maintain_order=True)
    formats: dict[str, int] = {}
    for site, name, fmt, numeric, serial, export_day in files.iter_rows():
        part = rows.filter((pl.col("site_code") == site) & (pl.col("file_name") == name))
        path = out_dir / "site_batches" / site / name
        if fmt == "xlsx":
            write.write_batch_xlsx(part, path, bool(numeric), bool(serial))
        else:
            write.write_csv_text(write.batch_csv_frame(part), path, fmt)
        # the file is dated as the site wrote it: its export day, 17:00 in Vietnam (10:00 UTC)
        exported = (export_day * 86400) + 10 * 3600
        os.utime(path, (exported, exported))
        formats[fmt] = formats.get(fmt, 0) + 1
    return {"files": files.height, "rows": rows.height, "files_by_format": dict(sorted(formats.items()))}


def _population_frame(p: People, snapshot: dt.date, newer: bool) -> pl.DataFrame:
    units = ref.load_units()
    res = np.flatnonzero(p.is_resident & (p.birth_day <= (snapshot - EPOCH).days))
    commune_idx = (p.new_commune_idx if newer else p.commune_idx)[res]
    status = p.status_new[res] if newer else np.full(len(res), "active", dtype=object)
    phone = p.phone1.gather(res)
    if newer:  # some people updated their phone with the register
        p2 = p.phone2.gather(res)
        update = pl.Series(np.arange(len(res)) % 2 == 0) & p2.is_not_null()
        phone = pl.select(pl.when(update).then(p2).otherwise(phone)).to_series()
    age = p.age_on(snapshot)[res]
    keep_phone = pl.Series((age >= 15) & ((res * 7919) % 100 < 78))
    return pl.DataFrame({
        "citizen_id": p.citizen_id.gather(res),
        "old_id_number": p.old_id.gather(res),
        "full_name": p.full_name.gather(res),
        "date_of_birth": pl.Series(p.birth_day[res]).cast(pl.Date),
        "birth_year_only": p.birth_year_only[res],
        "gender": np.where(p.female[res], "female", "male"),
        "province_code": [ref.PROVINCE_CODE] * len(res),
        "district_code": pl.Series(units.district_code).gather(commune_idx),
        "commune_code": pl.Series(units.commune_code).gather(commune_idx),
        "phone": pl.select(pl.when(keep_phone).then(phone).otherwise(None)).to_series(),
        "status": status.tolist(),
    }).with_columns(pl.col("full_name").str.normalize("NFC"))


def _write_population(out_dir: Path, p: People) -> None:
    for i, snapshot in enumerate(SNAPSHOT_DATES):
        frame = _population_frame(p, snapshot, newer=i == len(SNAPSHOT_DATES) - 1)
        path = out_dir / "population" / snapshot.isoformat() / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path, compression="zstd", statistics=False)


def _write_complaints(out_dir: Path, comp: complaints.Complaints) -> None:
    write.write_jsonl(comp.ticket_versions, out_dir / "feedback" / "tickets.jsonl")
    (out_dir / "hotline").mkdir(exist_ok=True)
    if comp.hotline_calls.is_empty():
        return
    for (day_key,), part in comp.hotline_calls.group_by(["file_date"], maintain_order=True):
        write.write_csv_text(part.drop("file_date"), out_dir / "hotline" / f"{day_key}.csv", "utf-8")


def _write_police(out_dir: Path, returns: dict[str, list[tuple[str, pl.DataFrame]]]) -> dict:
    files = rows = 0
    for i, (code, items) in enumerate(sorted(returns.items())):
        for name, frame in items:
            path = out_dir / "police_returns" / code / name
            if i % 2 == 0:
                write.write_csv_text(frame, path.with_suffix(".csv"), "utf-8-sig")
            else:
                write.write_table_xlsx(frame, path.with_suffix(".xlsx"))
            files += 1
            rows += frame.height
    return {"communes": len(returns), "files": files, "rows": rows}


def _truth_doses(p: People, records: pl.DataFrame, final: pl.DataFrame) -> pl.DataFrame:
    person = records["person"].to_numpy()
    idp = records["id_person"].to_numpy()
    true_id = pl.select(pl.when(pl.Series(p.is_resident[person])).then(p.citizen_id.gather(person))
                        .otherwise(None)).to_series()
    dup_of = records["dup_of"].to_numpy()
    has_dup = dup_of >= 0
    safe = np.where(has_dup, dup_of, 0)
    dup_source = pl.select(pl.when(pl.Series(has_dup)).then(final["source"].gather(safe)).otherwise(None))
    dup_id = pl.select(pl.when(pl.Series(has_dup)).then(final["source_record_id"].gather(safe)).otherwise(None))
    return pl.DataFrame({
        "source": final["source"],
        "source_record_id": final["source_record_id"],
        "true_citizen_id": true_id,
        "recorded_citizen_id": p.citizen_id.gather(idp),
        "duplicate_of_source": dup_source.to_series(),
        "duplicate_of_record_id": dup_id.to_series(),
        "tags": final["tags"],
        "true_vaccine": pl.Series([v.code for v in ref.VACCINES]).gather(records["vaccine_idx"].cast(pl.Int64)),
        "true_dose_sequence": records["dose_seq"],
        "vaccinated_on": records["vaccinated_day"].cast(pl.Date),
    }).sort("source", "source_record_id")


def _manifest(seed: int, people: int, p: People, doses: pl.DataFrame, final: pl.DataFrame,
              tagmask: dict[str, np.ndarray], versions: pl.DataFrame, comp: complaints.Complaints, batch_stats: dict,
              police_stats: dict) -> dict:
    live = ~tagmask["tombstoned"]
    n_live = max(int(live.sum()), 1)
    return {
        "seed": seed,
        "people": people,
        "generator": "vaxclean.scenario 1",
        "snapshots": [d.isoformat() for d in SNAPSHOT_DATES],
        "counts": {
            "residents": int(p.is_resident.sum()),
            "migrants_not_in_population": int((~p.is_resident).sum()),
            "vaccinated_persons": int(doses["person"].n_unique()),
            "true_doses": doses.height,
            "doses_per_resident": round(doses.height / max(people, 1), 3),
            "dose_records": final.height,
            "dose_records_live": int(live.sum()),
            "platform_records": int((final["source"] == "platform").sum()),
            "platform_versions": versions.height,
            "site_batch_files": batch_stats["files"],
            "site_batch_rows": batch_stats["rows"],
            "site_batch_files_by_format": batch_stats["files_by_format"],
            "portal_tickets": int(comp.ticket_versions["ticket_id"].n_unique()) if comp.ticket_versions.height else 0,
            "portal_ticket_versions": comp.ticket_versions.height,
            "hotline_calls": comp.hotline_calls.height,
            "police_returns": police_stats,
        },
        "tags": {t: {"count": int(m.sum()), "rate_of_live_records": round(float((m & live).sum()) / n_live, 5)}
                 for t, m in sorted(tagmask.items()) if m.any()},
        "person_rates": _person_rates(final["person"].to_numpy(), tagmask, live, p.size),
        "targets": {"rates": RATES, "wrong_detail_kinds": dict(WRONG_DETAIL_KINDS),
                    "vaccinated_with_no_or_malformed_id": 0.046, "rest_with_wrong_detail": 0.25},
    }


def _person_rates(person: np.ndarray, tags: dict[str, np.ndarray], live: np.ndarray, size: int) -> dict:
    wrong_kinds = [k for k, _ in WRONG_DETAIL_KINDS]
    bad = np.logical_or.reduce([tags[k] for k in ("id_missing", "id_malformed")]) & live
    wrong = np.logical_or.reduce([tags[k] for k in wrong_kinds if k in tags]) & live
    vaccinated = np.bincount(person[live], minlength=size) > 0
    has_bad = np.bincount(person[bad], minlength=size) > 0
    has_wrong = np.bincount(person[wrong], minlength=size) > 0
    n = max(int(vaccinated.sum()), 1)
    rest = vaccinated & ~has_bad
    return {"vaccinated_persons": int(vaccinated.sum()),
            "no_or_malformed_id": round(float(has_bad.sum()) / n, 4),
            "rest_with_wrong_detail": round(float((has_wrong & rest).sum()) / max(int(rest.sum()), 1), 4)}
