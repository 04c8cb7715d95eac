"""Platform record versions: first entry, later signature, edits (corrections) and tombstones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from vaxclean.scenario.dirt import IDENTITY_TAGS, RATES
from vaxclean.scenario.people import People, day

END_TS = (day(dt.date(2022, 9, 30)) + 1) * 86400 - 1  # last second served
SIGN_RATE = 0.88
SIGN_LATER_SHARE = 0.3
LATE_ENTRY_RATE = 0.04
_ID_DIRT = ["id_missing", "id_malformed", "id_typo", "name_typo", "dob_wrong", "dob_swapped", "gender_wrong"]


def record_ids(rng: np.random.Generator, n: int) -> pl.Series:
    return "IMM" + pl.Series(rng.permutation(n) + 10_000_000).cast(pl.String).str.zfill(9)


def plan(rng: np.random.Generator, records: pl.DataFrame, tags: dict[str, np.ndarray]) -> pl.DataFrame:
    """Per platform record: entry, sign, edit and tombstone times (seconds since epoch, -1 = none)."""
    is_plat = (records["source"] == "platform").to_numpy()
    n = records.height
    u = lambda: rng.random(n)  # noqa: E731
    base_day = records["vaccinated_day"].to_numpy().astype(np.int64)
    dup_of = records["dup_of"].to_numpy()
    rekeyed = (records["dup_kind"] == "rekeyed_duplicate").to_numpy()
    export = records["export_day"].to_numpy()
    orig_export = np.where(rekeyed, export[np.where(dup_of >= 0, dup_of, 0)], 0)
    base_day = np.where(rekeyed, orig_export + rng.integers(5, 60, n), base_day)
    late = is_plat & ~rekeyed & (u() < LATE_ENTRY_RATE)
    delay = np.select([late, u() < 0.25], [rng.integers(7, 60, n), rng.integers(1, 4, n)], 0)
    double = (records["dup_kind"] == "double_entry").to_numpy()
    delay = np.where(double, delay + rng.integers(0, 4, n), delay)
    entry = (base_day + delay) * 86400 + 3600 + (u() * 43000).astype(np.int64)
    entry = np.minimum(entry, END_TS - 10)
    signed = is_plat & ((u() < SIGN_RATE) | rekeyed)
    later = signed & ~rekeyed & (u() < SIGN_LATER_SHARE)
    sign_at = np.where(signed, np.where(later, entry + rng.integers(1, 30, n) * 86400 + 17, entry), -1)
    id_dirt = np.logical_or.reduce([tags[k] for k in _ID_DIRT if k in tags])
    borrowed = tags["borrowed_identity"]
    tomb = double & (u() < 0.6)
    edited = is_plat & ~borrowed & ~tomb & (u() < np.where(id_dirt, RATES["edited_dirty"], RATES["edited_other"]))
    edit_at = np.where(edited, entry + rng.integers(3, 120, n) * 86400 + 29, -1)
    tomb_at = np.where(tomb, entry + rng.integers(1, 40, n) * 86400 + 41, -1)
    # a deleted record is not signed afterwards: the tombstone is always its newest version
    sign_at = np.where((tomb_at >= 0) & (sign_at > tomb_at), -1, sign_at)
    # events past the end of the scenario never happened
    sign_at = np.where(sign_at > END_TS, -1, sign_at)
    edit_at = np.where(edit_at > END_TS, -1, edit_at)
    tomb_at = np.where(tomb_at > END_TS, -1, tomb_at)
    return pl.DataFrame({"entry_at": np.where(is_plat, entry, -1), "sign_at": sign_at, "edit_at": edit_at,
                         "tomb_at": tomb_at, "late_entry": late})


def clean_fields(people: People, records: pl.DataFrame) -> pl.DataFrame:
    """The identity fields as a careful correction would type them."""
    idp = records["id_person"].to_numpy()
    dates = pl.Series(people.birth_day[idp]).cast(pl.Date)
    year_only = pl.Series(people.birth_year_only[idp])
    dob = pl.select(pl.when(year_only).then(dates.dt.year().cast(pl.String))
                    .otherwise(dates.dt.strftime("%d/%m/%Y"))).to_series()
    return pl.DataFrame({
        "full_name": people.full_name.gather(idp),
        "date_of_birth": dob,
        "gender": np.where(people.female[idp], "Nữ", "Nam"),
        "id_number": people.citizen_id.gather(idp),
    })


def final_tags(tags: dict[str, np.ndarray], times: pl.DataFrame, is_plat: np.ndarray) -> dict[str, np.ndarray]:
    """Truth tags of the newest version: identity dirt fixed by an edit is dropped, context tags added."""
    edited = (times["edit_at"] >= 0).to_numpy()
    out = {k: (v & ~edited if k in IDENTITY_TAGS else v) for k, v in tags.items()}
    out["edited"] = edited
    out["tombstoned"] = (times["tomb_at"] >= 0).to_numpy()
    out["late_entry"] = times["late_entry"].to_numpy()
    out["unsigned"] = is_plat & (times["sign_at"] < 0).to_numpy()
    return out


def _iso(seconds: pl.Expr) -> pl.Expr:
    return pl.from_epoch(seconds, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def platform_versions(records: pl.DataFrame, reported: pl.DataFrame, clean: pl.DataFrame,
                      times: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """Every served version of every platform record, in the API's order (updated_at, record_id)."""
    is_plat = (records["source"] == "platform").to_numpy()
    base = pl.concat([reported, times, clean.rename(lambda c: "clean_" + c)], how="horizontal").with_columns(
        ids.alias("record_id"), records["site_code"], records["vaccinated_day"].cast(pl.Date).dt.strftime("%Y-%m-%d").alias("vaccinated_on"),
        pl.lit(False).alias("_")).filter(pl.Series(is_plat))
    events = []
    for name, col in (("entry", "entry_at"), ("sign", "sign_at"), ("edit", "edit_at"), ("tomb", "tomb_at")):
        ev = base.filter(pl.col(col) >= 0).with_columns(pl.col(col).alias("t"), pl.lit(name).alias("kind"))
        if name == "sign":
            ev = ev.filter(pl.col("sign_at") > pl.col("entry_at"))
        events.append(ev)
    v = pl.concat(events)
    editedv = (pl.col("edit_at") >= 0) & (pl.col("edit_at") <= pl.col("t"))
    signedv = (pl.col("sign_at") >= 0) & (pl.col("sign_at") <= pl.col("t"))
    out = v.select(
        "record_id",
        *[pl.when(editedv).then(pl.col("clean_" + c)).otherwise(pl.col(c)).alias(c)
          for c in ("full_name", "date_of_birth", "gender", "id_number")],
        "phone", "address", "province_code", "district_code", "commune_code", "priority_group", "workplace",
        "site_code", "site_name", "vaccine", "lot_number", "dose_number", "vaccinated_on",
        signedv.alias("signed"),
        pl.when(signedv).then(pl.from_epoch(pl.col("sign_at") + 7 * 3600, time_unit="s")
                              .dt.strftime("%Y-%m-%dT%H:%M:%S+07:00")).otherwise(None).alias("signed_at"),
        _iso(pl.col("t")).alias("updated_at"),
        (pl.col("kind") == "tomb").alias("deleted"),
    )
    return out.sort("updated_at", "record_id")
