"""The true vaccination history: who got which vaccine when and where (2021-03 to 2022-08).

One row per dose actually given, vectorised: every person has up to `MAX_DOSES` dose slots
(primary series of up to three doses, then two boosters); slots beyond the end date are dropped.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from vaxclean.scenario import reference as ref
from vaxclean.scenario.people import People, day

CAMPAIGN_START = dt.date(2021, 3, 8)
CAMPAIGN_END = dt.date(2022, 8, 31)
MAX_DOSES = 5
V = ref.VACCINE_INDEX


def _beta_days(rng: np.random.Generator, n: int, start: dt.date, span: int, a: float, b: float) -> np.ndarray:
    return day(start) + (rng.beta(a, b, n) * span).astype(np.int32)


def _first_dose_day(rng: np.random.Generator, p: People) -> tuple[np.ndarray, np.ndarray]:
    """Day of the first dose (or -1 when never vaccinated) and the person's cohort code."""
    n = p.size
    age_2021 = p.age_on(dt.date(2021, 12, 31))
    age_mid22 = p.age_on(dt.date(2022, 6, 1))
    adult = age_2021 >= 18
    teen = ~adult & (age_2021 >= 12)
    child = ~adult & ~teen & (age_mid22 >= 5)
    worker = p.factory_idx >= 0
    elderly = adult & (age_2021 >= 65)
    late = rng.random(n) < 0.1
    first = _beta_days(rng, n, dt.date(2021, 7, 20), 150, 2.0, 3.0)
    first = np.where(late, _beta_days(rng, n, dt.date(2021, 12, 1), 270, 1.0, 2.5), first)
    first = np.where(elderly, _beta_days(rng, n, dt.date(2021, 7, 10), 120, 2.0, 2.5), first)
    first = np.where(worker, _beta_days(rng, n, dt.date(2021, 6, 5), 130, 1.5, 2.5), first)
    first = np.where(p.health_worker, _beta_days(rng, n, CAMPAIGN_START, 110, 1.2, 2.0), first)
    first = np.where(teen, _beta_days(rng, n, dt.date(2021, 11, 8), 110, 1.5, 3.5), first)
    first = np.where(teen & late, _beta_days(rng, n, dt.date(2022, 2, 15), 190, 1.0, 1.5), first)
    first = np.where(child, _beta_days(rng, n, dt.date(2022, 4, 20), 130, 1.3, 2.5), first)
    p_vacc = np.select([adult, teen, child], [np.where(p.is_resident, 0.97, 0.98), 0.93, 0.62], 0.0)
    vaccinated = rng.random(n) < p_vacc
    first = np.where(vaccinated & (first <= day(CAMPAIGN_END)), first, -1)
    cohort = np.select([child, teen, adult], [3, 2, 1], 0)
    return first.astype(np.int32), cohort


