"""Mart suites: class labels of their scheme (or 'unknown'), codes of their seed, ranges, 36 rows
per person, keys unique."""

from __future__ import annotations

import re

from wse_impact.project.macros import classed_measure_schemes
from wse_impact.quality.suites.context import MEASURE_COUNTS, MEASURE_PERCENTAGES
from wse_impact.quality.rules import (UNKNOWN_CLASS, _E, by_measure, class_label_rules, code_rules, expected_columns,
                                      key_rules, key_suites, range_rules, scheme_rules, select_sql, within_class_rules)
from wse_impact.quality.suite import Suite
from wse_impact.quality.suites.context import BOUNDS_CTE, PANEL, WORKING_AGE, Context


def base_file_suites(ctx: Context, base: str, n_persons: int) -> list[Suite]:
    """A base file: declared codes, classes and ranges, its keys, 36 rows per person."""
    E, decl = _E(), ctx.declarations
    rel = f"wse_impact.marts.{base}"
    cols = ctx.wh.columns(rel)
    codes, classes = decl.codes(base, cols), decl.classes(base, cols)
    undeclared = [c for c in cols if c.endswith("_class") and c not in {k.column for k in classes}]
    exps = [
        E.ExpectTableRowCountToEqual(value=len(ctx.quarters) * n_persons),
        E.ExpectColumnValuesToNotBeNull(column="person_id"),
        E.ExpectColumnValuesToBeBetween(column="person_id", min_value=1),
        E.ExpectColumnDistinctValuesToEqualSet(column="snapshot_quarter", value_set=ctx.quarters),
        *class_label_rules(classes, ctx.seeds),
        # a class column nobody declared is at least never null (and fails the declaration test)
        *(E.ExpectColumnValuesToNotBeNull(column=c) for c in undeclared),
        *range_rules(decl.ranges(base, cols)),
        *code_rules(codes, ctx.seeds),
    ]
    if "is_beneficiary" in cols:
        exps.append(E.ExpectColumnValuesToNotBeNull(column="is_beneficiary"))
    text = {c.column for c in codes} | {c.column for c in classes} | set(undeclared)
    return [Suite(f"marts.{base}", "marts", f"marts.{base}", select_sql(rel, expected_columns(exps), text), exps),
            *key_suites(f"marts.{base}", "marts", f"marts.{base}", rel, decl.unique_keys(base))]


def mart_suites(ctx: Context) -> list[Suite]:
    E, decl, wh = _E(), ctx.declarations, ctx.wh
    n_persons = dict(wh.rows("""
        select 'beneficiary', count(*) filter (where is_beneficiary) from intermediate.int_persons_pseudonymised
        union all
        select 'control', count(*) filter (where is_control) from intermediate.int_persons_pseudonymised
    """))
    suites = [*base_file_suites(ctx, "beneficiary_base", n_persons["beneficiary"]),
              *base_file_suites(ctx, "control_base", n_persons["control"])]

    rel = "wse_impact.marts.beneficiary_measures"
    cols = wh.columns(rel)
    n_uses = wh.rows("select count(*) from intermediate.int_measure_uses_classed")[0][0]
    quarter_cols = [c for c in cols if c.endswith("_quarter") or re.fullmatch(r"\w+_quarter_\d+", c)]
    exps = [
        E.ExpectTableRowCountToEqual(value=n_uses),
        E.ExpectColumnValuesToNotBeNull(column="person_id"),
        E.ExpectColumnValuesToBeInSet(column="measure_code", value_set=ctx.seeds.codes("measures", "measure_code")),
        *key_rules(decl.unique_keys("beneficiary_measures")),
        *(ctx.in_quarters(c) for c in quarter_cols),
        *(E.ExpectColumnValuesToBeBetween(column=c, min_value=1) for c in MEASURE_COUNTS if c in cols),
        *(E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in MEASURE_PERCENTAGES if c in cols),
    ]
    checks = [by_measure(attr, pairs) for attr, pairs in sorted(ctx.measure_code_pairs().items()) if attr in cols]
    for raw, schemes in sorted(classed_measure_schemes(ctx.catalog).items()):
        class_col = raw.removesuffix("_eur") + "_class"
        if class_col in cols:
            checks.append(by_measure(class_col, ctx.measure_class_pairs(schemes)))
    exps += [exp for _, exp in checks]
    suites.append(Suite("marts.beneficiary_measures", "marts", "marts.beneficiary_measures",
                        f"select *, {', '.join(sql for sql, _ in checks) or 'null as no_codes'} from {rel}", exps))
    return suites
