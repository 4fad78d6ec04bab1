"""Secondary cell suppression chosen, and audited, by integer programming (HiGHS via scipy).

The attacker of issue 11 holds every released table and the documentation of how they are
made. What such an attacker knows about the true counts is written here once, as a system of
linear relations over *count classes* (`CountSystem`):

- every count cell of every output is a variable `z`; cells that the documentation says are
  equal (`constant_over`: the employment window counts the same persons at every relative
  quarter) are one class, one variable;
- an additive dimension: the `Total` row is the sum of its parts (equality);
- a union dimension (`measure_code`: a person may use several measures): Total <= sum of the
  parts (every person of the Total is in at least one part). The other union bound, part <=
  Total, holds only where the part's persons are a subset of the Total's (the profile's
  all-Total rows: a measure's beneficiaries among all beneficiaries), not where a person is
  described at the measure's own first quarter (age class at that measure may differ from
  age class at the earliest measure); it is declared as a link where it holds;
- a link between outputs (or within one): the subset's cell <= the superset's cell;
- a row exists only when it counts at least one person: z >= 1; counts are integers;
- a published count fixes its class (a rounded one bounds it to its rounding interval), and a
  count published by an earlier release whose true value has not changed fixes it too.

Shares and means are not in the system: a share or mean is never published without its row's
count (the row rule), and no declared output has an additive dimension over a share or mean
(`OutputSpec` refuses one), so `share x n` gives back only the attribute count the primary
share rule already checks; under rounding, shares and means are published on a grid coarse
enough that every count of the rounding interval stays possible (`disclosure.ratio_step`).

**Sensitive expressions** (`Sensitive`) are what must stay vague: every count below the
threshold T (a primary cell), and every difference superset - subset of a link whose true
value is 1..T-1. Each needs a *protection interval* in the attacker's system: its largest
possible value at least T and the interval at least T wide.

**Choosing the complements** (`choose_complements`) follows Fischetti & Salazar's model of
optimal cell suppression, the model behind tau-ARGUS's and sdcTable's "optimal" methods: binary
x (suppress a class) at least cost, and for every sensitive expression and direction a
deviation vector y of the table that keeps every relation, moves only suppressed classes
(published ones only within their rounding interval) and moves the expression up by its upper
protection level (T - v + floor) and down by its lower one (v - floor, down to the floor: 1 for
a cell, 0 for a difference), which gives upper >= T and width >= T. All expressions of one
connected part are solved jointly in one mixed-integer program. Differences from the
reference methods: (1) the deviation vectors are written out for every expression at once
(no Benders decomposition with capacity cuts, as Fischetti-Salazar and tau-ARGUS do),
restricted to a neighbourhood of the expression that is widened only when it cannot protect
it; a restriction can only cost more suppressions, never less protection, since every
witness it finds is valid in the whole system; (2) the cost is fewest cells, then fewest
persons (tau-ARGUS's default weight is the cell value); (3) union (non-additive) dimensions,
links between outputs, rows >= 1 and earlier releases are modelled, which tau-ARGUS's and
sdcTable's linked-table methods do not express as inequalities; (4) the protection levels
are fixed from the threshold rule, not a percentage of the cell; (5) a time limit (HiGHS
`time_limit`) may end the search with a feasible, not proved-optimal pattern: the report
states the gap.

**The audit** (`audit`) is independent of how the pattern was chosen: it takes the released
values only, builds the attacker's system and computes, by mixed-integer programs (integer
counts), the smallest and largest value of every sensitive expression; any expression
whose interval is too narrow is named.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

__all__ = ["CountSystem", "Sensitive", "Selection", "AuditResult", "choose_complements", "audit"]

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


# --- choosing the complements ---------------------------------------------------------------

@dataclass
class Selection:
    suppressed: set[int]
    cost: float
    protects: dict[int, list[str]]
    n_mips: int
    optimal: bool
    gap: float
    seconds: float
    unprotectable: list[str] = field(default_factory=list)


def _neighbourhood(system, touching, seeds, depth, all_constraints, excluded):
    seen = set(seeds)
    frontier = set(seeds)
    for _ in range(depth):
        nxt = set()
        for k in frontier:
            for kind, r in touching.get(k, ()):
                row = (system.eq if kind == "eq" else system.ineq)[r]
                if not all_constraints and kind == "ineq" and len(row) > 2:
                    continue
                nxt.update(j for j in row if j not in seen and j not in excluded)
        seen |= nxt
        frontier = nxt
    return seen


class _Deviation:
    """One deviation system (expression, direction, neighbourhood) written into a MIP."""

    def __init__(self, expr: Sensitive, direction: int, target: float, classes: set[int]):
        self.expr, self.direction, self.target, self.classes = expr, direction, target, sorted(classes)


def _bounds_of(system, k, slack, cap_up):
    """y_k bounds when suppressed (x=1) and when published (x=0, rounding slack only)."""
    down_pub, up_pub = slack.get(k, (0.0, 0.0))
    return -(system.true[k] - 1.0), cap_up, -down_pub, up_pub


def _solve_mip(system, deviations, free, forced, slack, cost, touching, cap_up, time_limit, relax=False):
    """Build and solve the MIP of Fischetti-Salazar's model for `deviations`; x over `free`."""
    classes = sorted(set().union(*(set(d.classes) for d in deviations)) | set(free))
    xi = {k: i for i, k in enumerate(classes)}
    n_x = len(classes)
    rows, cols, vals, lo, hi = [], [], [], [], []
    col_lo = [1.0 if k in forced else 0.0 for k in classes]
    col_hi = [1.0 if (k in forced or k in free) else 0.0 for k in classes]
    c = [cost[k] if k in free else 0.0 for k in classes]
    n_col = n_x
    r = 0
    columns_of = []
    for dev in deviations:
        yi = {k: n_col + i for i, k in enumerate(dev.classes)}
        columns_of.append(yi)
        for k in dev.classes:
            y_lo, y_hi, pub_lo, pub_hi = _bounds_of(system, k, slack, cap_up)
            col_lo.append(min(y_lo, pub_lo))
            col_hi.append(max(y_hi, pub_hi))
            c.append(0.0)
            # y_k - (y_hi - pub_hi) x_k <= pub_hi ;  y_k - (y_lo - pub_lo) x_k >= pub_lo
            rows += [r, r, r + 1, r + 1]
            cols += [yi[k], xi[k], yi[k], xi[k]]
            vals += [1.0, -(y_hi - pub_hi), 1.0, -(y_lo - pub_lo)]
            lo += [-np.inf, pub_lo]
            hi += [pub_hi, np.inf]
            r += 2
        n_col += len(dev.classes)
        used = set()
        for k in dev.classes:
            for kind, ci in touching.get(k, ()):
                if (kind, ci) in used:
                    continue
                used.add((kind, ci))
                row = (system.eq if kind == "eq" else system.ineq)[ci]
                for j, coef in row.items():
                    if j in yi:
                        rows.append(r)
                        cols.append(yi[j])
                        vals.append(coef)
                if kind == "eq":
                    lo.append(0.0)
                    hi.append(0.0)
                else:
                    lo.append(-np.inf)
                    hi.append(-sum(coef * system.true[j] for j, coef in row.items()))
                r += 1
        for j, coef in dev.expr.coefs:
            rows.append(r)
            cols.append(yi[j])
            vals.append(coef)
        if dev.direction > 0:
            lo.append(dev.target)
            hi.append(np.inf)
        else:
            lo.append(-np.inf)
            hi.append(-dev.target)
        r += 1
    a = coo_matrix((vals, (rows, cols)), shape=(r, n_col)).tocsr()
    integrality = np.zeros(n_col)
    if not relax:
        integrality[:n_x] = 1
    result = milp(np.array(c), integrality=integrality, bounds=Bounds(np.array(col_lo), np.array(col_hi)),
                  constraints=LinearConstraint(a, np.array(lo), np.array(hi)),
                  options={"time_limit": time_limit, "mip_rel_gap": 0.0, "presolve": True})
    if result.x is None:
        return None, result
    chosen = {k for k in classes if result.x[xi[k]] > 0.5}
    # which expressions each chosen class moves for (the custodian's reason)
    result.moved_for = defaultdict(list)
    for dev, yi in zip(deviations, columns_of):
        for k, col in yi.items():
            if k in chosen and abs(result.x[col]) > _TOL and dev.expr.label not in result.moved_for[k]:
                result.moved_for[k].append(dev.expr.label)
    return chosen, result


