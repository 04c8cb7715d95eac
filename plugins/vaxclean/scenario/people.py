"""The people of the scenario: residents of the population register plus migrant workers outside it.

Everything is vectorised (numpy arrays per attribute); dates are days since 1970-01-01.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from vaxclean.scenario import reference as ref

EPOCH = dt.date(1970, 1, 1)
AS_OF = dt.date(2022, 9, 30)


def day(d: dt.date) -> int:
    return (d - EPOCH).days


# Vietnam ~2021 age pyramid: share of the population per 5-year group from 0-4 up to 90-99.
AGE_GROUP_SHARES = np.array([7.6, 8.2, 7.6, 6.6, 6.9, 7.6, 8.3, 8.0, 7.4, 6.7, 6.0, 5.5, 4.6, 3.4, 2.2, 1.4,
                             1.0, 0.6, 0.3])

TWIN_PAIR_RATE = 0.003  # pairs per resident (~0.6 % of residents are a twin)
MIGRANT_RATE = 0.035  # migrant workers per resident, not in the register
BORN_ELSEWHERE_RATE = 0.12
OLD_ID_RATE = 0.55  # residents old enough for a CMND who have one on record
PHONE_CHANGE_RATE = 0.08


@dataclass
class People:
    n_residents: int
    is_resident: np.ndarray  # bool
    commune_idx: np.ndarray  # index into reference.load_units() lists (residence, as of the first snapshot)
    birth_day: np.ndarray  # int32
    birth_year_only: np.ndarray  # bool (register knows only the year)
    female: np.ndarray  # bool
    minority: np.ndarray  # bool
    family: pl.Series  # str
    given: pl.Series  # str, middle + given
    citizen_id: pl.Series  # str 12 digits
    old_id: pl.Series  # str 9 digits or null
    phone1: pl.Series  # str or null
    phone2: pl.Series  # str or null (a newer number used from `phone_switch_seq` on)
    phone_switch_seq: np.ndarray  # int8, dose sequence from which phone2 is used (99 = never)
    factory_idx: np.ndarray  # int16, -1 when not a factory worker
    health_worker: np.ndarray  # bool
    twin_of: np.ndarray  # int32, -1 or the other twin
    new_commune_idx: np.ndarray  # residence in the newer snapshot
    status_new: np.ndarray  # object: active / deceased / emigrated in the newer snapshot

    @property
    def size(self) -> int:
        return len(self.is_resident)

    def age_on(self, on: dt.date) -> np.ndarray:
        return (day(on) - self.birth_day) / 365.25

    @cached_property
    def full_name(self) -> pl.Series:
        return (self.family + " " + self.given).alias("full_name")


def _choice(rng: np.random.Generator, n: int, probs: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.cumsum(probs), rng.random(n) * probs.sum(), side="right").clip(0, len(probs) - 1)


def _birth_days(rng: np.random.Generator, n: int, min_age: float = 0, max_age: float = 100) -> np.ndarray:
    group = _choice(rng, n, AGE_GROUP_SHARES)
    age = group * 5 + rng.random(n) * np.where(group == len(AGE_GROUP_SHARES) - 1, 10, 5)
    age = np.clip(age, min_age, max_age)
    return (day(AS_OF) - age * 365.25).astype(np.int32)


def _birth_years(birth_day: np.ndarray) -> np.ndarray:
    return (pl.Series(birth_day).cast(pl.Date).dt.year()).to_numpy()


def _communes(rng: np.random.Generator, n: int) -> np.ndarray:
    units = ref.load_units()
    w = np.array([ref.DISTRICT_COMMUNE_WEIGHT[d] for d in units.district_code]) * rng.uniform(0.6, 1.4, len(
        units.commune_code))
    return _choice(rng, n, w).astype(np.int16)


def _pick(rng: np.random.Generator, pool: ref.NamePool, n: int) -> np.ndarray:
    return _choice(rng, n, pool.weights)


def _names(rng: np.random.Generator, female: np.ndarray, minority: np.ndarray, birth_year: np.ndarray,
           district: np.ndarray) -> tuple[pl.Series, pl.Series]:
    n = len(female)
    kinh = ref.kinh_surnames()
    groups = ref.minority_surnames()
    family = np.array(kinh.values, dtype=object)[_pick(rng, kinh, n)]
    group_names = sorted(groups)
    group_w = np.array([ref.ETHNIC_GROUP_SHARES.get(g, 0.01) for g in group_names])
    group = _choice(rng, n, group_w)
    for gi, g in enumerate(group_names):
        mask = minority & (group == gi)
        family[mask] = np.array(groups[g].values, dtype=object)[_pick(rng, groups[g], int(mask.sum()))]
    names = ref.given_names()
    old = birth_year < 1970
    mid = (birth_year >= 1970) & (birth_year < 1990)
    young = (birth_year >= 1990) & (birth_year < 2005)
    p_van = np.select([old, mid, young], [0.5, 0.35, 0.2], 0.1) + minority * 0.15
    p_thi = np.select([old, mid, young], [0.75, 0.5, 0.3], 0.15) + minority * 0.1
    use_marker = rng.random(n) < np.where(female, p_thi, p_van)
    given = np.empty(n, dtype=object)
    for sex, marker in ((False, "Văn"), (True, "Thị")):
        gender = "female" if sex else "male"
        single = names[(gender, "single_word")]
        double = names[(gender, "middle+given")]
        sel_single = (female == sex) & use_marker & ((rng.random(n) < 0.55) | (not sex))
        sel_marker_double = (female == sex) & use_marker & ~sel_single
        sel_double = (female == sex) & ~use_marker
        given[sel_single] = np.char.add(f"{marker} ", np.array(single.values)[_pick(rng, single, int(sel_single.sum()))]
                                        ).astype(object)
        given[sel_marker_double] = np.char.add(
            f"{marker} ", np.array(double.values)[_pick(rng, double, int(sel_marker_double.sum()))]).astype(object)
        given[sel_double] = np.array(double.values, dtype=object)[_pick(rng, double, int(sel_double.sum()))]
    return pl.Series("family", family.tolist(), dtype=pl.String), pl.Series("given", given.tolist(), dtype=pl.String)


def _unique_numbers(rng: np.random.Generator, prefix: np.ndarray, digits: int) -> np.ndarray:
    """prefix * 10**digits + a serial that is unique over the whole array (redrawn on collision)."""
    base = prefix.astype(np.int64) * 10**digits
    value = base + rng.integers(0, 10**digits, len(prefix))
    while True:
        _, first, counts = np.unique(value, return_index=True, return_counts=True)
        dup = np.ones(len(value), dtype=bool)
        dup[first] = False
        if not dup.any():
            return value
        value[dup] = base[dup] + rng.integers(0, 10**digits, int(dup.sum()))
        del counts


def _citizen_ids(rng: np.random.Generator, birth_year: np.ndarray, female: np.ndarray,
                 born_elsewhere: np.ndarray) -> pl.Series:
    n = len(birth_year)
    prov = np.full(n, int(ref.PROVINCE_ID_PREFIX))
    others = np.array([int(p) for p in ref.OTHER_PROVINCE_PREFIXES])
    prov[born_elsewhere] = others[rng.integers(0, len(others), int(born_elsewhere.sum()))]
    century_gender = np.where(birth_year >= 2000, 2, 0) + female.astype(int)
    prefix = prov * 1000 + century_gender * 100 + birth_year % 100
    return pl.Series("citizen_id", _unique_numbers(rng, prefix, 6)).cast(pl.String).str.zfill(12)


def _old_ids(rng: np.random.Generator, has_old: np.ndarray) -> pl.Series:
    n = len(has_old)
    prefixes = np.where(rng.random(n) < 0.8, 9, rng.choice(np.array([1, 3, 10, 12, 13, 15, 16, 17]), n))
    ids = pl.Series("old_id", _unique_numbers(rng, prefixes, 7)).cast(pl.String).str.zfill(9)
    return pl.select(pl.when(pl.Series(has_old)).then(ids).otherwise(None)).to_series().alias("old_id")


def phone_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    prefixes = np.array(ref.MOBILE_PREFIXES)
    weights = np.array([3.0 if p.startswith("03") or p in ("086", "096", "097", "098") else 1.0 for p in prefixes])
    prefix = prefixes[_choice(rng, n, weights)]
    body = pl.Series(rng.integers(0, 10**7, n)).cast(pl.String).str.zfill(7)
    return pl.Series("phone", prefix.tolist(), dtype=pl.String) + body


def _twins(rng: np.random.Generator, n_res: int) -> np.ndarray:
    """Pairs of residents made twins: the second takes the first's family, birth date and commune."""
    twin_of = np.full(n_res, -1, dtype=np.int32)
    n_pairs = int(round(n_res * TWIN_PAIR_RATE))
    if n_pairs == 0:
        return twin_of
    chosen = rng.choice(n_res, 2 * n_pairs, replace=False)
    a, b = chosen[:n_pairs], chosen[n_pairs:]
    twin_of[a], twin_of[b] = b, a
    return twin_of


