"""Reference suites: every class scheme of class_bounds is contiguous, non-overlapping and covers
its domain; the code seeds keep their codes as written."""

from __future__ import annotations

from wse_impact.project.declarations import CodeColumn
from wse_impact.quality.rules import _E, code_rules, scheme_rules, select_sql
from wse_impact.quality.suite import Suite
from wse_impact.quality.suites.context import PANEL, Context


def reference_suites(ctx: Context) -> list[Suite]:
    domains, default = ctx.declarations.scheme_domains()
    values = ", ".join(f"('{s}', {lo}, {'null' if hi is None else hi})" for s, (lo, hi) in domains.items())
    ref = "wse_impact.reference"
    sql = f"""
        with bounds as (
            select
                class_scheme, class_order, class_label,
                cast(lower_bound as double) as lower_bound,
                cast(upper_bound as double) as upper_bound,
                lag(cast(upper_bound as double)) over w as previous_upper_bound,
                row_number() over w = 1 as is_first,
                row_number() over w = count(*) over (partition by class_scheme) as is_last
            from {ref}.class_bounds
            window w as (partition by class_scheme order by class_order)
        ),
        domains as (
            select * from (values {values}) as d(class_scheme, domain_min, domain_max)
        )
        select
            bounds.class_scheme || ' ' || bounds.class_label as scheme_class,
            case
                when not bounds.is_first and bounds.previous_upper_bound is null
                    then 'open class before the last one'
                when not bounds.is_first and bounds.lower_bound > bounds.previous_upper_bound
                    then 'gap: starts at ' || bounds.lower_bound || ', previous class ends at ' || bounds.previous_upper_bound
                when not bounds.is_first and bounds.lower_bound < bounds.previous_upper_bound
                    then 'overlap: starts at ' || bounds.lower_bound || ', previous class ends at ' || bounds.previous_upper_bound
            end as contiguity_problem,
            case
                when bounds.upper_bound is not null and bounds.upper_bound <= bounds.lower_bound
                    then 'empty class [' || bounds.lower_bound || ', ' || bounds.upper_bound || ')'
                when bounds.is_first and bounds.lower_bound > coalesce(domains.domain_min, {default[0]})
                    then 'domain not covered below ' || bounds.lower_bound
                when bounds.is_last and bounds.upper_bound is not null and domains.domain_max is null
                    then 'domain not covered from ' || bounds.upper_bound || ' (open domain needs an open last class)'
                when bounds.is_last and bounds.upper_bound is not null and bounds.upper_bound <= domains.domain_max
                    then 'domain not covered from ' || bounds.upper_bound || ' to ' || domains.domain_max
            end as coverage_problem,
            bounds.class_label
        from bounds
        left join domains on bounds.class_scheme = domains.class_scheme
    """
    suites = [Suite("reference.class_bounds", "reference", "reference.class_bounds", sql, scheme_rules())]
    # the code seeds as built keep their codes as written ('000', '01', '318.02'): a seed
    # loaded with inferred numeric types loses leading zeros and no longer joins the data
    seed_columns: dict[str, set[str]] = {"measure_codes": {"code"}, "measures": {"measure_code"}}
    for c in ctx.declarations.codes(PANEL):
        seed_columns.setdefault(c.seed, set()).add(c.seed_column)
    for seed, columns in sorted(seed_columns.items()):
        columns = sorted(columns)
        suites.append(Suite(f"reference.{seed}", "reference", f"reference.{seed}",
                            select_sql(f"{ref}.{seed}", columns, as_text=columns), [
            *code_rules([CodeColumn(column, seed, column) for column in columns], ctx.seeds),
            _E().ExpectTableRowCountToEqual(value=len(ctx.seeds.rows(seed))),
        ]))
    return suites
