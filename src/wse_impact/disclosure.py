"""Statistical disclosure control of the research outputs, declared once.

The rules and their parameters live in `DisclosureRules` (one instance, `DEFAULT_RULES`);
every output goes through `apply_disclosure`, which never looks at an output's name for
its rules, only at its `OutputSpec` (which columns are dimensions, which dimensions' `Total`
rows are sums of the others, which columns are values bound to the row's persons, which are
magnitudes with their carried contributors).

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
4. **Secondary (complementary)**: in every additive group (the rows that differ only in one
   additive dimension: its `Total` row and its parts), a group holding exactly one
   suppressed cell of a column gets a second one, the smallest published part (by
   `n_persons`), or the `Total` row when no part is left, so that no suppressed cell is the
   difference of published cells. Suppressing `n_persons` suppresses the row's values too.
5. **Across outputs** (`Link`): where one output's cell counts a subset of the persons of
   another output's cell, the subset is suppressed when both are published and differ by
   fewer than `min_persons` persons (the difference would be a small cell), or when the
   two are equal and one is suppressed. Steps 4 and 5 repeat until nothing changes.
6. **Zeros and 100 % shares** (the stated rule): an empty cell is not a row (no zero counts
   are published, so no structural-zero pattern is published either); a share of exactly
   0 or 1 in a cell of at least `min_persons` persons says something of every person in
   the cell (group disclosure) and is released with a note in the report
   (`extreme_shares="note"`), or suppressed (`extreme_shares="suppress"`).
7. **Rounding** (optional, `rounding_base`, e.g. 5): published counts are rounded to the
   nearest multiple of the base, counts that round to 0 become the base.

Every suppression is recorded (`Suppression`): output, cell (its dimension values), column,
rule and reason. The suppressed value itself is never recorded: the report leaves the
secure environment with the outputs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import pandas as pd

__all__ = [
    "DisclosureRules",
    "DEFAULT_RULES",
    "TOTAL",
    "Magnitude",
    "OutputSpec",
    "Link",
    "Suppression",
    "CheckedOutput",
    "apply_disclosure",
    "infer_spec",
]

TOTAL = "Total"
COUNT = "n_persons"
CONTRIBUTOR_PREFIX = "dc_"

ZERO_AND_EXTREME_SHARE_RULE = (
    "Empty cells are not rows: zero counts are never published. A share of exactly 0 or 1 "
    "in a cell of at least min_persons persons describes every person of the cell (group "
    "disclosure); it is released and listed under notes when extreme_shares is 'note', "
    "suppressed when it is 'suppress'."
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
        return {
            **asdict(self),
            "rules": {
                "min_persons": f"cells with fewer than {self.min_persons} distinct persons are suppressed, with the values of their row",
                "dominance": f"a magnitude is suppressed when its {self.dominance_n} largest contributors exceed {self.dominance_k:.0%} of the cell total",
                "p_percent": f"a magnitude is suppressed when total - top1 - top2 < {self.p_percent:.0%} of top1",
                "secondary": "an additive group (a 'Total' row and its parts) never holds exactly one suppressed cell per column; the smallest published part (or the Total) is suppressed as well",
                "cross_output": f"a cell counting a subset of another output's cell is suppressed when both are published and differ by 1 to {self.min_persons - 1} persons, or are equal while one is suppressed",
                "min_persons_share": f"a share is suppressed when n_persons x share, or n_persons x (1 - share), lies between 1 and {self.min_persons - 1}",
                "zeros_and_extreme_shares": ZERO_AND_EXTREME_SHARE_RULE,
                "rounding": (f"published counts rounded to the nearest {self.rounding_base} (0 becomes {self.rounding_base})"
                             if self.rounding_base else "no rounding"),
            },
        }


DEFAULT_RULES = DisclosureRules()


@dataclass(frozen=True)
class Magnitude:
    """A published mean or sum of amounts and the contributor columns it is checked with.

    `total`: the cell's sum of contributions; `tops`: the largest contributions, largest
    first (upper bounds are allowed: the check then errs on the side of suppression).
    """

    column: str
    total: str
    tops: tuple[str, ...]

    @property
    def contributor_columns(self) -> tuple[str, ...]:
        return (self.total, *self.tops)


@dataclass(frozen=True)
class OutputSpec:
    """The structure of one output table, as far as disclosure control needs it."""

    name: str
    dimensions: tuple[str, ...]
    additive: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    magnitudes: tuple[Magnitude, ...] = ()
    count: str = COUNT

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

    @property
    def status(self) -> str:
        return "withheld" if self.n_cells and self.n_suppressed >= self.n_cells else "passed"


def infer_spec(name: str, table: pd.DataFrame) -> OutputSpec:
    """A conservative spec for an output without a declared one.

    Dimensions: every non-numeric column; additive: every dimension holding a `Total` row
    (treating a non-additive total as additive can only add suppressions); values: every
    other numeric column except the contributor (`dc_`) columns.
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


