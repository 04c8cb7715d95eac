"""A fault in every layer, and not one personal value in what the faults leave behind: the logs of every
vaxclean and dbt logger, the exceptions the tasks would fail with, the gate reports and the alerts composed
for each failure are scanned for every name, ID number, phone and birth date of the scenario (the scanner of
test_personal_data): zero hits.

The faults: a site batch whose header line is a data row (a person); an API that answers 400 echoing a
record; a staging table where a person's name and phone landed in code columns (the staging gate fails);
dbt failing on a value it quotes (a cast of a person's name and phone)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest
from test_personal_data import PersonalValues, _places

from vaxclean import alerts, build
from vaxclean.gates import GateFailed
from vaxclean.orchestration import load_landing_source

WINDOW = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def published(tmp_path_factory, extract_and_load, monkeypatch_module):
    """A small scenario extracted, loaded, built and published (the clean run the faults then hit)."""
    from vaxclean.scenario import generate

    base = tmp_path_factory.mktemp("faults")
    scenario, warehouse = base / "scenario", base / "warehouse"
    generate(scenario, people=300, seed=5)
    monkeypatch_module.setenv("VAXCLEAN_LANDING_DIR", str(scenario))
    monkeypatch_module.setenv("VAXCLEAN_WAREHOUSE_DIR", str(warehouse))
    extract_and_load(scenario, warehouse / "raw", *WINDOW)
    for step in ("raw", "staging", "marts"):
        if step != "raw":
            build.build_layer(step, "clean")
        build.gate(step, "clean")
    build.publish_marts("clean", {"test": True})
    return scenario, warehouse


def _a_person(warehouse) -> dict:
    """One citizen of the register as the platform served them (name, phone and ID number as typed)."""
    with duckdb.connect() as con:
        (payload,) = con.execute(f"""select payload from read_parquet('{warehouse}/raw/platform_immunizations/*.parquet')
            where payload->>'phone' is not null and payload->>'id_number' is not null limit 1""").fetchone()
    return json.loads(payload)


class _EchoingApi:
    """An API that answers every request with 400 and the record it choked on."""

    def __init__(self, record: dict) -> None:
        body = json.dumps({"error": "invalid record", "record": record}, ensure_ascii=False).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_faults_in_every_layer_leave_no_personal_value_behind(published, caplog):
    from vaxclean.extract.api import extract_interval
    from vaxclean.extract.client import ApiRequestError
    from vaxclean.transform.dbt import DbtFailure, run_dbt

    scenario, warehouse = published
    person = _a_person(warehouse)
    name, phone, id_number = person["full_name"], person["phone"], person["id_number"]
    texts: dict[str, str] = {}
    failures: dict[str, BaseException] = {}
    caplog.set_level(logging.DEBUG)

    # 1. landing: a site batch whose first line is a data row (the header check quotes what it found)
    site_dir = next(p for p in sorted((scenario / "site_batches").iterdir()) if p.is_dir())
    (site_dir / "no_header.csv").write_text(f"1,{name},01/01/1990,Nam,{phone},{id_number},x,19,164,05434,,Pfizer,"
                                            "L1,1,01/08/2021\n", encoding="utf-8")
    assert load_landing_source("site_batches")["files_quarantined"] == 1

    # 2. extraction: the API answers 400 with the record it choked on
    api = _EchoingApi(person)
    try:
        with pytest.raises(ApiRequestError) as api_error:
            extract_interval(base_url=api.url, token="t", endpoint="immunizations", since=WINDOW[0],
                             until=WINDOW[1], raw_dir=warehouse / "raw", max_retries=0)
        failures["extraction"] = api_error.value
    finally:
        api.close()

    # 3. staging: a person's name and phone where codes belong (the staging gate's checks fail, with examples)
    with duckdb.connect(str(warehouse / "warehouse.duckdb")) as con:
        con.execute("update staging.stg_population__citizens set gender = ?, commune_code = ? where citizen_id = "
                    "(select min(citizen_id) from staging.stg_population__citizens)", [name, phone])
    with pytest.raises(GateFailed) as gate_error:
        build.gate("staging", "fault-staging")
    failures["staging gate"] = gate_error.value

    # 4. dbt: a failure that quotes the value it failed on
    with pytest.raises(DbtFailure) as dbt_error:
        run_dbt(["show", "--inline", f"select cast('{name} {phone}' as integer) as x", "--target", "freshness"],
                warehouse_dir=warehouse, target_dir="freshness")
    failures["dbt"] = dbt_error.value

    for layer, error in failures.items():
        texts[f"exception: {layer}"] = str(error)
        texts[f"alert: {layer}"] = alerts.failure_alert(dag_id="d", task_id=layer, run_id="r", try_number=1,
                                                       exception=error).text()
    texts["logs"] = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    for path in sorted((warehouse / "gate_reports").rglob("*")):
        if path.is_file() and path.suffix in (".json", ".txt"):
            texts[str(path.relative_to(warehouse))] = path.read_text(encoding="utf-8")
    for path in sorted((warehouse / "dbt").rglob("*.log")):
        texts[str(path.relative_to(warehouse))] = path.read_text(encoding="utf-8", errors="replace")

    values = PersonalValues(warehouse / "raw", _places(warehouse / "published" / "bi.duckdb"))
    # the faults did carry this person's values (the scan is not vacuous), and the scan knows them
    assert values.hits(f"{name}\t{phone}\t{id_number}")
    assert "not a template header" in texts["logs"] or "header does not match" in texts["logs"]
    assert "HTTP 400" in texts["exception: extraction"] and "Conversion Error" in texts["exception: dbt"]
    hits = {where: found[:5] for where, text in texts.items() if (found := values.hits(text))}
    assert hits == {}
