"""Dirt: how each record's fields were typed, with one truth tag per kind of dirt applied.

Rates (targets) are in `RATES`; docs/scenario.md explains them and the manifest reports what was realised.
Everything is vectorised: numpy masks decide, polars expressions transform the strings.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from vaxclean.scenario import reference as ref
from vaxclean.scenario.people import People, day
from vaxclean.scenario.sites import Sites

RATES: dict[str, float] = {
    # person level (per vaccinated person)
    "person_id_bad": 0.032,  # no or malformed ID on (most of) the person's records, adults; x3 children, x2.5 80+
    "person_id_bad_missing_share": 0.7,  # of those: missing (else malformed)
    "person_id_bad_per_record": 0.85,
    "person_wrong_detail": 0.22,  # one kind of wrong detail on some of the person's records
    "person_wrong_detail_per_record": 0.6,
    # record level, sporadic
    "id_missing": 0.004, "id_typo": 0.006, "id_leading_zero_lost": 0.012, "id_separators": 0.02,
    "name_typo": 0.006, "dob_wrong": 0.003, "gender_wrong": 0.002, "gender_spelling": 0.12, "gender_missing": 0.02,
    "extra_spaces": 0.04, "case_upper": 0.06, "case_lower": 0.02, "nfd_site": 0.6, "nfd_other": 0.01,
    "no_diacritics_site": 0.35, "no_diacritics_other": 0.03, "tone_old_site": 0.6, "tone_old_other": 0.12,
    "phone_missing": 0.04, "phone_format": 0.2, "phone_old_prefix": 0.02, "code_unpadded": 0.06,
    "code_missing": 0.02, "vaccine_spelling": 0.25, "dose_number_wrong": 0.02, "edited_dirty": 0.3,
    "edited_other": 0.01,
}
# kinds of wrong detail a person can have, with their shares
WRONG_DETAIL_KINDS = [("id_typo", 0.22), ("id_old_number", 0.15), ("id_leading_zero_lost", 0.1),
                      ("dob_swapped", 0.08), ("dob_wrong", 0.1), ("dob_year_only", 0.08), ("gender_wrong", 0.07),
                      ("name_typo", 0.2)]
IDENTITY_TAGS = ["nfd", "no_diacritics", "case", "extra_spaces", "tone_placement", "name_typo", "id_missing",
                 "id_malformed", "id_leading_zero_lost", "id_old_number", "id_typo", "id_separators", "dob_year_only",
                 "dob_swapped", "dob_wrong", "gender_wrong", "gender_spelling", "gender_missing"]
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _s(values: np.ndarray | list, name: str = "") -> pl.Series:
    return pl.Series(name, values)


class Dirt:
    """Applies the dirt to a records frame; `run()` returns the reported fields and the tags."""

    def __init__(self, rng: np.random.Generator, people: People, records: pl.DataFrame, sites: Sites) -> None:
        self.rng, self.p, self.r, self.sites = rng, people, records, sites
        self.n = records.height
        self.person = records["person"].to_numpy()
        self.id_person = records["id_person"].to_numpy()
        self.seq = records["dose_seq"].to_numpy()
        self.is_batch = (records["source"] == "site_batch").to_numpy()
        self.tags: dict[str, np.ndarray] = {}

    def u(self) -> np.ndarray:
        return self.rng.random(self.n)

    def tag(self, name: str, mask: np.ndarray) -> np.ndarray:
        self.tags[name] = self.tags.get(name, np.zeros(self.n, dtype=bool)) | mask
        return mask

    # ---- person profiles ----------------------------------------------------------------------------
    def _anchor(self) -> np.ndarray:
        n_doses = np.zeros(self.p.size, dtype=np.int64)
        np.maximum.at(n_doses, self.person, self.seq)
        anchor = 1 + (self.rng.random(self.p.size) * np.maximum(n_doses, 1)).astype(np.int64)
        return self.seq == anchor[self.person]

    def profiles(self) -> None:
        p, rng = self.p, self.rng
        age = p.age_on(dt.date(2022, 1, 1))
        factor = np.select([age < 12, age >= 80], [3.0, 2.5], 1.0)
        bad = rng.random(p.size) < RATES["person_id_bad"] * factor
        missing = bad & (rng.random(p.size) < RATES["person_id_bad_missing_share"])
        anchor = self._anchor()
        on = (self.u() < RATES["person_id_bad_per_record"]) | anchor
        self.id_missing = (missing[self.person] & on) | (self.u() < RATES["id_missing"])
        self.id_malformed = (bad & ~missing)[self.person] & on & ~self.id_missing
        kinds = [k for k, _ in WRONG_DETAIL_KINDS]
        shares = np.array([s for _, s in WRONG_DETAIL_KINDS])
        wrong = ~bad & (rng.random(p.size) < RATES["person_wrong_detail"])
        kind = np.where(wrong, np.searchsorted(np.cumsum(shares) / shares.sum(), rng.random(p.size)), -1)
        on = (self.u() < RATES["person_wrong_detail_per_record"]) | anchor
        self.wrong = {k: (kind[self.person] == i) & on for i, k in enumerate(kinds)}

    # ---- fields ---------------------------------------------------------------------------------------
    def site_styles(self) -> dict[str, np.ndarray]:
        codes = self.r["site_code"]
        site_rank = codes.rank("dense").cast(pl.Int64).to_numpy() - 1
        k = int(site_rank.max()) + 1 if self.n else 1
        rng = self.rng
        return {name: (rng.random(k) < share)[site_rank] for name, share in
                (("nfd", 0.08), ("no_diacritics", 0.1), ("upper", 0.15), ("tone_old", 0.4))}

    def full_name(self, style: dict[str, np.ndarray]) -> pl.Series:
        name = self.p.full_name.gather(self.id_person)
        u = self.u
        old_tone = u() < np.where(style["tone_old"], RATES["tone_old_site"], RATES["tone_old_other"])
        df = pl.DataFrame({"s": name, "tone": old_tone}).with_row_index("i")
        expr = pl.col("s")
        for pat, rep in ref.tone_patterns_new_to_old():
            expr = expr.str.replace_all(pat, rep)
        toned = df.filter(pl.col("tone") & pl.col("s").str.contains("[òóỏõọùúủũụ][aey]")).select(
            "i", expr.alias("toned"))
        df = df.join(toned, on="i", how="left").sort("i").with_columns(pl.col("toned").fill_null(pl.col("s"))
                                                                     .alias("t")).drop("toned", "i")
        self.tag("tone_placement", (df["t"] != df["s"]).to_numpy())
        typo = self.wrong["name_typo"] | (u() < RATES["name_typo"])
        self.tag("name_typo", typo)
        length = df["t"].str.len_chars().to_numpy()
        pos = 1 + (u() * np.maximum(length - 3, 1)).astype(np.int64)
        kind = self.rng.integers(0, 3, self.n)
        s = pl.col("t")
        p = pl.col("pos")
        typo_expr = (pl.when(pl.col("kind") == 0).then(s.str.slice(0, p) + s.str.slice(p + 1))
                     .when(pl.col("kind") == 1).then(s.str.slice(0, p + 1) + s.str.slice(p))
                     .otherwise(s.str.slice(0, p) + s.str.slice(p + 1, 1) + s.str.slice(p, 1) + s.str.slice(p + 2)))
        df = df.with_columns(_s(pos, "pos"), _s(kind, "kind"), _s(typo, "typo")).with_columns(
            pl.when(pl.col("typo")).then(typo_expr).otherwise(s).alias("t"))
        nodiac = u() < np.where(style["no_diacritics"], RATES["no_diacritics_site"], RATES["no_diacritics_other"])
        nfd = ~nodiac & (u() < np.where(style["nfd"], RATES["nfd_site"], RATES["nfd_other"]))
        upper = u() < np.where(style["upper"], 0.5, RATES["case_upper"])
        lower = ~upper & (u() < RATES["case_lower"])
        spaces = u() < RATES["extra_spaces"]
        space_kind = self.rng.integers(0, 3, self.n)
        stripped = s.str.normalize("NFD").str.replace_all(r"\p{Mn}", "").str.replace_all("đ", "d").str.replace_all(
            "Đ", "D")
        df = df.with_columns(_s(nodiac, "nodiac"), _s(nfd, "nfd"), _s(upper, "upper"), _s(lower, "lower"),
                             _s(spaces, "spaces"), _s(space_kind, "sk"))
        df = df.with_columns(pl.when(pl.col("upper")).then(s.str.to_uppercase()).when(pl.col("lower"))
                             .then(s.str.to_lowercase()).otherwise(s).alias("t"))
        df = df.with_columns(pl.when(pl.col("nodiac")).then(stripped).otherwise(s).alias("t"))
        df = df.with_columns(pl.when(pl.col("spaces")).then(
            pl.when(pl.col("sk") == 0).then(" " + s).when(pl.col("sk") == 1).then(s + "  ")
            .otherwise(s.str.replace(" ", "  "))).otherwise(s).alias("t"))
        df = df.with_columns(pl.when(pl.col("nfd")).then(s.str.normalize("NFD")).otherwise(s).alias("t"))
        self.tag("no_diacritics", nodiac)
        self.tag("nfd", nfd & (df["t"] != df["s"]).to_numpy())
        self.tag("case", upper | lower)
        self.tag("extra_spaces", spaces)
        return df["t"]

    def id_number(self) -> pl.Series:
        p, u = self.p, self.u
        cid = p.citizen_id.gather(self.id_person)
        old = p.old_id.gather(self.id_person)
        use_old = self.wrong["id_old_number"] & old.is_not_null().to_numpy()
        self.tag("id_old_number", use_old)
        typo = (self.wrong["id_typo"] | (u() < RATES["id_typo"])) & ~use_old
        self.tag("id_typo", typo)
        lost = self.wrong["id_leading_zero_lost"] | (u() < RATES["id_leading_zero_lost"])
        numeric_cell = self.r["numeric_ids"].fill_null(False).to_numpy()
        seps = u() < RATES["id_separators"]
        garbage_kind = self.rng.integers(0, 7, self.n)
        digits = pl.Series(self.rng.integers(10**4, 10**7, self.n)).cast(pl.String)
        df = pl.DataFrame({"cid": cid, "old": old, "use_old": use_old, "typo": typo,
                           "pos": self.rng.integers(3, 12, self.n), "add": self.rng.integers(1, 10, self.n),
                           "gk": garbage_kind, "digits": digits, "sep": np.where(u() < 0.5, " ", ".")})
        s = pl.col("v")
        p_ = pl.col("pos")
        df = df.with_columns(pl.when(pl.col("use_old")).then(pl.col("old")).otherwise(pl.col("cid")).alias("v"))
        new_digit = ((s.str.slice(p_, 1).cast(pl.Int64) + pl.col("add")) % 10).cast(pl.String)
        df = df.with_columns(pl.when(pl.col("typo")).then(s.str.slice(0, p_) + new_digit + s.str.slice(p_ + 1))
                             .otherwise(s).alias("v"))
        garbage = (pl.when(pl.col("gk") == 0).then(pl.lit("0")).when(pl.col("gk") == 1).then(pl.lit("chưa có"))
                   .when(pl.col("gk") == 2).then(pl.col("digits"))
                   .when(pl.col("gk") == 3).then(pl.lit("C") + pl.col("digits").str.zfill(7))
                   .when(pl.col("gk") == 4).then(pl.col("cid").str.slice(0, 10))
                   .when(pl.col("gk") == 5).then(pl.lit("khong co")).otherwise(pl.col("cid") + "1"))
        df = df.with_columns(_s(self.id_malformed, "bad"), _s(self.id_missing, "missing"), _s(seps, "seps"))
        df = df.with_columns(pl.when(pl.col("bad")).then(garbage).otherwise(s).alias("v"))
        starts_zero = df["v"].str.starts_with("0").to_numpy() & ~self.id_malformed
        lost = (lost | (numeric_cell & df["v"].str.contains(r"^\d+$").to_numpy())) & starts_zero & ~self.id_missing
        seps &= ~lost & ~self.id_malformed & ~self.id_missing
        df = df.with_columns(_s(lost, "lost"), _s(seps, "seps"))
        sep = pl.col("sep")
        spaced = (s.str.slice(0, 3) + sep + s.str.slice(3, 3) + sep + s.str.slice(6, 3) + sep + s.str.slice(9)
                  ).str.strip_chars_end(" .")
        df = df.with_columns(pl.when(pl.col("lost")).then(s.str.slice(1)).when(pl.col("seps")).then(spaced)
                             .otherwise(s).alias("v"))
        df = df.with_columns(_s(self.rng.random(self.n) < 0.5, "null_id"))
        df = df.with_columns(pl.when(pl.col("missing") & pl.col("null_id")).then(None)
                             .when(pl.col("missing")).then(pl.lit("")).otherwise(s).alias("v"))
        self.tag("id_missing", self.id_missing)
        self.tag("id_malformed", self.id_malformed & ~self.id_missing)
        self.tag("id_leading_zero_lost", lost)
        self.tag("id_separators", seps)
        self.tags["id_typo"] &= ~self.id_missing & ~self.id_malformed
        self.tags["id_old_number"] &= ~self.id_missing & ~self.id_malformed
        return df["v"]

    def date_of_birth(self) -> pl.Series:
        p, u = self.p, self.u
        birth = p.birth_day[self.id_person]
        pop_year_only = p.birth_year_only[self.id_person]
        dates = pl.Series(birth).cast(pl.Date)
        y, m, d = dates.dt.year().to_numpy(), dates.dt.month().to_numpy(), dates.dt.day().to_numpy()
        wrong = (self.wrong["dob_wrong"] | (u() < RATES["dob_wrong"])) & ~pop_year_only
        shift = np.where(u() < 0.5, self.rng.integers(1, 28, self.n), 365)
        wdates = pl.Series(birth + shift * np.where(u() < 0.5, 1, -1)).cast(pl.Date)
        y = np.where(wrong, wdates.dt.year().to_numpy(), y)
        m = np.where(wrong, wdates.dt.month().to_numpy(), m)
        d = np.where(wrong, wdates.dt.day().to_numpy(), d)
        swap = self.wrong["dob_swapped"] & (d <= 12) & (d != m) & ~wrong & ~pop_year_only
        m, d = np.where(swap, d, m), np.where(swap, m, d)
        year_only = (self.wrong["dob_year_only"] & ~pop_year_only) | (pop_year_only & (u() < 0.6))
        self.tag("dob_wrong", wrong)
        self.tag("dob_swapped", swap)
        self.tag("dob_year_only", year_only & ~pop_year_only)
        fmt = np.where(self.is_batch, np.where(u() < 0.85, 0, 1),
                       np.searchsorted([0.55, 0.7, 1.0], u()))
        serial = self.r["serial_dates"].fill_null(False).to_numpy()
        true_serial = (pl.Series(np.zeros(self.n, dtype=np.int32)).cast(pl.Date)).cast(pl.Int32).to_numpy()
        del true_serial
        df = pl.DataFrame({"y": y, "m": m, "d": d, "fmt": fmt, "yo": year_only, "serial": serial & ~year_only})
        ys, ms, ds = (pl.col(c).cast(pl.String) for c in ("y", "m", "d"))
        serial_val = (pl.date(pl.col("y"), pl.col("m"), pl.col("d")).cast(pl.Int32) - day(EXCEL_EPOCH)).cast(pl.String)
        out = df.select(pl.when(pl.col("yo")).then(ys).when(pl.col("serial")).then(serial_val)
                        .when(pl.col("fmt") == 0).then(ds.str.zfill(2) + "/" + ms.str.zfill(2) + "/" + ys)
                        .when(pl.col("fmt") == 1).then(ds + "/" + ms + "/" + ys)
                        .otherwise(ys + "-" + ms.str.zfill(2) + "-" + ds.str.zfill(2)).alias("dob"))
        self.tag("date_excel_serial", serial)
        return out["dob"]

    def gender(self) -> pl.Series:
        u = self.u
        female = self.p.female[self.id_person]
        wrong = self.wrong["gender_wrong"] | (u() < RATES["gender_wrong"])
        shown = female ^ wrong
        spelling = u() < RATES["gender_spelling"]
        missing = u() < RATES["gender_missing"]
        variants_f = np.array(["nữ", "NỮ", "nu", "Nu", "nữ", "Nữ "])
        variants_m = np.array(["nam", "NAM", "nam", "Nam "])
        k = self.rng.integers(0, 12, self.n)
        out = np.where(shown, "Nữ", "Nam").astype(object)
        out[spelling & shown] = variants_f[k[spelling & shown] % len(variants_f)]
        out[spelling & ~shown] = variants_m[k[spelling & ~shown] % len(variants_m)]
        out[missing] = ""
        self.tag("gender_wrong", wrong & ~missing)
        self.tag("gender_spelling", spelling & ~missing)
        self.tag("gender_missing", missing)
        return pl.Series("gender", out.tolist(), dtype=pl.String)

    def phone(self) -> pl.Series:
        p, u = self.p, self.u
        later = self.seq >= p.phone_switch_seq[self.person]
        p1 = p.phone1.gather(self.person)
        p2 = p.phone2.gather(self.person)
        changed = later & p2.is_not_null().to_numpy()
        self.tag("phone_changed", changed)
        old = u() < RATES["phone_old_prefix"]
        fmt = np.where(u() < RATES["phone_format"], self.rng.integers(1, 6, self.n), 0)
        missing = u() < RATES["phone_missing"]
        mapping = ref.NEW_TO_OLD_MOBILE
        df = pl.DataFrame({"p1": p1, "p2": p2, "changed": changed, "old": old, "fmt": fmt, "missing": missing})
        s = pl.col("v")
        df = df.with_columns(pl.when(pl.col("changed")).then(pl.col("p2")).otherwise(pl.col("p1")).alias("v"))
        old_prefix = s.str.slice(0, 3).replace_strict(mapping, default=None)
        df = df.with_columns(old_prefix.alias("op"))
        df = df.with_columns(pl.when(pl.col("old") & pl.col("op").is_not_null()).then(pl.col("op") + s.str.slice(3))
                             .otherwise(s).alias("v"), (pl.col("old") & pl.col("op").is_not_null()).alias("old"))
        body = s.str.slice(1)
        df = df.with_columns(pl.when(pl.col("fmt") == 1).then("+84" + body).when(pl.col("fmt") == 2).then("84" + body)
                             .when(pl.col("fmt") == 3).then(s.str.slice(0, 4) + " " + s.str.slice(4, 3) + " "
                                                            + s.str.slice(7))
                             .when(pl.col("fmt") == 4).then(s.str.slice(0, 4) + "." + s.str.slice(4, 3) + "."
                                                            + s.str.slice(7))
                             .when(pl.col("fmt") == 5).then(s.str.slice(0, 4) + "-" + s.str.slice(4))
                             .otherwise(s).alias("v"))
        df = df.with_columns(pl.when(pl.col("missing")).then(None).otherwise(s).alias("v"))
        self.tag("phone_old_prefix", df["old"].to_numpy() & ~missing)
        self.tag("phone_format", (fmt > 0) & ~missing)
        self.tag("phone_missing", missing)
        return df["v"]

    def codes(self) -> tuple[pl.Series, pl.Series, pl.Series]:
        units = ref.load_units()
        idx = self.p.commune_idx[self.id_person]
        commune = pl.Series(units.commune_code).gather(idx)
        district = pl.Series(units.district_code).gather(idx)
        unpadded = self.u() < RATES["code_unpadded"]
        numeric = self.r["numeric_ids"].fill_null(False).to_numpy()
        unpadded |= numeric
        missing = self.u() < RATES["code_missing"]
        all_missing = missing & ~self.is_batch & (self.u() < 0.5)
        df = pl.DataFrame({"c": commune, "d": district, "un": unpadded, "mi": missing, "am": all_missing})
        out = df.select(
            pl.when(pl.col("am")).then(None).otherwise(pl.lit(ref.PROVINCE_CODE)).alias("province_code"),
            pl.when(pl.col("am")).then(None).otherwise(pl.col("d")).alias("district_code"),
            pl.when(pl.col("mi")).then(None).when(pl.col("un")).then(pl.col("c").str.strip_chars_start("0"))
            .otherwise(pl.col("c")).alias("commune_code"))
        self.tag("code_unpadded", unpadded & ~missing)
        self.tag("code_missing", missing)
        return out["province_code"], out["district_code"], out["commune_code"]

    def address(self) -> pl.Series:
        units = ref.load_units()
        idx = self.p.commune_idx[self.id_person]
        after = (self.r["vaccinated_day"].to_numpy() >= day(ref.PHO_YEN_CHANGE_ON)) & (self.u() < 0.6)
        cname = pl.Series(units.commune_name).gather(idx)
        cname_after = pl.Series(units.commune_name_after).gather(idx)
        dname = pl.Series(units.district_name).gather(idx)
        dname_after = pl.Series(units.district_name_after).gather(idx)
        ward = pl.Series(units.unit_type).gather(idx) == "phường"
        hamlet = pl.Series(self.rng.integers(1, 25, self.n)).cast(pl.String)
        fmt = self.rng.integers(0, 4, self.n)
        df = pl.DataFrame({"c": cname, "ca": cname_after, "d": dname, "da": dname_after, "w": ward, "h": hamlet,
                           "after": after, "fmt": fmt})
        c = pl.when(pl.col("after")).then(pl.col("ca")).otherwise(pl.col("c"))
        d = pl.when(pl.col("after")).then(pl.col("da")).otherwise(pl.col("d"))
        h = pl.when(pl.col("w")).then("Tổ " + pl.col("h")).otherwise("Xóm " + pl.col("h"))
        out = df.select(pl.when(pl.col("fmt") == 0).then(h + ", " + c + ", " + d + ", tỉnh Thái Nguyên")
                        .when(pl.col("fmt") == 1).then(h + " " + c + " " + d)
                        .when(pl.col("fmt") == 2).then(h + ", " + c.str.to_lowercase() + ", " + d.str.to_lowercase())
                        .otherwise(c + " - " + d + " - Thái Nguyên").alias("address"))
        return out["address"]

    def vaccine(self) -> tuple[pl.Series, pl.Series]:
        vi = self.r["vaccine_idx"].to_numpy().astype(np.int64)
        width = max(len(v.spellings) for v in ref.VACCINES)
        table = [v.spellings[i % len(v.spellings)] for v in ref.VACCINES for i in range(width)]
        other = self.u() < RATES["vaccine_spelling"]
        k = np.where(other, 1 + (self.u() * (np.array([len(v.spellings) for v in ref.VACCINES])[vi] - 1)).astype(int),
                     0)
        self.tag("vaccine_spelling", other)
        names = pl.Series(table).gather(vi * width + k)
        prefix = pl.Series([v.lot_prefix for v in ref.VACCINES]).gather(vi)
        period = self.r["vaccinated_day"].to_numpy() // 21
        lot_no = (vi * 7919 + period * 104729 + self.rng.integers(0, 3, self.n) * 613) % 9000 + 1000
        lots = prefix + pl.Series(lot_no).cast(pl.String)
        return names, lots

    def dose_number(self) -> pl.Series:
        wrong = self.u() < RATES["dose_number_wrong"]
        alt = np.where(self.seq == 1, 2, np.where(self.seq >= 3, 1, self.seq - 1))
        self.tag("dose_number_wrong", wrong)
        return pl.Series("dose_number", np.where(wrong, alt, self.seq).astype(np.int32))

    def priority_and_workplace(self) -> tuple[pl.Series, pl.Series]:
        p = self.p
        age = p.age_on(dt.date(2021, 10, 1))[self.person]
        worker = p.factory_idx[self.person] >= 0
        health = p.health_worker[self.person]
        cohort = self.r["cohort"].to_numpy()
        groups = ref.PRIORITY_GROUPS
        other = np.array([groups[i] for i in (2, 3, 4, 5, 6, 9, 10)])
        group = np.select([health, cohort == 3, cohort == 2, worker, age >= 65], [groups[0], groups[12], groups[11],
                          groups[8], groups[7]], "")
        group = np.where(group == "", other[self.rng.integers(0, len(other), self.n)], group)
        companies = np.array([f.company for f in ref.FACTORIES] + [""])
        jobs = np.array(["Tự do", "Nông dân", "Buôn bán", "Hưu trí", "Cán bộ xã", "", "", "", ""])
        fac = p.factory_idx[self.person]
        work = np.where(worker, companies[np.where(fac >= 0, fac, len(companies) - 1)],
                        np.where(health, "Trung tâm Y tế", np.where(cohort >= 2, "Học sinh",
                                                                     jobs[self.rng.integers(0, len(jobs), self.n)])))
        return pl.Series("priority_group", group.tolist()), pl.Series("workplace", work.tolist())

    def site_names(self) -> pl.Series:
        """The site's name as it types it (Phổ Yên's units renamed on ref.PHO_YEN_CHANGE_ON)."""
        site = self.r["site"].to_numpy()
        after = self.r["vaccinated_day"].to_numpy() >= day(ref.PHO_YEN_CHANGE_ON)
        out = np.where(after, self.sites.column("name_after", site).to_numpy(),
                       self.sites.column("name", site).to_numpy())
        return pl.Series("site_name", out.tolist())

    # ---- all -------------------------------------------------------------------------------------------
    def run(self) -> pl.DataFrame:
        self.profiles()
        style = self.site_styles()
        full_name = self.full_name(style)
        id_number = self.id_number()
        dob = self.date_of_birth()
        gender = self.gender()
        phone = self.phone()
        prov, dist, comm = self.codes()
        vaccine, lot = self.vaccine()
        dose_number = self.dose_number()
        priority, workplace = self.priority_and_workplace()
        out = pl.DataFrame([full_name.alias("full_name"), dob.alias("date_of_birth"), gender, id_number.alias(
            "id_number"), phone.alias("phone"), self.address(), prov, dist, comm, priority, workplace,
            self.site_names(), vaccine.alias("vaccine"), lot.alias("lot_number"), dose_number])
        self._context_tags()
        return out

    def _context_tags(self) -> None:
        r = self.r
        self.tag("late_batch", self.is_batch)
        self.tag("rekeyed_duplicate", (r["dup_kind"] == "rekeyed_duplicate").to_numpy())
        self.tag("double_entry", (r["dup_kind"] == "double_entry").to_numpy())
        self.tag("borrowed_identity", self.id_person != self.person)
        self.tag("migrant", ~self.p.is_resident[self.person])
        self.tag("twin", self.p.twin_of[self.person] >= 0)



def tags_to_string(tags: dict[str, np.ndarray]) -> pl.Series:
    """`;`-joined tag names per record, in alphabetical order (empty string when none)."""
    names = sorted(tags)
    frame = pl.DataFrame({k: tags[k] for k in names})
    joined = frame.select(pl.concat_str([pl.when(pl.col(k)).then(pl.lit(k + ";")).otherwise(pl.lit(""))
                                         for k in names]).str.strip_chars_end(";").alias("tags"))
    return joined["tags"]


def has_any(tags: pl.Expr | pl.Series, names: list[str]) -> pl.Expr | pl.Series:
    """Whether a `;`-joined tag string holds any of `names`."""
    return tags.str.contains("(^|;)(" + "|".join(names) + ")(;|$)")