def _primary_vaccine(rng: np.random.Generator, first: np.ndarray, cohort: np.ndarray) -> np.ndarray:
    n = len(first)
    month = np.clip((first - day(dt.date(2021, 3, 1))) // 30.44, 0, 17).astype(int)
    vac = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    for m in range(18):
        cum = np.cumsum(ref.supply_mix(m))
        mask = month == m
        vac[mask] = np.searchsorted(cum, u[mask] * cum[-1], side="right").clip(0, len(cum) - 1)
    young = cohort >= 2
    vac[young] = np.where(rng.random(int(young.sum())) < 0.8, V["pfizer"], V["moderna"])
    return vac


def generate_doses(rng: np.random.Generator, p: People) -> pl.DataFrame:
    n = p.size
    first, cohort = _first_dose_day(rng, p)
    vac1 = _primary_vaccine(rng, first, cohort)
    n_primary = np.array([v.primary_doses for v in ref.VACCINES])[vac1]
    lo = np.array([v.interval_days[0] for v in ref.VACCINES])[vac1]
    hi = np.array([v.interval_days[1] for v in ref.VACCINES])[vac1]
    days = np.full((n, MAX_DOSES), -1, dtype=np.int32)
    vacs = np.full((n, MAX_DOSES), -1, dtype=np.int8)
    days[:, 0], vacs[:, 0] = first, vac1
    completes = rng.random(n) < 0.97
    for k in (1, 2):
        gap = lo + (rng.random(n) * (hi - lo + 1)).astype(int)
        gap += np.where(rng.random(n) < 0.12, rng.integers(0, 35, n), 0)
        take = (first >= 0) & (n_primary > k) & completes
        days[:, k] = np.where(take, days[:, k - 1] + gap, -1)
        vacs[:, k] = np.where(take, vac1, -1)
    # AstraZeneca first doses of mid-2021 often completed with Pfizer (shortage), as the ministry allowed
    mixed = (vac1 == V["astrazeneca"]) & (first >= day(dt.date(2021, 7, 1))) & (rng.random(n) < 0.12)
    vacs[mixed & (vacs[:, 1] >= 0), 1] = V["pfizer"]
    last_primary = days[np.arange(n), np.clip(n_primary - 1, 0, 2)]
    complete = (first >= 0) & (last_primary >= 0)
    age = p.age_on(dt.date(2022, 3, 1))
    slot = np.where(n_primary >= 3, 3, n_primary)
    b1 = _booster(rng, complete, last_primary, age, cohort)
    b2 = _second_booster(rng, b1, age, p.health_worker)
    rows = np.arange(n)
    days[rows, np.clip(slot, 0, MAX_DOSES - 1)] = np.where(b1 >= 0, b1, days[rows, np.clip(slot, 0, 4)])
    booster_vac = np.select([rng.random(n) < 0.45, rng.random(n) < 0.65], [V["pfizer"], V["moderna"]],
                            V["astrazeneca"]).astype(np.int8)
    vacs[rows, np.clip(slot, 0, 4)] = np.where(b1 >= 0, booster_vac, vacs[rows, np.clip(slot, 0, 4)])
    s2 = np.clip(slot + 1, 0, MAX_DOSES - 1)
    days[rows, s2] = np.where(b2 >= 0, b2, days[rows, s2])
    vacs[rows, s2] = np.where(b2 >= 0, np.where(rng.random(n) < 0.6, V["pfizer"], V["moderna"]), vacs[rows, s2])
    days[days > day(CAMPAIGN_END)] = -1
    return _flatten(days, vacs, cohort)


def _booster(rng: np.random.Generator, complete: np.ndarray, last_primary: np.ndarray, age: np.ndarray,
             cohort: np.ndarray) -> np.ndarray:
    n = len(complete)
    p_b1 = np.select([cohort == 1, cohort == 2], [np.where(age >= 65, 0.84, 0.9), 0.12], 0.0)
    b1 = last_primary + 90 + rng.exponential(45, n).astype(np.int32)
    start = np.where(cohort == 2, day(dt.date(2022, 8, 5)), day(dt.date(2021, 12, 10)))
    b1 = np.maximum(b1, start + rng.integers(0, 45, n))
    return np.where(complete & (rng.random(n) < p_b1), b1, -1).astype(np.int32)


def _second_booster(rng: np.random.Generator, b1: np.ndarray, age: np.ndarray, health: np.ndarray) -> np.ndarray:
    n = len(b1)
    eligible = (b1 >= 0) & ((age >= 50) | health)
    b2 = np.maximum(b1 + 120 + rng.exponential(30, n).astype(np.int32), day(dt.date(2022, 5, 25)) +
                    rng.integers(0, 30, n))
    return np.where(eligible & (rng.random(n) < 0.45), b2, -1).astype(np.int32)


def _flatten(days: np.ndarray, vacs: np.ndarray, cohort: np.ndarray) -> pl.DataFrame:
    n, k = days.shape
    valid = days >= 0
    # a dose after a missing slot cannot exist
    valid &= np.cumprod(valid, axis=1).astype(bool)
    person, seq = np.nonzero(valid)
    return pl.DataFrame({
        "person": person.astype(np.int32),
        "dose_seq": (seq + 1).astype(np.int8),
        "vaccinated_day": days[person, seq],
        "vaccine_idx": vacs[person, seq],
        "cohort": cohort[person].astype(np.int8),
    })


def assign_sites(rng: np.random.Generator, p: People, doses: pl.DataFrame) -> pl.DataFrame:
    """Where each dose was given: commune station, district centre, factory clinic; and the channel."""
    units = ref.load_units()
    person = doses["person"].to_numpy()
    n = len(person)
    commune = p.commune_idx[person]
    district = np.array(units.district_code)[commune]
    factory = p.factory_idx[person]
    dose_day = doses["vaccinated_day"].to_numpy()
    seq = doses["dose_seq"].to_numpy()
    is_booster = seq >= 3
    u = rng.random(n)
    at_factory = (factory >= 0) & (u < np.where(is_booster, 0.5, 0.88)) & (dose_day < day(dt.date(2022, 7, 1)))
    centre = p.health_worker[person] & (rng.random(n) < 0.7)
    centre |= ~at_factory & (rng.random(n) < 0.14)
    other_commune = ~at_factory & ~centre & (rng.random(n) < 0.08)
    site_commune = commune.copy()
    # another station of the same district: shift within the district's sorted communes
    site_commune[other_commune] = _neighbour_commune(rng, commune[other_commune])
    site_kind = np.select([at_factory, centre], [2, 1], 0).astype(np.int8)  # 0 TYT, 1 TTYT, 2 NM
    remote = _remote_communes(rng)
    batch = at_factory | ((site_kind == 0) & np.isin(site_commune, remote) & (rng.random(n) < 0.35)
                          & (dose_day < day(dt.date(2022, 3, 1))))
    return doses.with_columns(
        pl.Series("site_kind", site_kind),
        pl.Series("site_commune_idx", site_commune.astype(np.int16)),
        pl.Series("site_district", district),
        pl.Series("factory_idx", factory.astype(np.int16)),
        pl.Series("via_batch", batch),
    )


def _neighbour_commune(rng: np.random.Generator, commune: np.ndarray) -> np.ndarray:
    units = ref.load_units()
    district = np.array(units.district_code)
    out = commune.copy()
    for d in sorted(set(units.district_code)):
        members = np.flatnonzero(district == d)
        mask = district[commune] == d
        out[mask] = members[rng.integers(0, len(members), int(mask.sum()))]
    return out


def _remote_communes(rng: np.random.Generator) -> np.ndarray:
    """Commune indices whose stations run remote sessions and send batches (mountain communes)."""
    units = ref.load_units()
    idx = [i for i, d in enumerate(units.district_code) if d in ref.REMOTE_DISTRICTS and units.unit_type[i] == "xã"]
    return np.array(sorted(rng.choice(idx, 8, replace=False)))
