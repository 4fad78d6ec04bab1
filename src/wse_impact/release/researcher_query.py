"""A researcher's own aggregate for release: SQL over the research database, grouped by the
dimensions the researcher names, with the persons counted by the tool.

The researcher writes the rows (one or more per person, with `person_id`); the tool groups
them by the named dimensions, counts **distinct persons** per cell (never rows: the panel has
36 rows per person) and adds the `Total` of every dimension, so the count cannot be got wrong
and nothing but dimensions and counts comes out. Refused at request time, with the reason:

- anything but one read-only SELECT (the database is opened read-only, with no access to
  files or other databases: `enable_external_access = false`);
- rows without `person_id` (the tool could not count persons);
- no dimension named (nothing to group by: that is not an aggregate);
- a dimension that is `person_id`, or any column with more than `MAX_DIMENSION_VALUES`
  distinct values (an identifier or an exact value, not a grouping);
- a dimension holding exact amounts or dates (decimal or floating-point numbers, dates,
  times): amounts and dates are released only as classes and quarters;
- a dimension value `Total`, which would collide with the totals.

A dimension is declared additive (its Total is the sum of its parts) only when the tool finds
that no person has two of its values in one cell; otherwise it is a union dimension (a person
may count in several parts), which the disclosure control treats as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from wse_impact.release.disclosure import COUNT, TOTAL, OutputSpec

MAX_DIMENSION_VALUES = 250
PERSON = "person_id"
EXACT_TYPES = ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "DATE", "TIME", "TIMESTAMP", "INTERVAL", "HUGEINT")
CATEGORICAL_TYPES = ("VARCHAR", "ENUM", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT",
                     "USMALLINT", "UINTEGER", "UBIGINT")


class QueryRefused(ValueError):
    """The researcher's aggregate may not be requested; the message says why."""


@dataclass
class ResearcherAggregate:
    name: str
    sql: str
    dimensions: tuple[str, ...]
    table: pd.DataFrame
    spec: OutputSpec

    def definition(self) -> dict:
        return {"name": self.name, "sql": self.sql, "dimensions": list(self.dimensions)}


def connect_research_db(path: str | Path) -> duckdb.DuckDBPyConnection:
    """The research database, read-only, with no way to reach files or other databases."""
    return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})


def aggregate(con: duckdb.DuckDBPyConnection, name: str, sql: str, dimensions: list[str]) -> ResearcherAggregate:
    if not name.isidentifier():
        raise QueryRefused(f"aggregate name {name!r}: use letters, digits and underscores")
    statements = duckdb.extract_statements(sql)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise QueryRefused(f"{name}: the SQL must be exactly one SELECT statement")
    dimensions = list(dimensions)
    if not dimensions:
        raise QueryRefused(f"{name}: no dimension named to group by: only aggregates are released, never rows")
    if len(set(dimensions)) != len(dimensions):
        raise QueryRefused(f"{name}: a dimension is named twice")
    body = sql.strip().rstrip(";")
    try:
        described = con.execute(f"describe ({body})").fetchall()
    except duckdb.Error as err:
        raise QueryRefused(f"{name}: the SQL does not run on the research database: {str(err).splitlines()[0]}") from err
    types = {row[0]: str(row[1]) for row in described}
    if PERSON not in types:
        raise QueryRefused(f"{name}: the rows must carry {PERSON}, so that the tool counts distinct persons")
    for dimension in dimensions:
        if dimension not in types:
            raise QueryRefused(f"{name}: dimension {dimension!r} is not a column of the SQL's result ({', '.join(types)})")
        if dimension == PERSON:
            raise QueryRefused(f"{name}: {PERSON} cannot be a dimension: it identifies a person")
        kind = types[dimension].split("(")[0].upper()
        if kind.startswith(EXACT_TYPES):
            raise QueryRefused(f"{name}: dimension {dimension!r} is {types[dimension]}: exact amounts and dates are "
                               "released only as classes and quarters")
        if not (kind.startswith(CATEGORICAL_TYPES) or types[dimension].startswith("ENUM")):
            raise QueryRefused(f"{name}: dimension {dimension!r} is {types[dimension]}, not a code, class or flag")

    quoted = {d: '"' + d.replace('"', '""') + '"' for d in dimensions}
    rows = f"rows_of_the_researcher as ({body})"
    counts = con.execute(
        f"with {rows} select " + ", ".join(f"count(distinct {quoted[d]})" for d in dimensions)
        + ", count(*) filter (where " + " or ".join(f"cast({quoted[d]} as varchar) = '{TOTAL}'" for d in dimensions)
        + f") from rows_of_the_researcher").fetchone()
    for dimension, n_values in zip(dimensions, counts[:-1]):
        if n_values > MAX_DIMENSION_VALUES:
            raise QueryRefused(f"{name}: dimension {dimension!r} has {n_values} distinct values (more than "
                               f"{MAX_DIMENSION_VALUES}): an identifier or an exact value, not a grouping")
    if counts[-1]:
        raise QueryRefused(f"{name}: a dimension holds the value {TOTAL!r}, which names the totals")

    labels = ", ".join(
        f"case when grouping({quoted[d]}) = 1 then '{TOTAL}' else coalesce(cast({quoted[d]} as varchar), 'unknown') end "
        f"as {quoted[d]}" for d in dimensions)
    table = con.execute(
        f"with {rows} select {labels}, count(distinct {PERSON}) as {COUNT} from rows_of_the_researcher "
        f"group by cube ({', '.join(quoted[d] for d in dimensions)}) order by all").df()
    additive = tuple(d for d in dimensions if _is_additive(con, rows, d, [x for x in dimensions if x != d], quoted))
    spec = OutputSpec(name=name, dimensions=tuple(dimensions), additive=additive,
                      union=tuple(d for d in dimensions if d not in additive), count=COUNT)
    return ResearcherAggregate(name, sql, tuple(dimensions), table, spec)


def _is_additive(con, rows: str, dimension: str, others: list[str], quoted: dict[str, str]) -> bool:
    """No person has two values of the dimension within one combination of the others."""
    keys = ", ".join([PERSON, *(quoted[o] for o in others)])
    return con.execute(
        f"with {rows} select count(*) from (select {keys} from rows_of_the_researcher group by {keys} "
        f"having count(distinct coalesce(cast({quoted[dimension]} as varchar), 'unknown')) > 1)").fetchone()[0] == 0
