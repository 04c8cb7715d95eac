"""The vaccination sites of a scenario: their codes and names, in one of several conventions.

Nothing in the sources contract fixes site codes or names: real facility codes follow the platform's
registry or a site's own habits, and names are typed by each site (with or without diacritics, spelled
out or abbreviated). So the generator must not teach one convention: a scenario's codes follow the
convention its seed picks (or the one asked for), and every site picks its own name style. The pipeline
has to tell a site's kind from evidence (vaxclean's int_vaccination_sites_classified), never from a code.

Conventions:
- `prefixed`: `TYT-<commune code>`, `TTYT-<district code>`, `NM-<nnn>` (the kind is in the prefix);
- `numeric`: registry-like facility numbers, shuffled so that neither the kind nor the place shows;
- `named`: codes abbreviated from the names (`QUANGVINH`, `PHOYEN`, company initials and a number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from vaxclean.scenario import reference as ref
from vaxclean.scenario.reference import unaccent

SITE_CONVENTIONS = ("prefixed", "numeric", "named")
KINDS = ("commune_station", "district_centre", "workplace_clinic")  # campaign.assign_sites' site_kind 0, 1, 2


def convention_for_seed(seed: int) -> str:
    return SITE_CONVENTIONS[seed % len(SITE_CONVENTIONS)]


def _initials(text: str) -> str:
    return "".join(w[0] for w in unaccent(text).upper().split() if w[0].isalnum())


def _place(commune_or_district: str) -> str:
    """`Phường Quang Vinh` -> `Quang Vinh`; `Thành phố Thái Nguyên` -> `Thái Nguyên`."""
    for unit in ("Thành phố ", "Thị xã ", "Thị trấn ", "Huyện ", "Phường ", "Xã "):
        if commune_or_district.startswith(unit):
            return commune_or_district[len(unit):]
    return commune_or_district


@dataclass(frozen=True)
class Sites:
    """One row per site: stations (one per commune, by commune index), then district centres (by sorted
    district code), then workplace clinics (by ref.FACTORIES index)."""

    convention: str
    frame: pl.DataFrame  # site, kind, code, name, name_after, commune_code, district_code

    def site_index(self, doses: pl.DataFrame) -> np.ndarray:
        """Each dose's site (row of `frame`) from campaign.assign_sites' columns."""
        units = ref.load_units()
        districts = ref.district_codes()
        n_communes = len(units.commune_code)
        kind = doses["site_kind"].to_numpy()
        commune = doses["site_commune_idx"].to_numpy().astype(np.int64)
        district = np.searchsorted(np.array(districts), np.array(units.district_code)[commune])
        factory = doses["factory_idx"].to_numpy().astype(np.int64)
        return np.select([kind == 2, kind == 1], [n_communes + len(districts) + factory, n_communes + district],
                         commune)

    def column(self, name: str, site: np.ndarray) -> pl.Series:
        return self.frame[name].gather(pl.Series(site))

    def truth_of(self, used: pl.Series) -> pl.DataFrame:
        """truth/sites.csv for the sites that vaccinated anyone: what each really is (and, for a commune
        station, its commune)."""
        return self.frame.filter(pl.col("site").is_in(used.implode())).select(
            pl.col("code").alias("site_code"), pl.col("kind").alias("site_kind"),
            pl.when(pl.col("kind") == "commune_station").then(pl.col("commune_code")).otherwise(None)
            .alias("commune_code"),
            "district_code").sort("site_code")


def generate_sites(seed: int, convention: str | None = None) -> Sites:
    """The scenario's sites. Their own random stream (not the scenario's) keeps every other draw unchanged."""
    convention = convention or convention_for_seed(seed)
    if convention not in SITE_CONVENTIONS:
        raise ValueError(f"unknown site convention {convention!r}: one of {', '.join(SITE_CONVENTIONS)}")
    rng = np.random.default_rng([seed, 20])
    units = ref.load_units()
    districts = ref.district_codes()
    district_name = dict(zip(units.district_code, units.district_name, strict=True))
    district_name_after = dict(zip(units.district_code, units.district_name_after, strict=True))
    # `prefixed`: the generator's old codes; `place`: what a `named` code abbreviates
    rows: list[dict] = []
    for i, code in enumerate(units.commune_code):
        rows.append({"kind": KINDS[0], "commune_code": code, "district_code": units.district_code[i],
                     "names": (units.commune_name[i], units.commune_name_after[i]), "prefixed": f"TYT-{code}",
                     "place": _place(units.commune_name[i])})
    for d in districts:
        rows.append({"kind": KINDS[1], "commune_code": None, "district_code": d,
                     "names": (district_name[d], district_name_after[d]), "prefixed": f"TTYT-{d}",
                     "place": _place(district_name[d])})
    for f in ref.FACTORIES:
        rows.append({"kind": KINDS[2], "commune_code": f.commune_code, "district_code": f.district_code,
                     "names": (f.name, f.name), "prefixed": f.code, "factory": f})
    numbers = rng.permutation(np.arange(100, 100 + 3 * len(rows)))[: len(rows)]
    seen: set[str] = set()
    for i, row in enumerate(rows):
        style = int(rng.integers(0, 5 if row["kind"] == "workplace_clinic" else 4))
        row["name"], row["name_after"] = (_name(row, n, style) for n in row["names"])
        row["code"] = _unique(_code(convention, row, int(numbers[i])), seen)
    frame = pl.DataFrame([{k: r[k] for k in ("kind", "code", "name", "name_after", "commune_code", "district_code")}
                          for r in rows]).with_row_index("site")
    return Sites(convention, frame)


def _unique(code: str, seen: set[str]) -> str:
    out, k = code, 2
    while out in seen:
        out, k = f"{code}{k}", k + 1
    seen.add(out)
    return out


def _code(convention: str, row: dict, number: int) -> str:
    if convention == "prefixed":
        return row["prefixed"]
    if convention == "numeric":
        return f"19{number:05d}"
    # named: the place, or the company's initials and a number
    if row["kind"] == "workplace_clinic":
        company = row["factory"].company.replace("Công ty ", "").replace("TNHH ", "").replace("CP ", "")
        return _initials(company) + str(number % 90 + 10)
    return unaccent(row["place"]).upper().replace(" ", "")


def _name(row: dict, name: str, style: int) -> str:
    """A site's name as the site types it: four styles per kind, one without diacritics, one abbreviated;
    workplace clinics have a fifth, the company's brand alone, with no word that says what the site is."""
    place = _place(name)
    if row["kind"] == "commune_station":
        return (f"Trạm Y tế {name}", f"TYT {place}", f"Tram y te {unaccent(name)}", f"Trạm y tế {place}")[style]
    if row["kind"] == "district_centre":
        return (f"Trung tâm Y tế {name}", f"TTYT {place}", f"Trung tam Y te {unaccent(place)}",
                f"Trung tâm Y tế {place}")[style]
    factory = row["factory"]
    brand = factory.company.replace("Công ty TNHH ", "").replace("Công ty CP ", "")
    return (name, f"PK {factory.company.replace('Công ty', 'Cty')}", unaccent(factory.company),
            brand + (f" - {factory.zone}" if factory.zone else ""), brand)[style]
