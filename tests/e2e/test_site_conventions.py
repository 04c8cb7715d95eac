"""Borrowed identities are caught whatever the sites' codes look like (issue: site kinds from evidence).

One generated scenario per site-code convention of the generator (`prefixed` TYT-/TTYT-/NM- codes,
`numeric` registry-like numbers, `named` abbreviations of the names), built through the DAGs' steps
(extraction from the simulator, the landing loaders, vaxclean.build, the gates, the publisher) and scored
with `make evaluate`'s code against the scenario's truth: on each, at least 0.8 of the borrowed identities
are caught, at most 0.1 % of the correct credits go to review, and the published mart vaccination_sites
gives every site its true kind (and every commune station its commune)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from vaxclean.scenario.sites import SITE_CONVENTIONS

PEOPLE, SEED = 20_000, 7
UNTIL = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module", params=SITE_CONVENTIONS)
def built(request, tmp_path_factory, monkeypatch_module, extract_and_load):
    from vaxclean.build import build_layer, gate, publish_marts
    from vaxclean.evaluate import evaluate
    from vaxclean.scenario import generate

    convention = request.param
    base = tmp_path_factory.mktemp(f"sites-{convention}")
    scenario, warehouse = base / "scenario", base / "warehouse"
    manifest = generate(scenario, people=PEOPLE, seed=SEED, site_convention=convention)
    monkeypatch_module.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    monkeypatch_module.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    extract_and_load(scenario, warehouse / "raw", dt.datetime(2020, 1, 1, tzinfo=dt.UTC), UNTIL)
    run_id = f"sites-{convention}"
    for layer in ("staging", "marts"):
        build_layer(layer, run_id)
        gate(layer, run_id)  # raises when the layer fails its gate
    publish_marts(run_id, {})
    return {"convention": convention, "manifest": manifest, "scenario": scenario, "warehouse": warehouse,
            "scores": evaluate(scenario, warehouse)}


def test_the_scenario_follows_its_convention(built):
    assert built["manifest"]["site_convention"] == built["convention"]
    codes = duckdb.sql(f"select site_code, site_kind from read_csv('{built['scenario']}/truth/sites.csv', "
                       "all_varchar = true)").fetchall()
    if built["convention"] != "prefixed":
        # nothing in a code says the kind: no prefix is shared by the workplace clinics and nothing else
        clinics = [c for c, k in codes if k == "workplace_clinic"]
        others = [c for c, k in codes if k != "workplace_clinic"]
        common = min(len(c) for c in clinics)
        while common and len({c[:common] for c in clinics}) > 1:
            common -= 1
        assert common == 0 or any(o.startswith(clinics[0][:common]) for o in others), clinics


def test_borrowed_identities_are_caught(built):
    borrowed = built["scores"]["borrowed_identities"]
    assert borrowed["borrowed"] >= 30, borrowed
    assert borrowed["caught_rate"] >= 0.8, (built["convention"], borrowed)
    assert borrowed["correct_credits_sent_to_review_share"] <= 0.001, (built["convention"], borrowed)
    # the phone a borrower leaves fires on its own, wrongly on no correct credit
    assert borrowed["signals"]["borrowed_identity_phone"]["borrowed"] > 0, borrowed
    assert borrowed["signals"]["borrowed_identity_phone"]["correct_credits"] == 0, borrowed


def test_every_site_has_its_true_kind_and_commune(built):
    with duckdb.connect() as con:
        con.execute(f"attach '{built['warehouse'] / 'published' / 'marts.duckdb'}' as pub (read_only)")
        wrong = con.execute(f"""
            select truth.site_code, truth.site_kind, sites.site_kind, truth.commune_code, sites.commune_code
            from read_csv('{built['scenario']}/truth/sites.csv', all_varchar = true) as truth
            left join pub.marts.vaccination_sites as sites using (site_code)
            where sites.site_kind is distinct from truth.site_kind
                or sites.commune_code is distinct from truth.commune_code
        """).fetchall()
        kinds = dict(con.execute("select kind_source, count(*) from pub.marts.vaccination_sites group by all").fetchall())
    assert wrong == [], (built["convention"], wrong[:10])
    # some workplace clinic's name says nothing: the people it vaccinated decided
    assert kinds.get("people", 0) >= 1, kinds
