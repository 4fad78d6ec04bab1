"""Rules: declarations in, Great Expectations expectations out, one small function per kind
of rule (codes, class labels, ranges, keys, a raw value within its class, class schemes,
values allowed per measure), and the few SQL helpers the suites share."""

from __future__ import annotations

from typing import Any, Iterable

from wse_impact.project.declarations import ClassColumn, CodeColumn, ValueRange
from wse_impact.project.seeds import Seeds
from wse_impact.quality.suite import Suite

UNKNOWN_CLASS = "unknown"


def _E():
    import great_expectations as gx

    return gx.expectations


def code_rules(codes: Iterable[CodeColumn], seeds: Seeds) -> list:
    """A code column holds only codes of its seed column."""
    return [_E().ExpectColumnValuesToBeInSet(column=c.column, value_set=seeds.codes(c.seed, c.seed_column))
            for c in codes]


def class_label_rules(classes: Iterable[ClassColumn], seeds: Seeds) -> list:
    """A class column holds a label of its scheme or 'unknown', never null."""
    E = _E()
    out = []
    for c in classes:
        out += [E.ExpectColumnValuesToBeInSet(column=c.column, value_set=seeds.labels(c.scheme) + [UNKNOWN_CLASS]),
                E.ExpectColumnValuesToNotBeNull(column=c.column)]
    return out


def range_rules(ranges: Iterable[ValueRange]) -> list:
    """A value within its declared [minimum, maximum]."""
    return [_E().ExpectColumnValuesToBeBetween(column=r.column, min_value=r.minimum, max_value=r.maximum)
            for r in ranges]


def key_rules(keys: Iterable[list[str]]) -> list:
    """Key columns unique together (the model's unique_combination tests)."""
    return [_E().ExpectCompoundColumnsToBeUnique(column_list=list(key)) for key in keys]


def bounds_selects(class_column: str, bounds_alias: str) -> dict[str, str]:
    """The bounds of the class a value was given, as columns `<class>_lower`, `<class>_upper`
    (an open class's upper bound infinite), from the joined class bounds `bounds_alias`."""
    return {
        f"{class_column}_lower": f"{bounds_alias}.lower_bound",
        f"{class_column}_upper": f"coalesce({bounds_alias}.upper_bound, cast('infinity' as double))",
    }


def within_bounds_rules(value_column: str, class_column: str) -> list:
    """The raw value lies in [lower, upper) of the class it was given (`bounds_selects`)."""
    E = _E()
    return [
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=value_column, column_B=f"{class_column}_lower",
                                                  or_equal=True, ignore_row_if="either_value_is_missing"),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=f"{class_column}_upper", column_B=value_column,
                                                  ignore_row_if="either_value_is_missing"),
    ]


def within_class_rules(c: ClassColumn, bounds_alias: str) -> tuple[dict[str, str], str, list]:
    """The raw value lies in [lower, upper) of the class it was given: selects (raw value,
    the class's bounds), the join to the class bounds, and the expectations."""
    selects = {
        c.column: f"p.{c.column}",
        c.value_column: f"cast(p.{c.value_column} as double)",
        **bounds_selects(c.column, bounds_alias),
    }
    join = (f"left join bounds as {bounds_alias} on {bounds_alias}.class_scheme = '{c.scheme}' "
            f"and {bounds_alias}.class_label = cast(p.{c.column} as string)")
    return selects, join, within_bounds_rules(c.value_column, c.column)


def scheme_rules() -> list:
    """Each class of class_bounds follows the previous one without gap or overlap and the
    scheme covers its domain (the problems are worked out in the suite's SQL)."""
    E = _E()
    return [
        E.ExpectColumnValuesToBeNull(column="contiguity_problem"),
        E.ExpectColumnValuesToBeNull(column="coverage_problem"),
        E.ExpectColumnValuesToBeUnique(column="scheme_class"),
        E.ExpectColumnValuesToNotBeNull(column="class_label"),
    ]


def by_measure(column: str, pairs: Iterable[tuple[str, str]], table: str = "") -> tuple[str, Any]:
    """A value allowed only for some measures, checked as one text column 'measure:value'."""
    name = f"{column}__by_measure"
    prefix = f"{table}." if table else ""
    expr = (f"case when {prefix}{column} is not null then cast({prefix}measure_code as string) || ':' || "
            f"cast({prefix}{column} as string) end as {name}")
    return expr, _E().ExpectColumnValuesToBeInSet(column=name, value_set=sorted({f"{m}:{v}" for m, v in pairs}))


def expected_columns(expectations: Iterable) -> list[str]:
    """The columns the expectations read, in order of first use."""
    names: dict[str, None] = {}
    for e in expectations:
        kw = e.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if kw.get(key):
                names[kw[key]] = None
        for name in kw.get("column_list") or []:
            names[name] = None
    return list(names)


def select_sql(relation: str, columns: Iterable[str], as_text: Iterable[str] = ()) -> str:
    """The columns a suite reads; codes and classes compared as text (a code typed as a
    number has lost its leading zeros)."""
    as_text = set(as_text)
    items = [f"cast({c} as string) as {c}" if c in as_text else c for c in columns]
    return f"select {', '.join(items)} from {relation}"


def key_suites(name: str, group: str, relation: str, table: str, keys: list[list[str]],
               where: str = "true") -> list[Suite]:
    """Key uniqueness, one suite per key, computed on the rows whose key's hash repeats.

    GX's SQL for a compound key joins the grouped counts back to every row of the suite:
    at scale 10 (93 million snapshot rows, text keys) that ran out of the validation's
    memory limit. A row whose key hash occurs once has a unique key, so the expectation
    runs on the other rows only: every duplicated key (and, rarely, two keys whose hashes
    collide, which GX then finds unique). Grouping by one fixed-size hash stays within the
    limit; a key without duplicates leaves no rows, which is the pass. Both engines have
    `hash` (64 bits on DuckDB, 32 on Spark: more collisions there, the same result). The
    tables have aliases: Spark, which does not reserve its keywords by default, reads
    `t where (c)` as a table alias `where` with a column list."""
    suites = []
    for i, key in enumerate(keys):
        columns = ", ".join(key)
        suites.append(Suite(f"{name}.keys" + (f".{i + 1}" if len(keys) > 1 else ""), group, relation, f"""
            select {columns} from {table} as key_rows
            where ({where}) and hash({columns}) in (
                select hash({columns}) from {table} as all_rows where ({where})
                group by hash({columns}) having count(*) > 1
            )
        """, key_rules([key])))
    return suites


