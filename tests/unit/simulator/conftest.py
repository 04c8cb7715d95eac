"""Fixtures of the simulator tests: a small fake API scenario with a few unservable lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaxclean.simulator.fake import write_fake_api_scenario


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sim_scenario")
    write_fake_api_scenario(directory, records=2500, tickets=400, seed=3)
    with (directory / "platform" / "immunizations.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("not json at all\n")
        handle.write('"a string"\n')
        handle.write('{"record_id": "X1", "full_name": "no timestamp"}\n')
        handle.write("\n")
    return directory
