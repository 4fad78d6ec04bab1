"""The checks of a relation of measure uses, written once for the accepted staging rows and
for the mart: measure codes, the columns' declared value sets (study quarters) and ranges,
and the values each measure allows (codes; classes of the measure's scheme once classed)."""

from __future__ import annotations

from wse_impact.project.macros import classed_measure_schemes
from wse_impact.quality.rules import _E, by_measure, code_rules, range_rules
from wse_impact.quality.suite import Suite
from wse_impact.quality.suites.context import Context


def measure_classes(ctx: Context, cols: list[str]) -> list[tuple[int, str, str, dict[str, str]]]:
    """(i, class column, raw column, {measure: class scheme}) of the classed amounts and day
    counts that `cols` holds, i counting every classed raw column of the measure catalog."""
    found = []
    for i, (raw, schemes) in enumerate(sorted(classed_measure_schemes(ctx.catalog).items())):
        class_col = raw.removesuffix("_eur") + "_class"
        if class_col in cols:
            found.append((i, class_col, raw, schemes))
    return found


def measure_use_suite(ctx: Context, name: str, group: str, relation: str, model: str, table: str,
                      cols: list[str], head: list, where: str | None = None, classed: bool = False) -> Suite:
    """One suite on `table` (the model `model`, columns `cols`): `head`, then the checks every
    relation of measure uses shares."""
    decl = ctx.declarations
    checks = [by_measure(attr, pairs) for attr, pairs in sorted(ctx.measure_code_pairs().items()) if attr in cols]
    if classed:
        checks += [by_measure(class_col, ctx.measure_class_pairs(schemes))
                   for _, class_col, _, schemes in measure_classes(ctx, cols)]
    expectations = [
        *head,
        _E().ExpectColumnValuesToBeInSet(column="measure_code", value_set=ctx.seeds.codes("measures", "measure_code")),
        *code_rules(decl.value_sets(model, cols), ctx.seeds),
        *range_rules(decl.ranges(model, cols)),
        *(exp for _, exp in checks),
    ]
    sql = (f"select *, {', '.join(sql for sql, _ in checks) or 'null as no_codes'} from {table}"
           + (f" where {where}" if where else ""))
    return Suite(name, group, relation, sql, expectations)
