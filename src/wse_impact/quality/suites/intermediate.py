"""Intermediate suites: each raw value lies in [lower, upper) of the class it was given, where raw
value and class sit side by side (panel, measure uses); keys; working ages."""

from __future__ import annotations

from wse_impact.quality.rules import (_E, bounds_selects, by_measure, class_label_rules, key_suites,
                                      within_bounds_rules, within_class_rules)
from wse_impact.quality.suite import Suite
from wse_impact.quality.suites.context import BOUNDS_CTE, PANEL, WORKING_AGE, Context
from wse_impact.quality.suites.measure_uses import measure_classes


def intermediate_suites(ctx: Context) -> list[Suite]:
    # GX runs one query per expectation over the suite's SQL, so each suite's SQL holds only
    # what its rules read: one suite per class column (raw value, class, that class's
    # bounds), not one wide join of every class's bounds that every expectation would redo.
    E, decl = _E(), ctx.declarations
    rel = f"intermediate.{PANEL}"
    cols = ctx.wh.columns(rel)
    suites = [
        *key_suites("intermediate.person_quarters", "intermediate", rel, rel, decl.unique_keys(PANEL)),
        Suite("intermediate.person_quarters_days", "intermediate", rel, f"""
            select q.days_in_quarter, p.days_worked
            from {rel} as p
            left join wse_impact.reference.quarters as q on q.quarter = cast(p.snapshot_quarter as string)
        """, [E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="days_worked",
                                                        or_equal=True, ignore_row_if="either_value_is_missing")]),
    ]
    for c in decl.classes(PANEL, cols):
        selects, join, exps = within_class_rules(c, "b")
        suites.append(Suite(f"intermediate.person_quarters_classed.{c.column}", "intermediate", rel,
                            f"{BOUNDS_CTE} select {', '.join(f'{e} as {n}' for n, e in selects.items())} "
                            f"from {rel} as p {join}", [*class_label_rules([c], ctx.seeds)[:1], *exps]))
    # every person is of working age in at least one study quarter
    suites.append(Suite("intermediate.person_ages", "intermediate", rel, f"""
        select person_id, min(age_years) as youngest_age, max(age_years) as oldest_age
        from {rel} group by person_id
    """, [
        E.ExpectColumnValuesToBeBetween(column="oldest_age", min_value=WORKING_AGE[0]),
        E.ExpectColumnValuesToBeBetween(column="youngest_age", max_value=WORKING_AGE[1]),
    ]))

    rel = "intermediate.int_measure_uses_classed"
    cols = ctx.wh.columns(rel)
    selects_m, joins_m, exps_m = ["m.measure_code"], [], []
    for i, class_col, raw, schemes in measure_classes(ctx, cols):
        b = f"b{i}"
        case = " ".join(f"when '{m}' then '{s}'" for m, s in sorted(schemes.items()))
        selects_m += [f"m.{class_col}", f"cast(m.{raw} as double) as {raw}",
                      *(f"{expr} as {name}" for name, expr in bounds_selects(class_col, b).items())]
        joins_m.append(f"left join bounds as {b} on {b}.class_scheme = (case m.measure_code {case} end) "
                       f"and {b}.class_label = m.{class_col}")
        label_sql, label_check = by_measure(class_col, ctx.measure_class_pairs(schemes), "m")
        selects_m.append(label_sql)
        exps_m += [label_check, *within_bounds_rules(raw, class_col)]
    suites.append(Suite("intermediate.measure_uses_classed", "intermediate", rel,
                        f"{BOUNDS_CTE} select {', '.join(selects_m)} from {rel} as m {' '.join(joins_m)}", exps_m))
    return suites
