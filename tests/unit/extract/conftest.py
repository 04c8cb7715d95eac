"""Fixtures of the extraction tests: a fake API scenario with records the raw layer must quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaxclean.simulator.fake import write_fake_api_scenario


@pytest.fixture(scope="session")
def api_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("extract_scenario")
    write_fake_api_scenario(directory, records=3000, tickets=300, seed=11)
    with (directory / "platform" / "immunizations.jsonl").open("a", encoding="utf-8") as handle:
        # Served (it has an updated_at) but cannot be keyed: quarantined by the extractor.
        handle.write('{"record_id": null, "full_name": "Nguyễn Văn A", "updated_at": "2021-08-10T01:00:00Z"}\n')
        handle.write('{"full_name": "Trần Thị B", "updated_at": "2021-08-10T02:00:00+00:00"}\n')
    return directory
