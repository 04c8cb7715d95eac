"""The dashboards as a user meets them: Superset (its own environment, .venv-bi) set up by `vaxclean.bi` on the
BI layer of a whole run, served on a free port of 127.0.0.1, read through its REST API as each kind of
user and through headless Chromium (Debian's, driven by playwright; never a downloaded browser).

- the assets in bi/assets are exactly what Superset holds after an import, and a second import changes
  nothing and duplicates nothing;
- every chart's data request succeeds; a district reviewer's answers hold only that district's rows
  (Superset's row-level security), a province reviewer's every district;
- no reviewer reaches SQL Lab, uploads data, or the data team's dashboard; SQL Lab cannot reach the
  restricted file even for the data team (the BI database is opened read-only without file access);
- Superset is never set up against the restricted file;
- each dashboard renders every chart without an error panel; screenshots land in var/test_screenshots/.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from vaxclean.bi import __main__ as bi_cli
from vaxclean.bi.safety import UnsafeDatabase
from vaxclean.cli import free_port, stop, wait_ready
from vaxclean.config import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("VAXCLEAN_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = PROJECT_ROOT / "var" / "test_screenshots"
REVIEWER_DASHBOARDS = ("giai-quyet-phan-anh", "bang-dieu-hanh-tinh")
TEAM_DASHBOARD = "chat-luong-du-lieu"
DISTRICT_REVIEWER, DISTRICT = "ra_soat_tp_thai_nguyen", "164"


@pytest.fixture(scope="module")
def superset(pipeline_run, tmp_path_factory):
    """Superset set up on the run's BI layer (its own home; the run's published directory linked in)."""
    _, warehouse, _ = pipeline_run
    site = tmp_path_factory.mktemp("bi")
    (site / "published").symlink_to(warehouse / "published")
    started = time.monotonic()
    home = bi_cli.setup(site)
    setup_s = time.monotonic() - started
    port = free_port()
    proc = bi_cli.start(home, port, home / "superset.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}/health", proc, name="Superset", timeout_s=180)
        passwords = {r["username"]: r["password"] for r in csv.DictReader(open(home / "passwords.csv"))}
        yield {"url": f"http://127.0.0.1:{port}", "home": home, "site": site, "passwords": passwords,
               "warehouse": warehouse, "setup_s": setup_s}
    finally:
        stop(proc)


def _session(superset, user: str) -> requests.Session:
    """A REST API session of `user` (JWT, then a CSRF token for the POSTs)."""
    url, session = superset["url"], requests.Session()
    login = session.post(f"{url}/api/v1/security/login", timeout=30, json={
        "username": user, "password": superset["passwords"][user], "provider": "db", "refresh": False})
    assert login.status_code == 200, login.text
    session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    session.headers["X-CSRFToken"] = session.get(f"{url}/api/v1/security/csrf_token/", timeout=30).json()["result"]
    session.headers["Referer"] = url
    return session


def _charts(superset, user: str = "admin") -> dict[str, dict]:
    """{dashboard slug: {chart id: chart name}} as `user` may list them."""
    session, url = _session(superset, user), superset["url"]
    out = {}
    dashboards = session.get(f"{url}/api/v1/dashboard/", timeout=30,
                             params={"q": json.dumps({"page_size": 100})}).json()["result"]
    for dashboard in dashboards:
        charts = session.get(f"{url}/api/v1/dashboard/{dashboard['id']}/charts", timeout=30).json()["result"]
        out[dashboard["slug"]] = {c["id"]: c["slice_name"] for c in charts}
    return out


def test_the_committed_assets_are_what_superset_holds_and_a_second_import_changes_nothing(superset, tmp_path):
    home, site = superset["home"], superset["site"]
    first = tmp_path / "first"
    bi_cli.admin(home, "export", "--assets", str(first))
    output = bi_cli.admin(home, "import", "--assets", str(bi_cli.ASSETS_DIR), "--bi-db",
                          str(site / "published" / "bi.duckdb"))
    second = tmp_path / "second"
    bi_cli.admin(home, "export", "--assets", str(second))
    counts = json.loads(output.split("(", 1)[1].split(")", 1)[0])
    assert counts == {"databases": 1, "datasets": 10, "charts": 36, "dashboards": 3}

    def files(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.yaml"))}

    assert files(first) == files(second) == files(bi_cli.ASSETS_DIR)


def test_every_chart_answers_and_a_district_reviewer_sees_only_the_district(superset):
    url = superset["url"]
    charts = _charts(superset)
    assert set(charts) == {*REVIEWER_DASHBOARDS, TEAM_DASHBOARD} and sum(map(len, charts.values())) == 36
    province, district = _session(superset, "ra_soat_tinh"), _session(superset, DISTRICT_REVIEWER)
    province_districts: set[str] = set()
    district_rows = 0
    for slug in REVIEWER_DASHBOARDS:
        for chart_id, name in charts[slug].items():
            for session in (province, district):
                full = session.get(f"{url}/api/v1/chart/{chart_id}/data/", timeout=60)
                assert full.status_code == 200 and not full.json()["result"][0]["error"], (name, full.text[:300])
            sql = district.get(f"{url}/api/v1/chart/{chart_id}/data/", params={"type": "query"}, timeout=60)
            assert f"district_code = '{DISTRICT}'" in sql.json()["result"][0]["query"], name
            rows = {session: session.get(f"{url}/api/v1/chart/{chart_id}/data/", params={"type": "samples"},
                                         timeout=60).json()["result"][0]["data"] for session in (province, district)}
            seen = {s: {r.get("district_code") for r in data} for s, data in rows.items()}
            assert seen[district] <= {DISTRICT}, (name, seen[district])
            district_rows += len(rows[district])
            province_districts |= seen[province] - {None}
    assert len(province_districts) == 9  # the province reviewer: every district of the province
    assert district_rows > 100  # ... and the district reviewer their own district's rows
    team = _session(superset, "doi_du_lieu")
    for chart_id, name in charts[TEAM_DASHBOARD].items():
        response = team.get(f"{url}/api/v1/chart/{chart_id}/data/", timeout=60)
        assert response.status_code == 200 and not response.json()["result"][0]["error"], (name, response.text[:300])
        assert district.get(f"{url}/api/v1/chart/{chart_id}/data/", timeout=60).status_code in (403, 404), name


def test_reviewers_have_no_sql_lab_no_upload_and_no_data_team_dashboard(superset):
    url = superset["url"]
    admin = _session(superset, "admin")
    databases = admin.get(f"{url}/api/v1/database/", timeout=30).json()["result"]
    assert [d["database_name"] for d in databases] == ["vaxclean_bi"]
    database_id = databases[0]["id"]
    uri = admin.get(f"{url}/api/v1/database/{database_id}/connection", timeout=30).json()["result"]["sqlalchemy_uri"]
    assert uri.endswith("/published/bi.duckdb")  # the link to the current publication, never marts.duckdb
    query = {"database_id": database_id, "sql": "select count(*) from marts.dose_reconciliation", "runAsync": False}
    for user in ("ra_soat_tinh", DISTRICT_REVIEWER):
        session = _session(superset, user)
        assert session.post(f"{url}/api/v1/sqllab/execute/", json=query, timeout=30).status_code == 403, user
        upload = session.post(f"{url}/api/v1/database/{database_id}/upload/", timeout=30,
                              files={"file": ("x.csv", b"a,b\n1,2\n")}, data={"table_name": "x", "type": "csv"})
        assert upload.status_code == 403, user
        assert TEAM_DASHBOARD not in _charts(superset, user)
    team = _session(superset, "doi_du_lieu")
    answer = team.post(f"{url}/api/v1/sqllab/execute/", json=query, timeout=60)
    assert answer.status_code == 200 and answer.json()["data"][0]["count_star()"] > 0
    restricted = superset["warehouse"] / "published" / "marts.duckdb"
    attach = team.post(f"{url}/api/v1/sqllab/execute/", timeout=60, json={
        "database_id": database_id, "sql": f"attach '{restricted}' as restricted", "runAsync": False})
    assert attach.status_code != 200 and "Permission Error" in attach.text


def test_secrets_and_passwords_are_the_owners_only_and_a_bad_users_csv_is_refused_by_line(superset, tmp_path):
    home = superset["home"]
    assert {oct(p.stat().st_mode & 0o777) for p in (home / "passwords.csv", home / "secret_key")} == {"0o600"}
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    bad = tmp_path / "users.csv"
    bad.write_text("username,first_name,last_name,email,kind,district_code\n"
                   "ok_user,A,B,a@b.invalid,province_reviewer,\n"
                   "someone,A,B,a@b.invalid,district_reviewer,\n"
                   "other,A,B,a@b.invalid,mayor,\n", encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        bi_cli.admin(home, "users", "--csv", str(bad), "--passwords", str(tmp_path / "passwords.csv"))
    assert "line 3: a district reviewer needs a district_code" in str(refused.value)
    assert "line 4: kind 'mayor'" in str(refused.value)
    assert not (tmp_path / "passwords.csv").exists()  # nobody was created


def test_superset_is_never_set_up_against_the_restricted_file(superset, tmp_path):
    site = tmp_path / "site"
    (site / "published").mkdir(parents=True)
    (site / "published" / "bi.duckdb").symlink_to(superset["warehouse"] / "published" / "marts.duckdb")
    with pytest.raises(UnsafeDatabase, match="restricted file"):
        bi_cli.setup(site)
    shutil.copyfile(superset["warehouse"] / "published" / "marts.duckdb", site / "published" / "copy.duckdb")
    (site / "published" / "bi.duckdb").unlink()
    (site / "published" / "copy.duckdb").rename(site / "published" / "bi.duckdb")
    with pytest.raises(UnsafeDatabase, match="personal columns"):
        bi_cli.setup(site)


@pytest.mark.parametrize("damage", ["not YAML", "a required key missing"])
def test_a_broken_asset_file_is_named(superset, tmp_path, damage):
    assets = tmp_path / "assets"
    shutil.copytree(bi_cli.ASSETS_DIR, assets)
    broken = assets / "charts" / "phan_anh_dang_mo.yaml"
    text = broken.read_text(encoding="utf-8")
    broken.write_text("slice_name: [unclosed\n" + text if damage == "not YAML" else text.replace("\nuuid:", "\nuid:"),
                      encoding="utf-8")
    with pytest.raises(SystemExit, match="phan_anh_dang_mo.yaml"):
        bi_cli.admin(superset["home"], "import", "--assets", str(assets), "--bi-db",
                     str(superset["site"] / "published" / "bi.duckdb"))


def test_each_dashboard_renders_every_chart_in_a_browser(superset):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"no browser at {CHROMIUM}: `apt-get install chromium` (.ci/run does)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url, charts = superset["url"], _charts(superset)
    visits = [(DISTRICT_REVIEWER, slug) for slug in REVIEWER_DASHBOARDS] + [("doi_du_lieu", TEAM_DASHBOARD)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            for user, slug in visits:
                page = browser.new_page(viewport={"width": 1600, "height": 1200})
                page.goto(f"{url}/login/")
                page.fill("#username", user)
                page.fill("#password", superset["passwords"][user])
                page.keyboard.press("Enter")
                page.wait_for_url("**/superset/welcome/**", timeout=60_000)
                answers: list[tuple[int, str]] = []

                def collect(response, into=answers):  # every chart's data request, as the page makes it
                    if "/api/v1/chart/data" in response.url and response.request.method == "POST":
                        into.append((response.status, response.text()))

                page.on("response", collect)
                page.goto(f"{url}/superset/dashboard/{slug}/?standalone=1")
                deadline = time.monotonic() + 90
                while len(answers) < len(charts[slug]) and time.monotonic() < deadline:
                    page.wait_for_timeout(250)
                page.wait_for_load_state("networkidle", timeout=60_000)
                page.screenshot(path=str(SCREENSHOTS / f"{slug}.png"), full_page=True)
                assert len(answers) >= len(charts[slug]), (slug, len(answers))
                failed = [text[:200] for status, text in answers if status != 200 or '"error": "' in text]
                assert failed == [], slug
                assert page.locator("[data-test='alert-error'], .alert-danger").count() == 0, slug
                assert page.get_by_text("Unexpected error").count() == 0, slug
                page.close()
        finally:
            browser.close()


def test_serve_stops_every_process_it_started_on_sigint_even_in_the_background(superset):
    """`make bi` and Ctrl-C: the server's whole process group goes, and the port is free again (SIGINT is
    ignored in a background job of a shell: the command installs its own handler)."""
    import signal
    import subprocess
    import sys

    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "vaxclean.bi", "serve", "--warehouse", str(superset["site"]),
                              "--port", str(port)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and "Ctrl-C stops Superset" not in (line := serve.stdout.readline()):
            assert line or serve.poll() is None, "serve exited before Superset was ready"
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        started = time.monotonic()
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=20)
        while time.monotonic() - started < 15 and not bi_cli.port_is_free(port):
            time.sleep(0.2)
        assert bi_cli.port_is_free(port) and time.monotonic() - started < 15
    finally:
        if serve.poll() is None:
            serve.kill()
