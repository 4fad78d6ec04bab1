"""Statistical disclosure control of the research outputs, declared once.

The rules and their parameters live in `DisclosureRules` (one instance, `DEFAULT_RULES`);
every output goes through `protect`, which never looks at an output's name for its rules,
only at its `OutputSpec`: which columns are dimensions, which dimensions' `Total` rows are sums of the others (`additive`) or unions of
them (`union`), over which dimensions the count is the same (`constant_over`), which columns
are shares bound to the row's persons (`values`), which are magnitudes with their carried
contributors. The specs are declared next to the outputs, in each output model's yml under
`config.meta.disclosure` (`wse_impact.project.output_specs`).

Rules, in the order applied:

1. **Primary, threshold** (`min_persons`, default 10): a cell whose `n_persons` (distinct
   persons, not rows) is below the threshold, or missing, is suppressed together with every
   value of its row (shares and means describe the same persons).
2. **Primary, dominance** (`dominance_n`, `dominance_k`; default (2, 85 %)): a mean or sum of
   amounts is suppressed when its `dominance_n` largest contributors make up more than
   `dominance_k` of the cell total. Needs the contributor columns the output carries
   (`Magnitude.total`, `Magnitude.tops`); they are used here and never written out.
3. **Primary, p %** (`p_percent`, default 10 %): the same magnitude is suppressed when the
   second largest contributor could estimate the largest within p %: total - top1 - top2
   < p x top1.
3b. **Primary, shares** (`share_*` columns): a share is suppressed when the persons it
   implies with the attribute (n_persons x share), or without it, number 1 to
   `min_persons` - 1: a share of 1 in 20 is a cell of one person.
4. **Secondary (complementary), by optimisation** (`wse_impact.release.protection`): every count
   below the threshold, and every difference between linked outputs' cells (a subset and its
   superset) of 1 to `min_persons` - 1 persons, must keep a protection interval in what an
   attacker can derive from all released tables together (and from earlier releases of the
   same counts): its largest possible value at least `min_persons`, and the interval at least
   `min_persons` wide. The complementary cells are chosen jointly over the linked outputs by a
   mixed-integer program (Fischetti-Salazar's model, HiGHS) at least cost: fewest cells, then
   fewest persons. Suppressing `n_persons` suppresses the row's values too.
5. **Audit**: the attacker's intervals are computed again, by integer programs, from the
   released values alone; a release whose audit fails is refused, naming the cells.
6. **Zeros and 100 % shares** (the stated rule): an empty cell is not a row (no zero counts
   are published, so no structural-zero pattern is published either); a share of exactly
   0 or 1 in a cell of at least `min_persons` persons says something of every person in
   the cell (group disclosure) and is released with a note in the custodian's report
   (`extreme_shares="note"`), or suppressed (`extreme_shares="suppress"`).
7. **Rounding** (optional, `rounding_base`, e.g. 5): published counts are rounded to the
   nearest multiple of the base, counts that round to 0 become the base; shares and means
   are then published on a grid (`ratio_step`) coarse enough that every count of the
   rounding interval stays consistent with them: a share published with 6 significant
   digits next to a rounded count gives the count back.

Every suppression is recorded (`Suppression`): output, cell (its dimension values), column,
rule and reason, for the custodian's report on the restricted side; the released report
states only the rules, their parameters, the method and the audit's figures.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from wse_impact.release import protection

__all__ = [
    "DisclosureRules",
    "DEFAULT_RULES",
    "TOTAL",
    "Magnitude",
    "OutputSpec",
    "Link",
    "Suppression",
    "CheckedOutput",
    "Release",
    "protect",
    "audit_release",
    "infer_spec",
    "ratio_step",
    "rounding_interval",
    "cell_key",
]

TOTAL = "Total"
COUNT = "n_persons"
CONTRIBUTOR_PREFIX = "dc_"

ZERO_AND_EXTREME_SHARE_RULE = (
    "Empty cells are not rows: zero counts are never published. A share of exactly 0 or 1 "
    "in a cell of at least min_persons persons describes every person of the cell (group "
    "disclosure); it is released when extreme_shares is 'note' (and noted in the custodian's "
    "report), suppressed when it is 'suppress'."
)

PROTECTION_METHOD = (
    "Optimal cell suppression after Fischetti and Salazar (the model of tau-ARGUS's and "
    "sdcTable's 'optimal' methods), solved by HiGHS (scipy.optimize.milp): for every count "
    "below the threshold, and every difference of 1 to threshold-1 persons between a linked "
    "subset and superset, two deviation vectors of the whole set of released tables "
    "(additive totals, unions over non-additive dimensions (Total <= sum of parts), links between "
    "outputs, counts constant over a dimension, rows of at least 1 person, rounding "
    "intervals, counts published by earlier releases) must move it up to at least the "
    "threshold and give an interval at least the threshold wide; the complementary cells "
    "are chosen jointly at least cost: fewest cells suppressed, then fewest persons. "
    "Audit: the attacker's smallest and largest value of each such count or difference, "
    "by integer programs over the released values only."
)


@dataclass(frozen=True)
class DisclosureRules:
    """The disclosure rules' parameters: the one place they are declared."""

    min_persons: int = 10
    dominance_n: int = 2
    dominance_k: float = 0.85
    p_percent: float = 0.10
    rounding_base: int | None = None
    extreme_shares: str = "note"
    # seconds HiGHS may spend on one joint suppression program (then: best pattern found)
    mip_time_limit: float = 60.0

    def __post_init__(self) -> None:
        if self.min_persons < 1:
            raise ValueError("min_persons must be at least 1")
        if not 0 < self.dominance_k <= 1 or not 0 <= self.p_percent < 1:
            raise ValueError("dominance_k must lie in (0, 1] and p_percent in [0, 1)")
        if self.dominance_n not in (1, 2):
            raise ValueError("dominance_n must be 1 or 2 (outputs carry the two largest contributors)")
        if self.rounding_base is not None and self.rounding_base < 2:
            raise ValueError("rounding_base must be at least 2 (or None: no rounding)")
        if self.extreme_shares not in ("note", "suppress"):
            raise ValueError("extreme_shares must be 'note' or 'suppress'")

    def describe(self) -> dict:
        """The parameters and the stated rules, for the checking report."""
        t = self.min_persons
        return {
            **asdict(self),
            "rules": {
                "min_persons": f"cells with fewer than {t} distinct persons are suppressed, with the values of their row",
                "dominance": f"a magnitude is suppressed when its {self.dominance_n} largest contributors exceed {self.dominance_k:.0%} of the cell total",
                "p_percent": f"a magnitude is suppressed when total - top1 - top2 < {self.p_percent:.0%} of top1",
                "min_persons_share": f"a share is suppressed when n_persons x share, or n_persons x (1 - share), lies between 1 and {t - 1}",
                "secondary": (f"complementary cells chosen by optimisation so that every count below {t}, and every difference "
                              f"of 1 to {t - 1} persons between a linked subset and superset, can take, given everything "
                              f"released (now and before), a value of at least {t} and an interval at least {t} wide"),
                "audit": "the same intervals computed again from the released values only; the release is refused if any falls short",
                "cross_output": "cells of linked outputs (a subset of another output's persons) are protected together with it",
                "differencing": (f"a release is refused when a cell's true count differs from an earlier release's by 1 to "
                                 f"{t - 1} persons, unless the cell was suppressed in both, or when a share published in "
                                 f"both stands for persons with, or without, the attribute who differ by 1 to {t - 1}"),
                "zeros_and_extreme_shares": ZERO_AND_EXTREME_SHARE_RULE,
                "rounding": (f"published counts rounded to the nearest {self.rounding_base} (0 becomes {self.rounding_base}); "
                             "shares and means on a grid at least as coarse as their unit divided by the smallest count "
                             "the rounded count allows, so that every such count stays possible"
                             if self.rounding_base else "no rounding"),
            },
            "method": PROTECTION_METHOD,
        }