def _additive_groups(state: _State):
    """(dimension, total row index, part row indexes) for every additive group."""
    table = state.table
    for dim in state.spec.additive:
        others = [d for d in state.spec.dimensions if d != dim]
        keys = table[others].astype("string").fillna("<null>") if others else None
        grouped = (keys.groupby(others if len(others) > 1 else others[0], sort=False).groups
                   if others else {(): table.index})
        for rows in grouped.values():
            rows = list(rows)
            is_total = table.loc[rows, dim].astype("string") == TOTAL
            totals = [r for r, t in zip(rows, is_total) if t]
            parts = [r for r, t in zip(rows, is_total) if not t]
            if len(totals) == 1 and parts:
                yield dim, totals[0], parts


def _secondary(state: _State) -> bool:
    changed = False
    for dim, total, parts in list(_additive_groups(state)):
        for column in state.spec.checked_columns:
            mask = state.mask[column]
            cells = [total, *parts]
            if sum(bool(mask.iat[r]) for r in cells) != 1:
                continue
            open_parts = [r for r in parts if not mask.iat[r]]
            if open_parts:
                pick = min(open_parts, key=lambda r: (state.count.iat[r], r))
            else:
                pick = total
            where = {d: _plain(state.table.at[total, d]) for d in state.spec.dimensions if d != dim}
            changed |= state.suppress(
                pick, column, "secondary",
                f"complementary: otherwise the one suppressed cell of {column} over {dim} "
                f"(at {where}) could be recomputed from its '{TOTAL}' row",
            )
    return changed


def _select(state: _State, where: dict) -> pd.Series:
    selected = pd.Series(True, index=state.table.index)
    for column, value in where.items():
        selected &= state.table[column].astype("string") == str(value)
    return selected


def _links(states: dict[str, _State], links: tuple[Link, ...], rules: DisclosureRules) -> bool:
    changed = False
    for link in links:
        if link.superset not in states or link.subset not in states:
            continue
        sup, sub = states[link.superset], states[link.subset]
        sup_rows = sup.table.index[_select(sup, link.superset_where)]
        sub_rows = sub.table.index[_select(sub, link.subset_where)]
        for i in sup_rows:
            key = {c: str(sup.table.at[i, c]) for c in link.on}
            for j in sub_rows:
                if any(str(sub.table.at[j, c]) != v for c, v in key.items()):
                    continue
                a, b = sup.count.iat[i], sub.count.iat[j]
                a_hidden, b_hidden = bool(sup.mask[sup.spec.count].iat[i]), bool(sub.mask[sub.spec.count].iat[j])
                if pd.isna(a) or pd.isna(b):
                    continue
                difference = a - b
                if not a_hidden and not b_hidden and 0 < difference < rules.min_persons:
                    changed |= sub.suppress(j, sub.spec.count, "cross_output",
                                            f"differs from {link.superset} at {key or 'all'} by fewer than {rules.min_persons} persons ({link.name})")
                elif difference == 0 and a_hidden and not b_hidden:
                    changed |= sub.suppress(j, sub.spec.count, "cross_output",
                                            f"equals a suppressed cell of {link.superset} ({link.name})")
                elif difference == 0 and b_hidden and not a_hidden:
                    changed |= sup.suppress(i, sup.spec.count, "cross_output",
                                            f"equals a suppressed cell of {link.subset} ({link.name})")
    return changed


def _round(value: float, base: int) -> int:
    return max(base, int(base * math.floor(value / base + 0.5)))


def apply_disclosure(
    outputs: dict[str, pd.DataFrame],
    specs: dict[str, OutputSpec] | None = None,
    links: tuple[Link, ...] = (),
    rules: DisclosureRules = DEFAULT_RULES,
) -> dict[str, CheckedOutput]:
    """Check every output of one export together; return what may be published, and why not."""
    specs = dict(specs or {})
    states = {name: _State(specs.get(name) or infer_spec(name, table), table) for name, table in outputs.items()}
    for state in states.values():
        _primary(state, rules)
    for _ in range(1000):
        changed = _links(states, links, rules)
        for state in states.values():
            changed |= _secondary(state)
        if not changed:
            break
    else:  # pragma: no cover - every pass suppresses at least one more cell, so it ends
        raise RuntimeError("secondary suppression did not converge")

    checked = {}
    for name, state in states.items():
        spec = state.spec
        table = state.table.drop(columns=list(spec.contributor_columns))
        table = table.drop(columns=[c for c in table.columns if c.startswith(CONTRIBUTOR_PREFIX)])
        table[spec.count] = state.count.astype("Int64")
        for column, mask in state.mask.items():
            if column != spec.count:
                table[column] = pd.to_numeric(table[column], errors="coerce").astype("Float64")
            table.loc[mask, column] = pd.NA
        if rules.rounding_base:
            published = ~state.mask[spec.count]
            table.loc[published, spec.count] = [
                _round(v, rules.rounding_base) for v in table.loc[published, spec.count]
            ]
        n_cells = len(table) * len(spec.checked_columns)
        n_suppressed = int(sum(m.sum() for m in state.mask.values()))
        checked[name] = CheckedOutput(spec, table, state.log, state.notes, n_cells, n_suppressed)
    return checked
