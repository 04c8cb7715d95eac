from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def monkeypatch_module():
    """monkeypatch for module-scoped fixtures (environment of a whole built scenario)."""
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
