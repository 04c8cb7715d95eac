"""docs/architecture.md stays true to the dbt project: its picture has every model of the dose chain, its
scope table says what each scoped model's YAML declares, and the files and macros its walk-through names
exist."""

from __future__ import annotations

import re

from vaxclean.config import DBT_PROJECT_DIR

DOC = DBT_PROJECT_DIR.parent / "docs" / "architecture.md"
CHAIN_DIR = DBT_PROJECT_DIR / "models" / "intermediate" / "doses"


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end > 0 else None]


def test_the_picture_has_every_model_of_the_chain() -> None:
    text = DOC.read_text(encoding="utf-8")
    mermaid = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    nodes = set(re.findall(r"\b(int_[a-z_]+)\[", mermaid))
    chain = {p.stem for p in CHAIN_DIR.iterdir() if p.suffix in (".sql", ".py")}
    assert nodes == chain


def test_the_scope_table_is_what_the_models_declare(built_warehouse: dict[str, object]) -> None:
    """Each scoped model of the last build (from dbt's manifest, vaxclean.transform.dbt.scoped_models) is
    listed beside the scope it declares, and nothing else is."""
    declared = built_warehouse["summary"]["scoped_models"]
    assert declared, "the build declared no scoped models"
    table = _section(DOC.read_text(encoding="utf-8"), "## The scopes")
    documented = {}
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`int_dose_scopes_"):
            for model in re.findall(r"`([a-z_]+)`", cells[3]):
                documented[model] = cells[1].strip("`")
    assert documented == {model: d["scope"].split(".")[1] for model, d in declared.items()}


def test_the_walkthrough_names_what_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    root = DBT_PROJECT_DIR.parent
    paths = set(re.findall(r"`((?:dbt_project|tests|docs)/[^`]+)`", text))
    assert paths and all((root / p).exists() for p in paths), [p for p in paths if not (root / p).exists()]
    macros = "".join(p.read_text(encoding="utf-8") for p in (DBT_PROJECT_DIR / "macros").rglob("*.sql"))
    for name in ("get_incremental_dose_scope_sql", "dose_scope_rows", "duckdb__get_where_subquery",
                 "in_dose_scope", "dose_chain_is_incremental"):
        assert name in text and re.search(rf"macro {name}\(", macros), name
