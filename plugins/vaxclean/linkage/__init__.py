"""Probabilistic identity resolution (Splink 5 on DuckDB) for dose records without a usable ID.

- `features`: the comparison columns, built the same way for dose records and citizens.
- `spec`: the Splink settings (blocking rules, comparisons); shared by training and prediction.
- `train`: offline training on a generated scenario -> `model.json` (versioned in the repo).
- `predict`: loads `model.json` (never retrains) and scores candidates; called by the dbt Python
  model `int_dose_records_linked`.
- `baselines`: naive comparators (plain Splink on raw fields, exact ID+name+dob+gender match).
"""

from pathlib import Path

MODEL_PATH = Path(__file__).with_name("model.json")