DEFAULT_RULES = DisclosureRules()


@dataclass(frozen=True)
class Magnitude:
    """A published mean or sum of amounts and the contributor columns it is checked with.

    `total`: the cell's sum of contributions; `tops`: the largest contributions, largest
    first (upper bounds are allowed: the check then errs on the side of suppression);
    `unit`: the granularity of one person's contribution (0.5 for class midpoints of days),
    for the rounding grid.
    """

    column: str
    total: str
    tops: tuple[str, ...]
    unit: float = 1.0

    @property
    def contributor_columns(self) -> tuple[str, ...]:
        return (self.total, *self.tops)


@dataclass(frozen=True)
class OutputSpec:
    """The structure of one output table, as far as disclosure control needs it.

    `additive`: dimensions whose `Total` row is the sum of the others; `union`: dimensions
    whose `Total` row counts persons each in at least one of the others (a person may be in
    several: Total <= sum of parts; where each part is also a subset of the Total, declare
    that as a link); `constant_over`: dimensions over which the count is the same (the same
    persons at every relative quarter); `values`: shares of the row's persons.
    """

    name: str
    dimensions: tuple[str, ...]
    additive: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    magnitudes: tuple[Magnitude, ...] = ()
    count: str = COUNT
    union: tuple[str, ...] = ()
    constant_over: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [d for d in (*self.additive, *self.union, *self.constant_over) if d not in self.dimensions]
        if unknown:
            raise ValueError(f"output {self.name}: {unknown} are not among its dimensions {self.dimensions}")
        if set(self.additive) & set(self.union):
            raise ValueError(f"output {self.name}: a dimension is either additive or a union, not both")
        if self.additive and (self.values or self.magnitudes):
            # the audit models counts only: a share or mean summed over an additive
            # dimension would be a relation it does not see
            raise ValueError(f"output {self.name}: shares or magnitudes in an output with additive dimensions "
                             "are not covered by the protection audit; publish them in an output without")

    @property
    def checked_columns(self) -> tuple[str, ...]:
        return (self.count, *self.values, *(m.column for m in self.magnitudes))

    @property
    def contributor_columns(self) -> tuple[str, ...]:
        return tuple(c for m in self.magnitudes for c in m.contributor_columns)


