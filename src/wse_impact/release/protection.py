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
from typing import Iterable

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

__all__ = ["CountSystem", "Sensitive", "Selection", "AuditResult", "choose_complements", "audit"]

from wse_impact.release.count_system import (  # noqa: F401 - the system's types, used through this module too
    _TOL,
    ATTACKER_BIG,
    CountSystem,
    DisjointSets,
    Sensitive,
    sensitive_expressions,
)


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


@dataclass(frozen=True)
class _MipSetting:
    """What every MIP of one choice of complements shares."""

    system: CountSystem
    slack: dict[int, tuple[float, float]]
    cost: dict[int, float]
    touching: dict
    cap_up: float
    time_limit: float

    def y_bounds(self, k: int) -> tuple[float, float, float, float]:
        """y_k bounds when suppressed (x=1) and when published (x=0, rounding slack only)."""
        down_pub, up_pub = self.slack.get(k, (0.0, 0.0))
        return -(self.system.true[k] - 1.0), self.cap_up, -down_pub, up_pub


class _Program:
    """A sparse MIP being written: columns (x over the classes, then y per deviation) and rows."""

    def __init__(self, classes: list[int], free: set[int], forced: set[int], cost: dict[int, float]):
        self.xi = {k: i for i, k in enumerate(classes)}
        self.n_x = self.n_col = len(classes)
        self.rows, self.cols, self.vals, self.lo, self.hi = [], [], [], [], []
        self.col_lo = [1.0 if k in forced else 0.0 for k in classes]
        self.col_hi = [1.0 if (k in forced or k in free) else 0.0 for k in classes]
        self.c = [cost[k] if k in free else 0.0 for k in classes]
        self.r = 0

    def row(self, entries: Iterable[tuple[int, float]], lo: float, hi: float) -> None:
        for col, val in entries:
            self.rows.append(self.r)
            self.cols.append(col)
            self.vals.append(val)
        self.lo.append(lo)
        self.hi.append(hi)
        self.r += 1

    def add_deviation(self, setting: _MipSetting, dev: _Deviation) -> dict[int, int]:
        """Dev's y columns, each bound to its x, the relations among them, and the deviation
        itself; returns class -> y column."""
        system, xi = setting.system, self.xi
        yi = {k: self.n_col + i for i, k in enumerate(dev.classes)}
        for k in dev.classes:
            y_lo, y_hi, pub_lo, pub_hi = setting.y_bounds(k)
            self.col_lo.append(min(y_lo, pub_lo))
            self.col_hi.append(max(y_hi, pub_hi))
            self.c.append(0.0)
            # y_k - (y_hi - pub_hi) x_k <= pub_hi ;  y_k - (y_lo - pub_lo) x_k >= pub_lo
            self.row([(yi[k], 1.0), (xi[k], -(y_hi - pub_hi))], -np.inf, pub_hi)
            self.row([(yi[k], 1.0), (xi[k], -(y_lo - pub_lo))], pub_lo, np.inf)
        self.n_col += len(dev.classes)
        used = set()
        for k in dev.classes:
            for kind, ci in setting.touching.get(k, ()):
                if (kind, ci) in used:
                    continue
                used.add((kind, ci))
                relation = (system.eq if kind == "eq" else system.ineq)[ci]
                entries = [(yi[j], coef) for j, coef in relation.items() if j in yi]
                if kind == "eq":
                    self.row(entries, 0.0, 0.0)
                else:
                    self.row(entries, -np.inf, -sum(coef * system.true[j] for j, coef in relation.items()))
        entries = [(yi[j], coef) for j, coef in dev.expr.coefs]
        if dev.direction > 0:
            self.row(entries, dev.target, np.inf)
        else:
            self.row(entries, -np.inf, -dev.target)
        return yi

    def solve(self, setting: _MipSetting, relax: bool):
        a = coo_matrix((self.vals, (self.rows, self.cols)), shape=(self.r, self.n_col)).tocsr()
        integrality = np.zeros(self.n_col)
        if not relax:
            integrality[:self.n_x] = 1
        return milp(np.array(self.c), integrality=integrality,
                    bounds=Bounds(np.array(self.col_lo), np.array(self.col_hi)),
                    constraints=LinearConstraint(a, np.array(self.lo), np.array(self.hi)),
                    options={"time_limit": setting.time_limit, "mip_rel_gap": 0.0, "presolve": True})


