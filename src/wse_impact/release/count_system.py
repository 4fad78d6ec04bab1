"""The attacker's system of linear relations over count classes (`CountSystem`), the
expressions that must stay vague in it (`Sensitive`), and the union-find the release's parts
are found with: what `protection` chooses complements and audits over (see its doc)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

# the label of a total row (the sum, or the union, of its parts)
TOTAL = "Total"

# the attacker's upper bound for a count nothing else bounds (any value is possible)
ATTACKER_BIG = 1e9
_TOL = 1e-6


class DisjointSets:
    """Union-find (path halving) over hashable items: which items end up connected."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, item):
        parent = self.parent
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(self, items) -> None:
        """Put all `items` in the set of the first."""
        items = list(items)
        for item in items[1:]:
            self.parent[self.find(item)] = self.find(items[0])


@dataclass
class CountSystem:
    """The count classes of a set of outputs and the relations the attacker knows."""

    labels: list[str]                     # a readable name per class (output and cell)
    true: np.ndarray                      # the true count per class
    n_cells: np.ndarray                   # cells per class
    eq: list[dict[int, float]] = field(default_factory=list)     # sum coef z = 0
    ineq: list[dict[int, float]] = field(default_factory=list)   # sum coef z <= 0
    links: list[tuple[int, int, str]] = field(default_factory=list)  # (subset, superset, name)
    groups: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # additive: total, parts

    @property
    def n(self) -> int:
        return len(self.labels)

    def _adjacency(self):
        touching = defaultdict(list)  # class -> [(kind, index)]
        for kind, rows in (("eq", self.eq), ("ineq", self.ineq)):
            for r, row in enumerate(rows):
                for k in row:
                    touching[k].append((kind, r))
        return touching


@dataclass(frozen=True)
class Sensitive:
    """A linear expression of count classes that must not be narrowed: true value `true`,
    smallest possible value `floor` (1 for a cell, 0 for a difference)."""

    label: str
    coefs: tuple[tuple[int, float], ...]
    true: float
    floor: float

    def upper_level(self, threshold: int) -> float:
        return threshold - self.true + self.floor

    def lower_level(self) -> float:
        return self.true - self.floor


def sensitive_expressions(system: CountSystem, threshold: int) -> list[Sensitive]:
    found = [Sensitive(system.labels[k], ((k, 1.0),), float(system.true[k]), 1.0)
             for k in range(system.n) if system.true[k] < threshold]
    seen = set()
    for sub, sup, name in system.links:
        diff = system.true[sup] - system.true[sub]
        if 0 < diff < threshold and (sub, sup) not in seen:
            seen.add((sub, sup))
            found.append(Sensitive(f"difference {system.labels[sup]} minus {system.labels[sub]} ({name})",
                                   ((sup, 1.0), (sub, -1.0)), float(diff), 0.0))
    return found
