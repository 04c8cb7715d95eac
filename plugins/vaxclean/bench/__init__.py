"""Province-scale benchmark of the whole pipeline: `python -m vaxclean.bench --people N --seed S --cache DIR`.

A script that prints figures (a table and one JSON line), never a test. See `docs/scaling.md`.
"""
