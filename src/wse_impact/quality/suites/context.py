"""What the suites are made from: the declarations, the seeds, the built warehouse's facts
(column lists, expected row counts) and the measure catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from wse_impact.project.declarations import Declarations
from wse_impact.project.macros import measure_catalog
from wse_impact.project.seeds import Seeds
from wse_impact.quality.rules import UNKNOWN_CLASS, _E

PANEL = "int_person_quarters_classed"

# Every person is of working age (15-66) in at least one study quarter.
WORKING_AGE = (15, 66)

BOUNDS_CTE = ("with bounds as (select class_scheme, class_label, cast(lower_bound as double) as lower_bound, "
              "cast(upper_bound as double) as upper_bound from wse_impact.reference.class_bounds)")

@dataclass
class Context:
    """What the suites are made from."""

    declarations: Declarations
    seeds: Seeds
    wh: Any  # rows(sql), columns(relation): the engine's query connection
    catalog: dict = field(default_factory=measure_catalog)

    @cached_property
    def quarters(self) -> list[str]:
        return [row["quarter"] for row in self.seeds.rows("quarters")]

    def in_quarters(self, column: str):
        return _E().ExpectColumnValuesToBeInSet(column=column, value_set=self.quarters)

    def measure_code_pairs(self) -> dict[str, list[tuple[str, str]]]:
        pairs: dict[str, list[tuple[str, str]]] = {}
        for row in self.seeds.rows("measure_codes"):
            pairs.setdefault(row["attribute"], []).append((row["measure_code"], row["code"]))
        return pairs

    def measure_class_pairs(self, schemes: dict[str, str]) -> list[tuple[str, str]]:
        return [(m, label) for m, s in schemes.items() for label in self.seeds.labels(s) + [UNKNOWN_CLASS]]


