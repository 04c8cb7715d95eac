"""vaxclean.bi: the dashboards (Apache Superset on the BI layer `published/bi.duckdb`).

- `python -m vaxclean.bi serve|setup|export|users` (`make bi`, `make bi-export`, `make bi-users`): runs in the
  project's environment, prepares the Superset environment (`.venv-bi`, its own: Superset's pins conflict
  with Airflow's), its home (`<warehouse>/superset/`: SQLite metadata, secret key) and serves it;
- `vaxclean.bi.superset_admin`: what runs inside Superset (assets, roles, row-level security, users);
- `vaxclean.bi.safety`: the check that Superset is only ever pointed at a file without personal data.
Nothing here imports more than the standard library and DuckDB at module level: both environments import it.
"""
