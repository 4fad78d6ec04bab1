"""The declared domain of every label a researcher's aggregate may publish.

A dimension of a researcher's aggregate must be a column whose domain the project declares,
named as the project names it:

- a code column (`codes: <seed>.<column>` meta on the panel, inherited by the base files):
  the seed's codes; a coarser grouping declared once in yml is one of these (the province and
  the region of residence are declared from the arrondissement: `provinces.province_code`,
  `regions.region_code`);
- a class column (`classes: {value, scheme}` meta): the scheme's labels in
  `seeds/class_bounds.csv`;
- the quarter (`seeds/quarters.csv`): `snapshot_quarter` (declared) and the measure uses'
  `start_quarter` and `end_quarter`;
- the measure (`seeds/measures.csv`): `measure_code`;
- the population group: `population_group` ('beneficiaries', 'controls', as the outputs);
- a flag of the base files (a boolean column of their contract): 'true', 'false'.

Every domain also holds `unknown`, the label of a missing value. Matching is exact, on the
value cast to text: 'Total' with a Cyrillic 'о' or a trailing space, a concatenation, a
setting or a path, an amount or a date cast to text lie outside every domain. The
declarations are read from dbt's manifest through `wse_impact.quality.Declarations`, the
reader the Great Expectations suites use; where no manifest has been written (a research
machine that never ran dbt), the same yml files are handed to the same reader
(`manifest_from_yml`: each model's columns and meta from its yml, its parents from the
`ref()`s of its SQL, which is all the reader uses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from wse_impact.quality import UNKNOWN_CLASS, Declarations, Seeds
from wse_impact.settings import PROJECT_DIR

__all__ = ["Domain", "Domains", "BASE_MODELS", "POPULATION_GROUPS"]

# the research marts a researcher's SQL reads, whose columns name the dimensions
BASE_MODELS = ("beneficiary_base", "control_base", "beneficiary_measures")
# the populations the outputs compare (population_person_quarters, accepted_values in its yml)
POPULATION_GROUPS = ("beneficiaries", "controls")
QUARTER_COLUMNS = ("snapshot_quarter", "start_quarter", "end_quarter")


@dataclass(frozen=True)
class Domain:
    dimension: str
    values: frozenset[str]
    declared_as: str  # where the domain comes from, for messages

    def first_outside(self, values) -> str | None:
        """The first of `values` (sorted) that is not in the domain, or None."""
        return next((v for v in sorted(values) if v not in self.values), None)


class Domains:
    """The declared domains by dimension name."""

    def __init__(self, domains: dict[str, Domain]):
        self.by_name = dict(domains)

    def get(self, dimension: str) -> Domain | None:
        return self.by_name.get(dimension)

    def names(self) -> list[str]:
        return sorted(self.by_name)

    @classmethod
    def load(cls, manifest_path: str | Path | None = None, project_dir: str | Path | None = None) -> "Domains":
        """From dbt's manifest (`target/manifest.json`, or `manifest_path`) and the seeds;
        without a manifest, from the project's yml (`manifest_from_yml`)."""
        project_dir = Path(project_dir or PROJECT_DIR)
        try:
            declarations = Declarations.load(manifest_path)
        except FileNotFoundError:
            declarations = Declarations(manifest_from_yml(project_dir))
        return cls.from_declarations(declarations, project_dir)

    @classmethod
    def from_declarations(cls, declarations: Declarations, project_dir: Path = PROJECT_DIR) -> "Domains":
        seeds = Seeds(project_dir)
        unknown = {UNKNOWN_CLASS}
        domains: dict[str, Domain] = {}

        def add(name: str, values, declared_as: str) -> None:
            domains.setdefault(name, Domain(name, frozenset({*values, *unknown}), declared_as))

        for model in BASE_MODELS:
            for code in declarations.codes(model):
                add(code.column, seeds.codes(code.seed, code.seed_column), f"codes: {code.seed}.{code.seed_column}")
            for scheme in declarations.classes(model):
                labels = [row["class_label"] for row in seeds.class_bounds.get(scheme.scheme, [])]
                add(scheme.column, labels, f"classes: {scheme.scheme}")
            for column in declarations.columns(model):
                if (declarations.contract_type(model, column) or "").lower() == "boolean":
                    add(column, ("true", "false"), f"flag of {model}")
        quarters = seeds.codes("quarters", "quarter")
        for column in QUARTER_COLUMNS:
            add(column, quarters, "quarters.quarter")
        add("measure_code", seeds.codes("measures", "measure_code"), "codes: measures.measure_code")
        add("population_group", POPULATION_GROUPS, "the populations of the outputs")
        return cls(domains)


_REF = re.compile(r"""\bref\(\s*['"](\w+)['"]\s*\)""")


def manifest_from_yml(project_dir: Path = PROJECT_DIR) -> dict:
    """What `Declarations` reads of a manifest, from the project's yml and SQL: every model's
    and seed's columns (with their meta, config and data_type) and config, and each model's
    parent models (its `ref()`s)."""
    sql_of = {path.stem: path for path in (project_dir / "models").rglob("*.sql")}
    documents = [*(project_dir / "models").rglob("*.yml"), *(project_dir / "seeds").rglob("*.yml")]
    declared = {}
    for path in sorted(documents):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for kind, key in (("model", "models"), ("seed", "seeds")):
            for node in document.get(key) or ():
                declared[node["name"]] = (kind, node)
    nodes = {}
    for name, (kind, node) in declared.items():
        parents = sorted(set(_REF.findall(sql_of[name].read_text(encoding="utf-8")))) if name in sql_of else []
        nodes[f"{kind}.wse_impact.{name}"] = {
            "name": name,
            "resource_type": kind,
            "unique_id": f"{kind}.wse_impact.{name}",
            "config": node.get("config") or {},
            "columns": {column["name"]: {"meta": column.get("meta") or {}, "config": column.get("config") or {},
                                         "data_type": column.get("data_type")}
                        for column in node.get("columns") or ()},
            "depends_on": {"nodes": [f"{declared[p][0]}.wse_impact.{p}" for p in parents if p in declared]},
        }
    return {"nodes": nodes}