def choose_complements(system: CountSystem, sensitive: list[Sensitive], forced: set[int], known: set[int],
                       threshold: int, slack: dict[int, tuple[float, float]] | None = None,
                       time_limit: float = 60.0) -> Selection:
    """The least-cost set of classes to suppress (a superset of `forced`) that protects every
    sensitive expression; `known` classes are published elsewhere and cannot be suppressed;
    `slack[k]` = (down, up) rounding room of a published class."""
    start = time.perf_counter()
    slack = slack or {}
    touching = system._adjacency()
    total_persons = float((system.true * system.n_cells).sum()) + 1.0
    cost = {k: float(system.n_cells[k]) + float(system.true[k] * system.n_cells[k]) / total_persons
            for k in range(system.n)}
    cap_up = float(system.true.max(initial=0.0)) + 10.0 * threshold
    excluded = set(known)
    suppressed = set(forced)
    n_mips = 0
    unprotectable = []

    # neighbourhood of each expression: widened until the expression can be protected with
    # every class of it suppressed (an LP: x free in [0, 1])
    deviations_of = {}
    for expr in sensitive:
        seeds = {k for k, _ in expr.coefs}
        found = None
        for depth, all_c in ((1, False), (2, False), (3, True), (None, True)):
            hood = (set(range(system.n)) - excluded if depth is None
                    else _neighbourhood(system, touching, seeds, depth, all_c, excluded))
            hood |= seeds
            devs = []
            up, down = expr.upper_level(threshold), expr.lower_level()
            devs.append(_Deviation(expr, +1, up, hood))
            if down > _TOL:
                devs.append(_Deviation(expr, -1, down, hood))
            free = hood - forced - excluded
            chosen, _ = _solve_mip(system, devs, free, forced & hood, slack, cost, touching, cap_up,
                                   time_limit, relax=True)
            n_mips += 1
            if chosen is not None:
                found = devs
                break
        if found is None:
            unprotectable.append(expr.label)
        else:
            deviations_of[expr] = found

    # connected parts: expressions whose neighbourhoods share a class are chosen together
    connected = DisjointSets()
    for expr, devs in deviations_of.items():
        connected.join(devs[0].classes)
    parts = defaultdict(list)
    for expr, devs in deviations_of.items():
        parts[connected.find(devs[0].classes[0])].append(expr)

    optimal, worst_gap = True, 0.0
    protects: dict[int, list[str]] = defaultdict(list)
    for exprs in parts.values():
        devs = [d for e in exprs for d in deviations_of[e]]
        hood = set().union(*(set(d.classes) for d in devs))
        free = hood - forced - excluded
        chosen, result = _solve_mip(system, devs, free, forced & hood, slack, cost, touching, cap_up, time_limit)
        n_mips += 1
        if chosen is None:  # no incumbent in time: every free class of the part goes
            chosen = free | (forced & hood)
            optimal = False
            worst_gap = math.inf
        else:
            if result.status != 0:
                optimal = False
                worst_gap = max(worst_gap, float(getattr(result, "mip_gap", math.inf) or 0.0))
            for k, labels in result.moved_for.items():
                protects[k].extend(labels)
        suppressed |= chosen
    total_cost = sum(cost[k] for k in suppressed)
    return Selection(suppressed, total_cost, dict(protects), n_mips, optimal, worst_gap,
                     time.perf_counter() - start, unprotectable)