@dataclass(frozen=True)
class Link:
    """Persons of `subset`'s cells are a subset of those of `superset`'s cell, per `on` key.

    `*_where` select the rows on each side (column -> value); `on` holds the columns both
    sides share and are matched on (e.g. the measure).
    """

    name: str
    superset: str
    superset_where: dict
    subset: str
    subset_where: dict
    on: tuple[str, ...] = ()


@dataclass
class Suppression:
    output: str
    cell: dict
    column: str
    rule: str
    reason: str


@dataclass
class CheckedOutput:
    spec: OutputSpec
    table: pd.DataFrame  # published: suppressed cells empty, contributor columns dropped
    suppressions: list[Suppression] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    n_cells: int = 0
    n_suppressed: int = 0
    n_suppressed_counts: int = 0

    @property
    def status(self) -> str:
        return "withheld" if self.n_cells and self.n_suppressed >= self.n_cells else "passed"


def infer_spec(name: str, table: pd.DataFrame) -> OutputSpec:
    """A conservative spec for an output without a declared one.

    Dimensions: every non-numeric column; additive: every dimension holding a `Total` row
    (treating a non-additive total as additive can only add suppressions); values: every
    other numeric column except the contributor (`dc_`) columns. Values in an output with a
    `Total` row are not covered by the audit: such an output must declare its spec.
    """
    dims, values = [], []
    for column in table.columns:
        if column == COUNT or column.startswith(CONTRIBUTOR_PREFIX):
            continue
        if pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(table[column]):
            values.append(column)
        else:
            dims.append(column)
    additive = [d for d in dims if (table[d].astype("string") == TOTAL).any()]
    return OutputSpec(name=name, dimensions=tuple(dims), additive=tuple(additive), values=tuple(values))


def cell_key(spec: OutputSpec, row) -> str:
    """A cell's dimension values as one string (the release log's key)."""
    return json.dumps([None if pd.isna(row[d]) else str(row[d]) for d in spec.dimensions])


