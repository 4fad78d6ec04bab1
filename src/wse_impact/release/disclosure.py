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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wse_impact.release import protection
from wse_impact.release.count_system import TOTAL
from wse_impact.release.disclosure_rules import (  # noqa: F401 - the declarations, read as disclosure.X too
    COUNT, CONTRIBUTOR_PREFIX, DEFAULT_RULES, PROTECTION_METHOD, ZERO_AND_EXTREME_SHARE_RULE, DisclosureRules, Link,
    Magnitude, OutputSpec,
)
from wse_impact.release.disclosure_system import _build_system, _group_sums

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

