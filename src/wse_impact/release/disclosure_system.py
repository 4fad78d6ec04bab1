"""The attacker's system of a release's outputs (see `wse_impact.release.protection`): count
classes (cells declared to count the same persons are one class), their true values and
labels, and the relations among them that the outputs' specs declare (additive and union
dimensions, links between outputs); and the sums of suppressed parts an additive group
would reveal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from wse_impact.release import protection
from wse_impact.release.count_system import TOTAL

if TYPE_CHECKING:
    from wse_impact.release.disclosure import _State
    from wse_impact.release.disclosure_rules import Link


def _rows_by_other_dimensions(state: _State, dim: str) -> dict[tuple, list[int]]:
    """The table's rows grouped by every dimension but `dim`."""
    columns = [state.table[d].astype("string").fillna("<null>").tolist()
               for d in state.spec.dimensions if d != dim]
    grouped: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(*columns) if columns else [()] * len(state.table)):
        grouped.setdefault(key, []).append(i)
    return grouped


def _groups(state: _State, dims: tuple[str, ...]):
    """(dimension, total row, part rows) for every group of rows that differ only in `dim`."""
    for dim in dims:
        is_total = (state.table[dim].astype("string") == TOTAL).fillna(False).tolist()
        for rows in _rows_by_other_dimensions(state, dim).values():
            totals = [r for r in rows if is_total[r]]
            parts = [r for r in rows if not is_total[r]]
            if len(totals) == 1 and parts:
                yield dim, totals[0], parts


def _select(state: _State, where: dict) -> pd.Series:
    selected = pd.Series(True, index=state.table.index)
    for column, value in where.items():
        selected &= state.table[column].astype("string") == str(value)
    return selected


def _build_system(states: dict[str, _State], links: tuple[Link, ...]):
    """The attacker's relations over count classes (see `wse_impact.release.protection`)."""
    offsets, cells, cell_class = _count_classes(states)
    labels, true, n_cells = _class_values(states, cells, cell_class)
    relations = _Relations(offsets, cell_class)
    relations.add_dimensions(states)
    relations.add_links(states, links)
    system = protection.CountSystem(labels, true, n_cells, relations.eq, relations.ineq,
                                    list(dict.fromkeys(relations.pairs)), relations.groups)
    return system, offsets, cell_class


def _count_classes(states: dict[str, _State]) -> tuple[dict[str, int], list[tuple[str, int]], np.ndarray]:
    """Every cell (output, row) numbered from its output's offset, and its count class: the
    cells over which a count is declared constant (`constant_over`) are one class."""
    offsets, cells = {}, []
    for name, state in states.items():
        offsets[name] = len(cells)
        cells.extend((name, i) for i in range(len(state.table)))
    same_count = protection.DisjointSets()
    for name, state in states.items():
        for dim in state.spec.constant_over:
            for rows in _rows_by_other_dimensions(state, dim).values():
                same_count.join(offsets[name] + r for r in rows)
    roots = sorted({same_count.find(c) for c in range(len(cells))})
    class_of_root = {r: k for k, r in enumerate(roots)}
    cell_class = np.array([class_of_root[same_count.find(c)] for c in range(len(cells))])
    return offsets, cells, cell_class


def _class_values(states: dict[str, _State], cells: list[tuple[str, int]],
                  cell_class: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per count class: a readable label, the true count, the number of cells."""
    n = int(cell_class.max()) + 1 if len(cell_class) else 0
    true = np.zeros(n)
    n_cells = np.zeros(n)
    labels = [""] * n
    for c, (name, i) in enumerate(cells):
        k = cell_class[c]
        state = states[name]
        value = state.count.iat[i]
        value = 1.0 if pd.isna(value) else float(value)
        if n_cells[k] and true[k] != value:
            raise ValueError(f"output {name}: the count of {state.cell(i)} differs from the other cells over "
                             f"{state.spec.constant_over}, declared constant")
        true[k] = value
        if not n_cells[k]:
            over = state.spec.constant_over
            cell = state.cell(i)
            if over:
                cell = {d: v for d, v in cell.items() if d not in over}
                labels[k] = f"{name} {cell} (every {', '.join(over)})"
            else:
                labels[k] = f"{name} {cell}"
        n_cells[k] += 1
    return labels, true, n_cells


class _Relations:
    """The relations among count classes, each written once: equalities (additive
    dimensions), inequalities (union dimensions, links), additive groups, link pairs."""

    def __init__(self, offsets: dict[str, int], cell_class: np.ndarray):
        self.offsets, self.cell_class = offsets, cell_class
        self.eq, self.ineq, self.groups, self.pairs = [], [], [], []
        self.seen = set()

    def class_of(self, name: str, i: int) -> int:
        """The count class of row i of output `name`."""
        return int(self.cell_class[self.offsets[name] + i])

    def add_once(self, rows: list, row: dict[int, float]) -> None:
        """Add `row` (zero coefficients dropped) to `rows` unless the same relation is there."""
        row = {k: v for k, v in row.items() if v != 0}
        sig = tuple(sorted(row.items()))
        if row and sig not in self.seen:
            self.seen.add(sig)
            rows.append(row)

    def total_minus_parts(self, name: str, total: int, parts) -> dict[int, float]:
        row = {self.class_of(name, total): 1.0}
        for p in parts:
            row[self.class_of(name, p)] = row.get(self.class_of(name, p), 0.0) - 1.0
        return row

    def add_dimensions(self, states: dict[str, _State]) -> None:
        for name, state in states.items():
            for dim, total, parts in _groups(state, state.spec.additive):
                self.add_once(self.eq, self.total_minus_parts(name, total, parts))
                self.groups.append((self.class_of(name, total),
                                    tuple(dict.fromkeys(self.class_of(name, p) for p in parts))))
            for dim, total, parts in _groups(state, state.spec.union):
                # every person of the Total is in at least one part: Total <= sum of the parts.
                # (A part <= Total holds only where both describe a person at the same moment:
                # declare it as a link where it does.)
                self.add_once(self.ineq, self.total_minus_parts(name, total, parts))

    def add_links(self, states: dict[str, _State], links: tuple[Link, ...]) -> None:
        """A linked subset's cell <= the superset's cell of the same key."""
        for link in links:
            if link.superset not in states or link.subset not in states:
                continue
            sup, sub = states[link.superset], states[link.subset]
            sup_rows = sup.table.index[_select(sup, link.superset_where)]
            sub_rows = sub.table.index[_select(sub, link.subset_where)]
            sup_by_key = {}
            for i in sup_rows:
                sup_by_key.setdefault(tuple(str(sup.table.at[i, c]) for c in link.on), []).append(i)
            for j in sub_rows:
                for i in sup_by_key.get(tuple(str(sub.table.at[j, c]) for c in link.on), ()):
                    a, b = self.class_of(link.superset, i), self.class_of(link.subset, j)
                    if a != b:
                        self.add_once(self.ineq, {b: 1.0, a: -1.0})
                        self.pairs.append((b, a, link.name))


def _group_sums(system: protection.CountSystem, suppressed: set[int], threshold: int) -> list:
    """Sets of suppressed parts of an additive group whose union is small (1..threshold-1)."""
    found = []
    for total, parts in system.groups:
        hidden = [p for p in parts if p in suppressed]
        value = sum(system.true[p] for p in hidden)
        if len(hidden) >= 2 and 0 < value < threshold:
            found.append(protection.Sensitive(
                f"sum of the suppressed parts of {system.labels[total]}", tuple((p, 1.0) for p in hidden),
                float(value), float(len(hidden))))
    return found
