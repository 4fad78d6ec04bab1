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
reader the Great Expectations suites use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
        """From dbt's manifest (`target/manifest.json`, or `manifest_path`) and the seeds."""
        return cls.from_declarations(Declarations.load(manifest_path), Path(project_dir or PROJECT_DIR))

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
