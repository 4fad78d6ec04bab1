"""What the Python side reads from the dbt project's own configuration, declared once there.

- `retain_until`: the retention date of released outputs (§24), `vars: retain_until` in
  `dbt_project.yml`; a prolongation changes that one line.
- `output_specs`: each output model's disclosure specification, `config.meta.disclosure` in
  its yml (dimensions, additive and union dimensions, dimensions the count is constant over,
  shares, magnitudes with their contributor columns, links to other outputs). Adding an
  output is a model and its yml; the export reads them here.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import yaml

from wse_impact.settings import PROJECT_DIR

from wse_impact.release.disclosure_rules import COUNT, Link, Magnitude, OutputSpec

__all__ = ["project_dir", "project_vars", "retain_until", "output_specs"]

PROJECT_FILE = "dbt_project.yml"


def project_dir(explicit: str | Path | None = None) -> Path:
    """The dbt project: `explicit`, else $DBT_PROJECT_DIR, else the working directory or the
    project this package is installed from (editable install), whichever has dbt_project.yml."""
    candidates = [explicit, os.environ.get("DBT_PROJECT_DIR"), Path.cwd(), PROJECT_DIR]
    for candidate in candidates:
        if candidate and (Path(candidate) / PROJECT_FILE).is_file():
            return Path(candidate)
    raise FileNotFoundError(f"no {PROJECT_FILE} found (set DBT_PROJECT_DIR or run from the project)")


def project_vars(project: str | Path | None = None) -> dict:
    config = yaml.safe_load((project_dir(project) / PROJECT_FILE).read_text()) or {}
    return config.get("vars") or {}


def retain_until(project: str | Path | None = None) -> date:
    """The retention date declared in dbt_project.yml (`vars: retain_until`)."""
    value = project_vars(project).get("retain_until")
    if value is None:
        raise ValueError(f"{project_dir(project) / PROJECT_FILE} declares no vars: retain_until")
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _spec(name: str, meta: dict) -> tuple[OutputSpec, list[Link]]:
    known = {"dimensions", "additive", "union", "constant_over", "count", "values", "magnitudes", "links"}
    unknown = set(meta) - known
    if unknown:
        raise ValueError(f"output {name}: unknown keys {sorted(unknown)} in config.meta.disclosure")
    magnitudes = tuple(
        Magnitude(m["column"], m["total"], tuple(m["tops"]), float(m.get("unit", 1.0)))
        for m in meta.get("magnitudes") or ()
    )
    spec = OutputSpec(
        name=name,
        dimensions=tuple(meta["dimensions"]),
        additive=tuple(meta.get("additive") or ()),
        union=tuple(meta.get("union") or ()),
        constant_over=tuple(meta.get("constant_over") or ()),
        values=tuple(meta.get("values") or ()),
        magnitudes=magnitudes,
        count=meta.get("count", COUNT),
    )
    links = [
        Link(name=link["name"], superset=link["superset"], superset_where=dict(link.get("superset_where") or {}),
             subset=name, subset_where=dict(link.get("subset_where") or {}), on=tuple(link.get("on") or ()))
        for link in meta.get("links") or ()
    ]
    return spec, links


def output_specs(project: str | Path | None = None) -> tuple[dict[str, OutputSpec], tuple[Link, ...]]:
    """Every model's `config.meta.disclosure` in the project's model ymls, as specs and links
    (a link is declared on its subset output)."""
    root = project_dir(project)
    config = yaml.safe_load((root / PROJECT_FILE).read_text()) or {}
    specs, links = {}, []
    for model_path in config.get("model-paths", ["models"]):
        for path in sorted((root / model_path).rglob("*.yml")):
            document = yaml.safe_load(path.read_text()) or {}
            for model in document.get("models") or ():
                meta = ((model.get("config") or {}).get("meta") or {}).get("disclosure")
                if meta is None:
                    continue
                spec, model_links = _spec(model["name"], meta)
                specs[spec.name] = spec
                links.extend(model_links)
    for link in links:
        if link.superset not in specs:
            raise ValueError(f"link {link.name!r} of {link.subset}: {link.superset} declares no disclosure spec")
    return specs, tuple(links)