class _State:
    """One output under check: its data, a suppression mask per checked column, the log."""

    def __init__(self, spec: OutputSpec, table: pd.DataFrame):
        missing = [c for c in (*spec.dimensions, *spec.checked_columns, *spec.contributor_columns)
                   if c not in table.columns]
        if missing:
            raise ValueError(f"output {spec.name}: columns {missing} of its spec are missing")
        self.spec = spec
        self.table = table.reset_index(drop=True)
        self.mask = {c: pd.Series(False, index=self.table.index) for c in spec.checked_columns}
        self.log: list[Suppression] = []
        self.notes: list[dict] = []
        self.count = pd.to_numeric(self.table[spec.count], errors="coerce")
        self.keys = [cell_key(spec, row) for _, row in self.table[list(spec.dimensions)].iterrows()]

    def cell(self, i: int) -> dict:
        return {d: _plain(self.table.at[i, d]) for d in self.spec.dimensions}

    def suppress(self, i: int, column: str, rule: str, reason: str) -> bool:
        if self.mask[column].iat[i]:
            return False
        self.mask[column].iat[i] = True
        self.log.append(Suppression(self.spec.name, self.cell(i), column, rule, reason))
        if column == self.spec.count:
            for other in self.spec.checked_columns[1:]:
                if not self.mask[other].iat[i]:
                    self.mask[other].iat[i] = True
                    self.log.append(Suppression(self.spec.name, self.cell(i), other, rule,
                                                f"{reason}; suppressed with the row's {self.spec.count}"))
        return True


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _primary(state: _State, rules: DisclosureRules) -> None:
    spec = state.spec
    for i in state.table.index:
        n = state.count.iat[i]
        if pd.isna(n) or n < rules.min_persons:
            state.suppress(i, spec.count, "min_persons",
                           f"fewer than {rules.min_persons} distinct persons in the cell")
    for magnitude in spec.magnitudes:
        total = pd.to_numeric(state.table[magnitude.total], errors="coerce")
        tops = [pd.to_numeric(state.table[c], errors="coerce").fillna(0) for c in magnitude.tops]
        top_n = sum(tops[: rules.dominance_n])
        top1 = tops[0]
        top2 = tops[1] if len(tops) > 1 else 0 * top1
        for i in state.table.index:
            if state.mask[magnitude.column].iat[i] or pd.isna(state.table.at[i, magnitude.column]):
                continue
            t = total.iat[i]
            if pd.isna(t):
                state.suppress(i, magnitude.column, "dominance", "contributors unknown: cannot be checked")
            elif t > 0 and top_n.iat[i] > rules.dominance_k * t:
                state.suppress(i, magnitude.column, "dominance",
                               f"the {rules.dominance_n} largest contributors exceed {rules.dominance_k:.0%} of the cell total")
            elif t > 0 and (t - top1.iat[i] - top2.iat[i]) < rules.p_percent * top1.iat[i]:
                state.suppress(i, magnitude.column, "p_percent",
                               f"the second largest contributor could estimate the largest within {rules.p_percent:.0%}")
    for column in spec.values:
        if not column.startswith("share_"):
            continue
        values = pd.to_numeric(state.table[column], errors="coerce")
        for i in state.table.index:
            v = values.iat[i]
            if state.mask[column].iat[i] or pd.isna(v):
                continue
            implied = round(v * state.count.iat[i])
            if 0 < implied < rules.min_persons or 0 < state.count.iat[i] - implied < rules.min_persons:
                state.suppress(i, column, "min_persons_share",
                               f"the share implies fewer than {rules.min_persons} persons with, or without, the attribute")
                continue
            if v not in (0, 1):
                continue
            if rules.extreme_shares == "suppress":
                state.suppress(i, column, "extreme_share", f"a share of {v:.0%} describes every person in the cell")
            else:
                state.notes.append({"cell": state.cell(i), "column": column, "rule": "extreme_share",
                                    "note": f"share of {v:.0%} released: it describes a group of at least {rules.min_persons} persons, not one"})


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


