"""The project's dbt macros that need nothing of dbt, rendered with plain Jinja, so that
Python reads a rule where it is declared: the measure catalog (macros/measure_catalog.sql)
and the age formula (macros/engine.sql)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wse_impact.settings import PROJECT_DIR


def project_macro(file_name: str, call: str, project_dir: Path = PROJECT_DIR) -> Any:
    """What a macro of the project gives, its `return` value or else its text, rendered with
    plain jinja: for the macros that need nothing of dbt (the measure catalog, the age
    formula), so that Python reads the rule where it is declared."""
    import jinja2

    class _Return(Exception):
        def __init__(self, value):
            self.value = value

    def _return(value):
        raise _Return(value)

    text = (project_dir / "macros" / file_name).read_text(encoding="utf-8")
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals["return"] = _return
    try:
        return env.from_string(text + "{{ " + call + " }}").render().strip()
    except _Return as ret:
        return ret.value


def measure_catalog(project_dir: Path = PROJECT_DIR) -> dict[str, dict]:
    """The measure catalog declared once in macros/measure_catalog.sql."""
    catalog = project_macro("measure_catalog.sql", "measure_catalog()", project_dir)
    if not isinstance(catalog, dict):
        raise RuntimeError("measure_catalog() did not return a value")
    return catalog


def age_in_years_sql(birth_date: str, at_date: str) -> str:
    """The panel's age formula (macros/engine.sql, `age_in_years`), SQL both engines run."""
    return project_macro("engine.sql", f"age_in_years({birth_date!r}, {at_date!r})")


def classed_measure_schemes(catalog: dict) -> dict[str, dict[str, str]]:
    """raw column -> {measure: class scheme} for the classed amounts and day counts."""
    classed: dict[str, dict[str, str]] = {}
    for measure, spec in catalog.items():
        for raw, scheme in {**spec.get("amounts", {}), **spec.get("day_counts", {})}.items():
            classed.setdefault(raw, {})[measure] = scheme
    return classed
