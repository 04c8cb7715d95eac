from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vaxclean.orchestration import api_base_url, extraction_window, parse_utc


def test_window_is_the_data_interval_by_default():
    s, e = datetime(2021, 9, 1, 10, tzinfo=UTC), datetime(2021, 9, 1, 11, tzinfo=UTC)
    assert extraction_window(s, e) == (s, e)


def test_window_params_override_for_backfills():
    s, e = extraction_window(None, None, "2021-03-01T00:00:00Z", "2022-09-01T00:00:00+00:00")
    assert s == datetime(2021, 3, 1, tzinfo=UTC) and e == datetime(2022, 9, 1, tzinfo=UTC)


def test_empty_manual_interval_falls_back_to_the_last_hour():
    e = datetime(2021, 9, 1, 11, tzinfo=UTC)
    s, e2 = extraction_window(e, e)
    assert e2 == e and (e - s).total_seconds() == 3600


def test_naive_timestamps_are_utc():
    assert parse_utc("2021-09-01T10:00:00") == datetime(2021, 9, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "url"),
    [
        ({"host": "127.0.0.1", "port": 8000, "schema": "http"}, "http://127.0.0.1:8000"),
        ({"host": "api.example.vn", "port": None, "schema": "https"}, "https://api.example.vn"),
        ({"host": "http://10.0.0.5", "port": 81, "schema": None}, "http://10.0.0.5:81"),
        ({"host": None, "port": None, "schema": None, "extra": {"base_url": "https://x/y/"}}, "https://x/y"),
    ],
)
def test_api_base_url(kwargs, url):
    assert api_base_url(**kwargs) == url


def test_api_base_url_needs_a_host():
    with pytest.raises(ValueError, match="no host"):
        api_base_url(host=None, port=None, schema=None)


def test_every_landing_loader_resolves():
    import importlib

    from vaxclean.orchestration import LANDING_LOADERS

    for target in LANDING_LOADERS.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))


def test_landing_source_with_nothing_new_loads_nothing(tmp_path, monkeypatch):
    from vaxclean.orchestration import load_landing_source

    monkeypatch.setenv("VAXCLEAN_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("VAXCLEAN_WAREHOUSE_DIR", str(tmp_path / "wh"))
    (tmp_path / "landing" / "hotline").mkdir(parents=True)
    assert not load_landing_source("hotline").get("files_loaded")


def test_failure_excerpt_shows_why_a_run_failed(tmp_path):
    from vaxclean.cli import failure_excerpt

    log = tmp_path / "run.log"
    log.write_text("noise\n\x1b[31mGate 'marts' run r1: FAILED (1 failing checks)\x1b[0m\n"
                   "  [HARD] commune_worklist.commune_code: not_nullable: 7 of 1,633 rows\nmore noise\n")
    excerpt = failure_excerpt(log)
    assert "Gate 'marts' run r1: FAILED" in excerpt and "[HARD] commune_worklist" in excerpt
    assert "noise" not in excerpt and "\x1b" not in excerpt


def test_code_fingerprint_changes_with_the_normalisation_code(tmp_path):
    from vaxclean.build import code_fingerprint

    (tmp_path / "macros").mkdir()
    (tmp_path / "models" / "staging").mkdir(parents=True)
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "macros" / "names.sql").write_text("{% macro a() %}1{% endmacro %}")
    before = code_fingerprint(tmp_path)
    (tmp_path / "models" / "marts" / "m.sql").write_text("select 1")  # marts are tables: no refresh needed
    assert code_fingerprint(tmp_path) == before
    (tmp_path / "macros" / "names.sql").write_text("{% macro a() %}2{% endmacro %}")
    assert code_fingerprint(tmp_path) != before


def test_after_downtime_the_next_run_starts_where_the_last_window_ended(tmp_path, monkeypatch):
    from vaxclean import orchestration

    monkeypatch.setenv("VAXCLEAN_WAREHOUSE_DIR", str(tmp_path))
    table = tmp_path / "raw" / "platform_immunizations"
    table.mkdir(parents=True)
    # last good hour ended 06:00; a replay of history ends in 2030 and does not count
    (table / "since=20210901T050000Z__until=20210901T060000Z.parquet").touch()
    (table / "since=20200101T000000Z__until=20300101T000000Z.parquet").touch()
    calls = []
    monkeypatch.setattr("vaxclean.extract.api.extract_interval", lambda **kw: calls.append(kw) or {})
    conn = type("Conn", (), {"host": "127.0.0.1", "port": 1, "schema": "http", "password": "t", "extra_dejson": {}})
    hour = datetime(2021, 9, 1, 10, tzinfo=UTC), datetime(2021, 9, 1, 11, tzinfo=UTC)
    for _ in range(2):  # a re-run of the same interval asks for the same window
        orchestration.extract_api_window(endpoint="immunizations", conn=conn, interval_start=hour[0],
                                         interval_end=hour[1], params={})
    # from 06:00, then the look-back (120 minutes by default) before it
    assert [(c["since"], c["until"]) for c in calls] == [(datetime(2021, 9, 1, 4, tzinfo=UTC), hour[1])] * 2
    # an explicit window (a backfill) is taken as given
    orchestration.extract_api_window(endpoint="immunizations", conn=conn, interval_start=hour[0],
                                     interval_end=hour[1], params={"updated_since": "2021-09-01T10:30:00Z"})
    assert calls[-1]["since"] == datetime(2021, 9, 1, 10, 30, tzinfo=UTC)


def test_scheduled_windows_look_back_and_re_sweep_at_midnight():
    from datetime import timedelta

    from vaxclean.orchestration import scheduled_window

    hour = datetime(2022, 3, 5, 10, tzinfo=UTC), datetime(2022, 3, 5, 11, tzinfo=UTC)
    kw = {"lookback": timedelta(hours=2), "resweep": timedelta(days=3)}
    assert scheduled_window(*hour, watermark=hour[0], **kw) == datetime(2022, 3, 5, 8, tzinfo=UTC)
    # after downtime: from the end of the last window, then the look-back
    assert scheduled_window(*hour, watermark=datetime(2022, 3, 5, 1, tzinfo=UTC), **kw) == datetime(
        2022, 3, 4, 23, tzinfo=UTC)
    # the window ending at midnight re-sweeps three days
    midnight = datetime(2022, 3, 5, 23, tzinfo=UTC), datetime(2022, 3, 6, tzinfo=UTC)
    assert scheduled_window(*midnight, watermark=midnight[0], **kw) == datetime(2022, 3, 3, tzinfo=UTC)
    assert scheduled_window(*midnight, watermark=None, lookback=timedelta(0), resweep=timedelta(0)) == midnight[0]