def rounding_interval(value: float, base: int, threshold: int = 1) -> tuple[float, float]:
    """The integers a published rounded count can stand for (published counts are >= threshold)."""
    if value <= base:
        lo, hi = 1, math.ceil(1.5 * base) - 1
    else:
        lo, hi = math.ceil(value - base / 2), math.ceil(value + base / 2) - 1
    return float(max(lo, threshold)), float(hi)


def ratio_step(unit: float, smallest_count: float) -> float:
    """The coarsest-needed grid for a share or mean next to a rounded count: the smallest of
    1, 2, 5 x 10^k that is at least unit / smallest_count, so that for every count n the
    rounded count allows, some total (a multiple of `unit`) gives the published value."""
    need = unit / max(smallest_count, 1.0)
    exponent = math.floor(math.log10(need))
    for mantissa in (1, 2, 5, 10):
        step = mantissa * 10.0 ** exponent
        if step >= need * (1 - 1e-12):
            return step
    return 10.0 ** (exponent + 1)  # pragma: no cover


def _round(value: float, base: int) -> int:
    return max(base, int(base * math.floor(value / base + 0.5)))


@dataclass
class Release:
    """One export's outputs after disclosure control, with what the custodian needs."""

    outputs: dict[str, CheckedOutput]
    rules: DisclosureRules
    system: protection.CountSystem
    offsets: dict[str, int]
    cell_class: np.ndarray
    keys: dict[str, list[str]]
    true_counts: dict[str, list[float]]
    known: dict[int, float]
    selection: protection.Selection
    suppressed_before: dict[str, int] = field(default_factory=dict)  # counts below the threshold
    _audit: protection.AuditResult | None = field(default=None, repr=False)

    def class_of(self, name: str, row: int) -> int:
        return int(self.cell_class[self.offsets[name] + row])

    @property
    def audit(self) -> protection.AuditResult:
        """The audit of the checked tables, run once when first asked for (the export runs
        it on exactly the tables it writes and records that one here)."""
        if self._audit is None:
            self._audit = audit_release(self, {name: checked.table for name, checked in self.outputs.items()})
        return self._audit

    @audit.setter
    def audit(self, result: protection.AuditResult) -> None:
        self._audit = result


def protect(
    outputs: dict[str, pd.DataFrame],
    specs: dict[str, OutputSpec] | None = None,
    links: tuple[Link, ...] = (),
    rules: DisclosureRules = DEFAULT_RULES,
    earlier: dict[str, dict[str, float]] | None = None,
) -> Release:
    """Check every output of one export together; return what may be published, and why not.

    `earlier[output][cell key]` = a count an earlier release published whose true value is
    the same now: the attacker knows it, so it cannot serve as a complement and constrains
    the audit.
    """
    specs = dict(specs or {})
    states = {name: _State(specs.get(name) or infer_spec(name, table), table) for name, table in outputs.items()}
    for state in states.values():
        _primary(state, rules)
    system, offsets, cell_class = _build_system(states, links)
    t = rules.min_persons

    known = {}
    for name, cells in (earlier or {}).items():
        if name not in states:
            continue
        for i, key in enumerate(states[name].keys):
            if key in cells:
                known[int(cell_class[offsets[name] + i])] = float(cells[key])
    forced = {int(cell_class[offsets[name] + i]) for name, state in states.items()
              for i in state.table.index if state.mask[state.spec.count].iat[i]}
    sensitive = protection.sensitive_expressions(system, t)
    slack = {}
    if rules.rounding_base:
        for k in range(system.n):
            lo, hi = rounding_interval(_round(system.true[k], rules.rounding_base), rules.rounding_base, t)
            slack[k] = (system.true[k] - lo, hi - system.true[k])
    selection = protection.choose_complements(system, sensitive, forced, set(known), t, slack,
                                              rules.mip_time_limit)
    # an expression nothing suppressible can protect (e.g. pinned by an earlier release) is
    # left as it is: the audit below names it, and the export refuses

    for name, state in states.items():
        for i in state.table.index:
            k = int(cell_class[offsets[name] + i])
            if k in selection.suppressed and not state.mask[state.spec.count].iat[i]:
                protected = selection.protects.get(k, [])
                named = "; ".join(protected[:3]) + (f"; and {len(protected) - 3} more" if len(protected) > 3 else "")
                state.suppress(i, state.spec.count, "secondary",
                               "complementary: chosen by the protection program (least cost) to give a protection "
                               f"interval (upper bound >= {t}, width >= {t}) to: {named or 'the counts below the threshold'}")
    checked = {}
    for name, state in states.items():
        checked[name] = _published(state, rules)
    release = Release(
        outputs=checked, rules=rules, system=system, offsets=offsets, cell_class=cell_class,
        keys={name: state.keys for name, state in states.items()},
        true_counts={name: [float(v) for v in state.count.fillna(0)] for name, state in states.items()},
        known=known, selection=selection,
        suppressed_before={name: int((state.count.fillna(0) < t).sum()) for name, state in states.items()},
    )
    return release


