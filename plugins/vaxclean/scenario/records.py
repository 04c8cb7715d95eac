"""From true doses to dose *records*: channels, batch files, re-keyed and double entries, borrowed identities.

A record is one row a source holds: a platform record or a row of a site batch file. Records of the same
dose (re-keyed batch rows, double entries) point at the original with `dup_of` (a record index).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from vaxclean.scenario import reference as ref
from vaxclean.scenario.people import People, day
from vaxclean.scenario.sites import Sites

REKEY_RATE = 0.2  # share of batch rows later keyed into the platform by hand
DOUBLE_ENTRY_RATE = 0.015  # share of platform doses entered twice by the site
DOUBLE_TOMBSTONED = 0.6  # share of double entries the site deletes later
BORROW_RATE_RESIDENT = 0.05  # of resident factory workers under 24
BORROW_RATE_MIGRANT = 0.03
XLSX_FILE_SHARE = 0.35
CSV_ENCODINGS = (("utf-8", 0.4), ("utf-8-sig", 0.35), ("cp1258", 0.25))


def site_codes(doses: pl.DataFrame, sites: Sites) -> pl.DataFrame:
    """Each dose's site (`site`, a row of sites.frame) and its code in the scenario's convention."""
    site = sites.site_index(doses)
    return doses.with_columns(pl.Series("site", site), sites.column("code", site).alias("site_code"))


def borrowed_identity(rng: np.random.Generator, p: People, doses: pl.DataFrame) -> np.ndarray:
    """For each dose, the person whose identity the record carries (a relative's for borrowed identities)."""
    id_person = doses["person"].to_numpy().copy()
    age = p.age_on(dt.date(2021, 7, 1))
    units = ref.load_units()
    district_idx = np.unique(np.array(units.district_code), return_inverse=True)[1][p.commune_idx]
    fam_id = p.family.rank("dense").cast(pl.Int64).to_numpy()
    key = district_idx.astype(np.int64) * 100_000 + fam_id
    worker = p.factory_idx >= 0
    young = age < 24
    borrower = worker & young & (rng.random(p.size) < np.where(p.is_resident, BORROW_RATE_RESIDENT,
                                                               BORROW_RATE_MIGRANT))
    cand = np.flatnonzero(p.is_resident & (age >= 26) & (age < 56) & (p.female == p.female))
    cand = cand[np.argsort(key[cand], kind="stable")]
    ck = key[cand]
    b = np.flatnonzero(borrower)
    lo, hi = np.searchsorted(ck, key[b], "left"), np.searchsorted(ck, key[b], "right")
    ok = hi > lo
    lender = np.full(p.size, -1, dtype=np.int64)
    lender[b[ok]] = cand[lo[ok] + (rng.random(int(ok.sum())) * (hi[ok] - lo[ok])).astype(np.int64)]
    at_factory = (doses["site_kind"] == 2).to_numpy()
    person = doses["person"].to_numpy()
    use = at_factory & (lender[person] >= 0)
    id_person[use] = lender[person[use]]
    return id_person


def build_records(rng: np.random.Generator, p: People, doses: pl.DataFrame, sites: Sites) -> pl.DataFrame:
    """All dose records with their source, keys and duplicate links (before any dirt)."""
    doses = site_codes(doses, sites).with_columns(pl.Series("id_person", borrowed_identity(rng, p, doses)))
    n = doses.height
    base = doses.with_columns(
        pl.Series("dup_of", np.full(n, -1, dtype=np.int64)),
        pl.Series("dup_kind", [""] * n),
        pl.when(pl.col("via_batch")).then(pl.lit("site_batch")).otherwise(pl.lit("platform")).alias("source"),
    )
    batch_idx = np.flatnonzero(base["via_batch"].to_numpy())
    plat_idx = np.flatnonzero(~base["via_batch"].to_numpy())
    rekey = batch_idx[rng.random(len(batch_idx)) < REKEY_RATE]
    double = plat_idx[rng.random(len(plat_idx)) < DOUBLE_ENTRY_RATE]
    extra = [
        base[rekey].with_columns(pl.Series("dup_of", rekey.astype(np.int64)), pl.lit("rekeyed_duplicate")
                                 .alias("dup_kind"), pl.lit("platform").alias("source"), pl.lit(False).alias("via_batch")),
        base[double].with_columns(pl.Series("dup_of", double.astype(np.int64)), pl.lit("double_entry")
                                  .alias("dup_kind")),
    ]
    records = pl.concat([base, *extra], how="vertical").with_row_index("rec")
    return _batch_files(rng, records)


def _batch_files(rng: np.random.Generator, records: pl.DataFrame) -> pl.DataFrame:
    """Assign batch rows to files: weekly (factories) or monthly (remote stations) exports, dropped late."""
    n = records.height
    is_batch = (records["source"] == "site_batch").to_numpy()
    vday = records["vaccinated_day"].to_numpy()
    factory = (records["site_kind"] == 2).to_numpy()
    # 1970-01-05 was a Monday
    week_start = vday - (vday - 4) % 7
    month_start = pl.Series(vday).cast(pl.Date).dt.truncate("1mo").cast(pl.Int32).to_numpy()
    period = np.where(factory, week_start, month_start)
    period_len = np.where(factory, 7, 31)
    frame = pl.DataFrame({"rec": records["rec"], "site_code": records["site_code"], "period": period,
                          "is_batch": is_batch}).filter(pl.col("is_batch"))
    files = frame.select("site_code", "period").unique().sort("site_code", "period")
    nf = files.height
    delay = rng.integers(3, 40, nf)
    export = np.minimum(files["period"].to_numpy() + 7 + delay, day(dt.date(2022, 9, 25)))
    is_xlsx = rng.random(nf) < XLSX_FILE_SHARE
    enc_names = [e for e, _ in CSV_ENCODINGS]
    enc = np.array(enc_names)[np.searchsorted(np.cumsum([w for _, w in CSV_ENCODINGS]), rng.random(nf))]
    files = files.with_columns(
        pl.Series("export_day", export.astype(np.int32)),
        pl.Series("file_format", np.where(is_xlsx, "xlsx", enc)),
        pl.Series("numeric_ids", is_xlsx & (rng.random(nf) < 0.6)),
        pl.Series("serial_dates", is_xlsx & (rng.random(nf) < 0.4)),
    ).with_columns(
        (pl.col("site_code") + "_" + pl.col("period").cast(pl.Date).dt.strftime("%Y-%m-%d") + "_xuat_"
         + pl.col("export_day").cast(pl.Date).dt.strftime("%Y-%m-%d") + "."
         + pl.when(pl.col("file_format") == "xlsx").then(pl.lit("xlsx")).otherwise(pl.lit("csv"))).alias("file_name"),
    )
    frame = frame.join(files, on=["site_code", "period"], how="left").with_columns(
        pl.Series("tiebreak", rng.random(frame.height)))
    frame = frame.join(records.select("rec", "vaccinated_day"), on="rec").sort("file_name", "vaccinated_day",
                                                                                   "tiebreak")
    frame = frame.with_columns(pl.int_range(1, pl.len() + 1).over("file_name").alias("stt"))
    del period_len, n
    out = records.join(frame.select("rec", "file_name", "stt", "export_day", "file_format", "numeric_ids",
                                    "serial_dates"), on="rec", how="left")
    out = out.with_columns(
        pl.when(pl.col("source") == "site_batch")
        .then(pl.col("site_code") + "/" + pl.col("file_name") + "#" + pl.col("stt").cast(pl.String))
        .otherwise(None).alias("batch_record_id"))
    return out.sort("rec")
