"""The simulator's command line: what it refuses to start with."""

from __future__ import annotations


def test_a_simulator_reachable_from_other_machines_needs_a_token(tmp_path, monkeypatch):
    from vaxclean.simulator.__main__ import main

    monkeypatch.delenv("VAXCLEAN_SIMULATOR_TOKEN", raising=False)
    assert main(["--scenario", str(tmp_path), "--port", "0", "--host", "0.0.0.0"]) == 2