def _published(state: _State, rules: DisclosureRules) -> CheckedOutput:
    spec = state.spec
    table = state.table.drop(columns=list(spec.contributor_columns))
    table = table.drop(columns=[c for c in table.columns if c.startswith(CONTRIBUTOR_PREFIX)])
    table[spec.count] = state.count.astype("Int64")
    for column, mask in state.mask.items():
        if column != spec.count:
            table[column] = pd.to_numeric(table[column], errors="coerce").astype("Float64")
        table.loc[mask, column] = pd.NA
    if rules.rounding_base:
        base = rules.rounding_base
        published = ~state.mask[spec.count]
        table.loc[published, spec.count] = [_round(v, base) for v in table.loc[published, spec.count]]
        smallest = pd.Series(np.nan, index=table.index)
        smallest[published] = [rounding_interval(v, base, rules.min_persons)[0]
                               for v in table.loc[published, spec.count]]
        units = {c: 1.0 for c in spec.values} | {m.column: m.unit for m in spec.magnitudes}
        for column, unit in units.items():
            values = table[column]
            out = []
            for i in table.index:
                v = values.at[i]
                if pd.isna(v) or pd.isna(smallest.at[i]):
                    out.append(pd.NA)
                    continue
                step = ratio_step(unit, smallest.at[i])
                decimals = max(0, -math.floor(math.log10(step)) + 1)
                out.append(round(round(float(v) / step) * step, decimals))
            table[column] = pd.array(out, dtype="Float64")
    n_cells = len(table) * len(spec.checked_columns)
    n_suppressed = int(sum(m.sum() for m in state.mask.values()))
    return CheckedOutput(spec, table, state.log, state.notes, n_cells, n_suppressed,
                         n_suppressed_counts=int(state.mask[spec.count].sum()))


def audit_release(release: Release, published: dict[str, pd.DataFrame]) -> protection.AuditResult:
    """The gate's audit on exactly the tables that would be written (`published`, indexed
    by the checked tables' rows): every count below the threshold, every small difference
    between linked cells and every small union of suppressed parts keeps its interval."""
    rules, system = release.rules, release.system
    t = rules.min_persons
    known: dict[int, tuple[float, float]] = {k: (v, v) for k, v in release.known.items()}
    problems = []
    for name, table in published.items():
        spec = release.outputs[name].spec
        for i, value in table[spec.count].items():
            if pd.isna(value):
                continue
            k = release.class_of(name, int(i))
            if rules.rounding_base:
                interval = rounding_interval(float(value), rules.rounding_base, t)
            else:
                interval = (float(value), float(value))
            if release.true_counts[name][int(i)] < t:
                problems.append(f"{name} {release.keys[name][int(i)]}: a count below {t} is published")
            if k in known:
                lo, hi = known[k]
                interval = (max(lo, interval[0]), min(hi, interval[1]))
            known[k] = interval
    suppressed = {k for k in range(system.n) if k not in known}
    sensitive = protection.sensitive_expressions(system, t) + _group_sums(system, suppressed, t)
    result = protection.audit(system, known, sensitive, t)
    result.problems[:0] = problems
    return result

