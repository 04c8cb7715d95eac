# vaxclean: the README's two commands are `make run` and `make test`; each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE :=
export AIRFLOW__CORE__LOAD_EXAMPLES := False

SCENARIO ?=
WAREHOUSE ?= $(CURDIR)/var/warehouse
PEOPLE ?= 20000
SEED ?= 7

# The engine dbt builds on: duckdb (default) or spark (pyspark + dbt-spark on top of the same venv).
ENGINE ?= duckdb
SPARK_STAMP := $(VENV)/.spark-installed

BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed
BI_PORT ?= 8088

.PHONY: setup spark-setup run test lint evaluate airflow scenario bench clean bi bi-setup bi-export bi-users

setup: $(STAMP)

# (Re)install only when the venv is missing or requirements.txt changed.
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	@$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -r requirements.txt
	@echo "$(CURDIR)/plugins" > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/vaxclean.pth
	@touch $(STAMP)

# The Spark engine: pyspark and dbt-spark into the same venv (requirements-spark.txt is constrained by
# requirements.txt: no shared pin moves); reinstalled when either lock changed. Java 17+ comes from the system.
spark-setup: $(SPARK_STAMP)

$(SPARK_STAMP): requirements-spark.txt $(STAMP)
	@$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -r requirements-spark.txt
	@touch $(SPARK_STAMP)

# Superset in its own environment (its pins conflict with Airflow's); reinstalled when its lock changed.
bi-setup: $(BI_STAMP)

$(BI_STAMP): bi/requirements.txt $(STAMP)
	@test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	@$(VENV)/bin/uv pip install --quiet --python $(BI_VENV)/bin/python --compile-bytecode -r bi/requirements.txt
	@touch $(BI_STAMP)

# Dashboards: Superset on 127.0.0.1:$(BI_PORT) over the BI layer of WAREHOUSE (published first if missing).
bi: setup bi-setup
	$(PY) -m vaxclean.bi serve --warehouse "$(WAREHOUSE)" --port $(BI_PORT)

# The dashboards as edited in the UI (of `make bi`'s Superset) back into bi/assets/ (review and commit them).
bi-export: setup bi-setup
	$(PY) -m vaxclean.bi export --warehouse "$(WAREHOUSE)"

# Users from a CSV: make bi-users CSV=users.csv (passwords of new users: <warehouse>/superset/passwords.csv).
bi-users: setup bi-setup
	$(PY) -m vaxclean.bi users --warehouse "$(WAREHOUSE)" --csv "$(CSV)"

run: setup $(if $(filter spark,$(ENGINE)),spark-setup)
	VAXCLEAN_ENGINE=$(ENGINE) $(PY) -m vaxclean.cli run --warehouse "$(WAREHOUSE)" $(if $(SCENARIO),--scenario "$(SCENARIO)",--people $(PEOPLE) --seed $(SEED))

evaluate: setup
	$(PY) -m vaxclean.evaluate --warehouse "$(WAREHOUSE)" $(if $(SCENARIO),--scenario "$(SCENARIO)",--scenario "$(WAREHOUSE)/demo_scenario")

airflow: setup
	$(PY) -m vaxclean.cli airflow --warehouse "$(WAREHOUSE)" $(if $(SCENARIO),--scenario "$(SCENARIO)",)

scenario: setup
	$(PY) -m vaxclean.scenario generate --out "$(WAREHOUSE)/demo_scenario" --people $(PEOPLE) --seed $(SEED)

# Province-scale benchmark (figures, not a test): PEOPLE defaults to the province's 1.3 M residents.
bench: setup $(if $(filter spark,$(ENGINE)),spark-setup)
	VAXCLEAN_ENGINE=$(ENGINE) $(PY) -m vaxclean.bench --people $(if $(filter command line,$(origin PEOPLE)),$(PEOPLE),1300000) --seed $(SEED) --cache "$(CURDIR)/var/bench"

lint: setup
	$(VENV)/bin/ruff check plugins dags tests

test: setup bi-setup spark-setup lint
	$(VENV)/bin/pytest -q tests

clean:
	rm -rf var dbt_project/target dbt_project/logs