def generate_people(rng: np.random.Generator, n_residents: int) -> People:
    units = ref.load_units()
    n_mig = int(round(n_residents * MIGRANT_RATE))
    n = n_residents + n_mig
    is_resident = np.arange(n) < n_residents
    commune = _communes(rng, n)
    birth = _birth_days(rng, n)
    birth[~is_resident] = (day(AS_OF) - rng.uniform(18.5, 40, n_mig) * 365.25).astype(np.int32)
    female = rng.random(n) < np.where(is_resident, 0.505, 0.58)
    twin_of = np.concatenate([_twins(rng, n_residents), np.full(n_mig, -1, dtype=np.int32)])
    second = np.flatnonzero(twin_of > np.arange(n))  # copy from the lower index onto the higher
    second_twin = twin_of[second]
    birth[second_twin] = birth[second]
    commune[second_twin] = commune[second]
    birth_year = _birth_years(birth)
    year_only = is_resident & (rng.random(n) < np.select([birth_year < 1940, birth_year < 1960, birth_year < 1976],
                                                         [0.3, 0.08, 0.01], 0.0))
    year_only[second_twin] = year_only[second]
    birth = np.where(year_only, pl.Series([dt.date(int(y), 1, 1) for y in range(1900, 2023)]).cast(pl.Int32)
                     .to_numpy()[np.clip(birth_year - 1900, 0, 122)], birth).astype(np.int32)
    district = np.array(units.district_code)[commune]
    p_min = np.array([ref.DISTRICT_MINORITY_SHARE[d] for d in district])
    minority = is_resident & (rng.random(n) < p_min)
    minority[second_twin] = minority[second]
    family, given = _names(rng, female, minority, birth_year, district)
    family = family.scatter(second_twin, family.gather(second))
    born_elsewhere = ~is_resident | (rng.random(n) < BORN_ELSEWHERE_RATE)
    citizen_id = _citizen_ids(rng, birth_year, female, born_elsewhere)
    has_old = is_resident & (birth_year <= 2003) & (rng.random(n) < OLD_ID_RATE + (birth_year < 1970) * 0.2)
    phone1 = phone_numbers(rng, n)
    phone1 = phone1.scatter(second_twin, phone1.gather(second))  # twins share the household phone
    changes = rng.random(n) < PHONE_CHANGE_RATE
    phone2 = pl.select(pl.when(pl.Series(changes)).then(phone_numbers(rng, n)).otherwise(None)).to_series()
    switch_seq = np.where(changes, rng.integers(2, 4, n), 99).astype(np.int8)
    age_now = (day(AS_OF) - birth) / 365.25
    share = np.array([ref.FACTORY_WORKER_SHARE[d] for d in district])
    worker = (age_now >= 18) & (age_now < 45) & (rng.random(n) < share)
    worker |= ~is_resident
    factory_idx = _assign_factories(rng, district, worker)
    # migrants live where they work
    fac_commune = np.array([units.commune_code.index(f.commune_code) for f in ref.FACTORIES])
    commune[~is_resident] = fac_commune[factory_idx[~is_resident]]
    health = is_resident & (age_now >= 22) & (age_now < 60) & (rng.random(n) < 0.03) & ~worker
    new_commune, status_new = _snapshot_changes(rng, commune, age_now, is_resident)
    return People(n_residents, is_resident, commune, birth, year_only, female, minority, family, given, citizen_id,
                  _old_ids(rng, has_old), phone1, phone2, switch_seq, factory_idx, health, twin_of, new_commune,
                  status_new)


def _assign_factories(rng: np.random.Generator, district: np.ndarray, worker: np.ndarray) -> np.ndarray:
    codes = [f.code for f in ref.FACTORIES]
    out = np.full(len(district), -1, dtype=np.int16)
    for d in sorted(ref.WORKER_DISTRICT_FACTORIES):
        options = np.array([codes.index(c) for c in ref.WORKER_DISTRICT_FACTORIES[d]])
        mask = worker & (district == d)
        out[mask] = options[rng.integers(0, len(options), int(mask.sum()))]
    return out


def _snapshot_changes(rng: np.random.Generator, commune: np.ndarray, age: np.ndarray,
                      is_resident: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(commune)
    u = rng.random(n)
    p_death = np.select([age >= 75, age >= 60], [0.03, 0.008], 0.0005)
    status = np.full(n, "active", dtype=object)
    status[u < p_death] = "deceased"
    status[(status == "active") & (age >= 20) & (age < 40) & (rng.random(n) < 0.001)] = "emigrated"
    new_commune = commune.copy()
    moved = is_resident & (rng.random(n) < 0.003)
    new_commune[moved] = rng.integers(0, len(ref.load_units().commune_code), int(moved.sum()))
    return new_commune, status