def _solve_mip(setting: _MipSetting, deviations: list[_Deviation], free: set[int], forced: set[int],
               relax: bool = False):
    """Build and solve the MIP of Fischetti-Salazar's model for `deviations`; x over `free`."""
    classes = sorted(set().union(*(set(d.classes) for d in deviations)) | set(free))
    program = _Program(classes, free, forced, setting.cost)
    columns_of = [program.add_deviation(setting, dev) for dev in deviations]
    result = program.solve(setting, relax)
    if result.x is None:
        return None, result
    chosen = {k for k in classes if result.x[program.xi[k]] > 0.5}
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
    setting = _MipSetting(system, slack, cost, touching, cap_up, time_limit)
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
            chosen, _ = _solve_mip(setting, devs, free, forced & hood, relax=True)
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
        chosen, result = _solve_mip(setting, devs, free, forced & hood)
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
    relations, problems = _relations_over_unknowns(system, known, vi)
    parts = _AuditParts(variables, known, relations, sensitive, vi)
    intervals = []
    for expr in sensitive:
        lower, upper = parts.bounds(expr, problems)
        interval = Interval(expr.label, expr.true, float(lower), float(upper), float(threshold), float(threshold))
        intervals.append(interval)
        if not interval.passed:
            problems.append(
                f"{expr.label}: the released files bound it to [{_fmt(lower)}, {_fmt(upper)}] "
                f"(needs an upper bound >= {threshold} and a width >= {threshold})")
    return AuditResult(intervals, problems, len(variables), len(relations), parts.n_programs,
                       time.perf_counter() - start)


def _relations_over_unknowns(system: CountSystem, known: dict[int, tuple[float, float]],
                             vi: dict[int, int]) -> tuple[list[tuple[dict[int, float], float, float]], list[str]]:
    """The relations with the fixed classes substituted, as (row over variables, lo, hi), and
    the problems of relations the released values contradict."""
    problems, relations = [], []
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
    return relations, problems


class _AuditParts:
    """The unknowns in connected parts (joined by a relation or a sensitive expression), one
    integer program per part, built when first asked for."""

    def __init__(self, variables: list[int], known: dict[int, tuple[float, float]], relations: list,
                 sensitive: list[Sensitive], vi: dict[int, int]):
        self.variables, self.known, self.vi = variables, known, vi
        self.connected = DisjointSets()
        for part, _, _ in relations:
            self.connected.join(part)
        for expr in sensitive:
            self.connected.join(vi[k] for k, _ in expr.coefs if k in vi)
        self.members = defaultdict(list)
        for i in range(len(variables)):
            self.members[self.connected.find(i)].append(i)
        self.relations = defaultdict(list)
        for rel in relations:
            self.relations[self.connected.find(next(iter(rel[0])))].append(rel)
        self.models: dict[int, tuple] = {}
        self.n_programs = 0

    def model(self, root: int) -> tuple:
        """(local index of each member, constraint matrix, its lo and hi, variable bounds)."""
        if root not in self.models:
            members, variables, known = self.members[root], self.variables, self.known
            local = {v: j for j, v in enumerate(members)}
            rows, cols, vals, lo, hi = [], [], [], [], []
            for r, (row, rlo, rhi) in enumerate(self.relations[root]):
                for v, coef in row.items():
                    rows.append(r)
                    cols.append(local[v])
                    vals.append(coef)
                lo.append(rlo)
                hi.append(rhi)
            a = coo_matrix((vals, (rows, cols)), shape=(len(lo), len(members))).tocsr()
            b_lo = np.array([known[variables[v]][0] if variables[v] in known else 1.0 for v in members])
            b_hi = np.array([known[variables[v]][1] if variables[v] in known else ATTACKER_BIG for v in members])
            self.models[root] = (local, a, np.array(lo), np.array(hi), b_lo, b_hi)
        return self.models[root]

    def bounds(self, expr: Sensitive, problems: list[str]) -> tuple[float, float]:
        """The smallest and largest value of `expr` the release allows."""
        vi = self.vi
        constant = sum(coef * self.known[k][0] for k, coef in expr.coefs if k not in vi)
        members = [vi[k] for k, _ in expr.coefs if k in vi]
        if not members:
            return constant, constant
        local, a, lo, hi, b_lo, b_hi = self.model(self.connected.find(members[0]))
        c = np.zeros(len(local))
        for k, coef in expr.coefs:
            if k in vi:
                c[local[vi[k]]] += coef
        bounds = []
        for sign in (1.0, -1.0):
            res = milp(sign * c, integrality=np.ones(len(local)), bounds=Bounds(b_lo, b_hi),
                       constraints=LinearConstraint(a, lo, hi) if len(lo) else (),
                       options={"presolve": True})
            self.n_programs += 1
            if res.x is None:
                problems.append(f"{expr.label}: the audit's program found no solution ({res.message})")
                bounds.append(math.nan)
            else:
                bounds.append(sign * res.fun + constant)
        return bounds[0], bounds[1]


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "?"
    return "unbounded" if value >= ATTACKER_BIG / 2 else f"{value:g}"
