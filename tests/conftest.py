"""Test-wide settings: Airflow never touches the developer's home, examples never load."""

from __future__ import annotations

import os
import tempfile

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="vaxclean-test-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# The BI layer's pseudonym key (vaxclean.publish.bi): a fixed test value, long enough to be accepted; the
# tests of a missing or short key unset or override it themselves.
TEST_PSEUDONYM_SECRET = "test-pseudonym-secret-0123456789abcdef"
os.environ.setdefault("VAXCLEAN_PSEUDONYM_SECRET", TEST_PSEUDONYM_SECRET)
