"""Mart suites: class labels of their scheme (or 'unknown'), codes of their seed, ranges, 36 rows
per person, keys unique."""

from __future__ import annotations

from wse_impact.quality.rules import (_E, class_label_rules, code_rules, expected_columns, key_suites, key_rules,
                                      range_rules, select_sql)
from wse_impact.quality.suite import Suite
from wse_impact.quality.suites.context import Context
from wse_impact.quality.suites.measure_uses import measure_use_suite


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
    n_uses = wh.rows("select count(*) from intermediate.int_measure_uses_classed")[0][0]
    suites.append(measure_use_suite(
        ctx, "marts.beneficiary_measures", "marts", "marts.beneficiary_measures", "beneficiary_measures", rel,
        wh.columns(rel), classed=True, head=[
            E.ExpectTableRowCountToEqual(value=n_uses),
            E.ExpectColumnValuesToNotBeNull(column="person_id"),
            *key_rules(decl.unique_keys("beneficiary_measures")),
        ]))
    return suites