# --- the audit ------------------------------------------------------------------------------

@dataclass
class Interval:
    label: str
    true: float
    lower: float
    upper: float
    required_upper: float
    required_width: float

    @property
    def width(self) -> float:
        return self.upper - self.lower

    @property
    def passed(self) -> bool:
        return self.upper >= self.required_upper - _TOL and self.width >= self.required_width - _TOL


@dataclass
class AuditResult:
    intervals: list[Interval]
    problems: list[str]
    n_variables: int
    n_constraints: int
    n_programs: int
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.problems

    def figures(self) -> dict:
        """What may leave: the attacker can compute these from the released files alone."""
        protected = [i for i in self.intervals]
        finite_upper = [i.upper for i in protected]
        return {
            "status": "passed" if self.passed else "failed",
            "unknown_counts": self.n_variables,
            "relations": self.n_constraints,
            "integer_programs_solved": self.n_programs,
            "protected_cells_meet_requirement": all(i.passed for i in protected),
            "smallest_upper_bound": (min(finite_upper) if finite_upper else None),
            "smallest_interval_width": (min(i.width for i in protected) if protected else None),
        }


def audit(system: CountSystem, known: dict[int, tuple[float, float]], sensitive: list[Sensitive],
          threshold: int) -> AuditResult:
    """The attacker's smallest and largest value of every sensitive expression, given only the
    released values: `known[k]` = (lowest, highest) the release allows for class k (equal
    for a published count, the rounding interval for a rounded one); every other class is an
    unknown integer >= 1."""
    start = time.perf_counter()
    variables = [k for k in range(system.n) if k not in known or known[k][0] != known[k][1]]
    vi = {k: i for i, k in enumerate(variables)}
    problems = []

    # relations with the fixed classes substituted, and connected parts of the unknowns
    connected = DisjointSets()

    relations = []  # (row over variables, lo, hi)
    for kind, rows in (("eq", system.eq), ("ineq", system.ineq)):
        for row in rows:
            constant = sum(coef * known[k][0] for k, coef in row.items() if k not in vi)
            part = {vi[k]: coef for k, coef in row.items() if k in vi}
            if not part:
                if (kind == "eq" and abs(constant) > _TOL) or (kind == "ineq" and constant > _TOL):
                    problems.append("the released values contradict a relation the outputs' specs declare: "
                                    + " ".join(f"{coef:+g} x {system.labels[k]}" for k, coef in row.items())
                                    + (" = 0" if kind == "eq" else " <= 0"))
                continue
            relations.append((part, -constant if kind == "eq" else -np.inf, -constant))
            connected.join(part)
    for expr in sensitive:
        connected.join(vi[k] for k, _ in expr.coefs if k in vi)

    by_part = defaultdict(list)
    for i in range(len(variables)):
        by_part[connected.find(i)].append(i)
    rel_by_part = defaultdict(list)
    for rel in relations:
        rel_by_part[connected.find(next(iter(rel[0])))].append(rel)

    models = {}

    def model(part_root):
        if part_root not in models:
            members = by_part[part_root]
            local = {v: j for j, v in enumerate(members)}
            rows, cols, vals, lo, hi = [], [], [], [], []
            for r, (row, rlo, rhi) in enumerate(rel_by_part[part_root]):
                for v, coef in row.items():
                    rows.append(r)
                    cols.append(local[v])
                    vals.append(coef)
                lo.append(rlo)
                hi.append(rhi)
            a = coo_matrix((vals, (rows, cols)), shape=(len(lo), len(members))).tocsr()
            b_lo = np.array([known[variables[v]][0] if variables[v] in known else 1.0 for v in members])
            b_hi = np.array([known[variables[v]][1] if variables[v] in known else ATTACKER_BIG for v in members])
            models[part_root] = (local, a, np.array(lo), np.array(hi), b_lo, b_hi)
        return models[part_root]

    n_programs = 0
    intervals = []
    for expr in sensitive:
        constant = sum(coef * known[k][0] for k, coef in expr.coefs if k not in vi)
        members = [vi[k] for k, _ in expr.coefs if k in vi]
        required_upper = float(threshold)
        required_width = float(threshold)
        if not members:
            lower = upper = constant
        else:
            local, a, lo, hi, b_lo, b_hi = model(connected.find(members[0]))
            c = np.zeros(len(local))
            for k, coef in expr.coefs:
                if k in vi:
                    c[local[vi[k]]] += coef
            bounds = []
            for sign in (1.0, -1.0):
                res = milp(sign * c, integrality=np.ones(len(local)), bounds=Bounds(b_lo, b_hi),
                           constraints=LinearConstraint(a, lo, hi) if len(lo) else (),
                           options={"presolve": True})
                n_programs += 1
                if res.x is None:
                    problems.append(f"{expr.label}: the audit's program found no solution ({res.message})")
                    bounds.append(math.nan)
                else:
                    bounds.append(sign * res.fun + constant)
            lower, upper = bounds[0], bounds[1]
        interval = Interval(expr.label, expr.true, float(lower), float(upper), required_upper, required_width)
        intervals.append(interval)
        if not interval.passed:
            problems.append(
                f"{expr.label}: the released files bound it to [{_fmt(lower)}, {_fmt(upper)}] "
                f"(needs an upper bound >= {threshold} and a width >= {threshold})")
    return AuditResult(intervals, problems, len(variables), len(relations), n_programs, time.perf_counter() - start)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "?"
    return "unbounded" if value >= ATTACKER_BIG / 2 else f"{value:g}"
