"""A researcher's own aggregate for release: SQL over the research database, grouped by the
dimensions the researcher names, with the persons counted by the tool.

The researcher writes the rows (one or more per person, with `person_id`); the tool groups
them by the named dimensions, counts **distinct persons of the base files** per cell (never
rows: the panel has 36 rows per person) and adds the `Total` of every dimension, so the count
cannot be got wrong and nothing but declared labels and counts comes out. Refused at request
time, with the reason:

- anything but one read-only SELECT (the database is opened read-only, with no access to
  files or other databases: `enable_external_access = false`);
- rows without `person_id` (the tool could not count persons), or whose `person_id` is not of
  the base files' type;
- no dimension named (nothing to group by: that is not an aggregate);
- a dimension that is not a column whose domain the project declares, named as the project
  names it (`release/domains.py`: codes, classes, quarters, the measure, the population group,
  the base files' flags; `person_id` is none of them);
- **a value outside its dimension's domain**: every value the SQL returns for a dimension is
  checked, as text and exactly, before anything is counted. A label made of concatenated or
  aggregated values, a setting, a path, an amount or a date cast to text, a lookalike
  `Total` lies outside every domain. The researcher reads which dimension; the offending value
  (which may be row-level data) is for the custodians only (`QueryRefused.problems`);
- **a `person_id` that is no person of the base files** (`marts.beneficiary_base` and
  `marts.control_base`), or empty: made-up persons (arithmetic on `person_id`, `range`, a union
  repeating persons under new ids) cannot make a cell look larger. Rows repeated or unioned do
  not inflate a count: persons are counted once.

Exact amounts and identifiers were refused by type and by their number of values before;
they are now outside every declared domain. A dimension is declared additive (its Total is
the sum of its parts) only when the tool finds that no person has two of its values in one
cell; otherwise it is a union dimension (a person may count in several parts), which the
disclosure control treats as such. The persons behind every cell are kept as bitmaps
(`persons`) for differencing on person sets (`person_sets.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from pyroaring import BitMap

from wse_impact.release.disclosure import COUNT, TOTAL, OutputSpec, cell_key
from wse_impact.release.domains import Domains
from wse_impact.release.output_persons import bitmaps_of_lists

PERSON = "person_id"
BASE_FILES = ("marts.beneficiary_base", "marts.control_base")
# at most this many characters of an offending value go into a custodian's reason
SHOWN_VALUE_CHARS = 80


class QueryRefused(ValueError):
    """The researcher's aggregate may not be requested. The message (the headline) says why
    and is for the researcher; `problems` name offending values, which may be row-level data,
    and are for the custodians."""

    def __init__(self, headline: str, problems: list[str] | None = None):
        self.headline = headline
        self.problems = list(problems or [])
        super().__init__(headline + (" (the offending value is recorded for the custodians)" if self.problems else ""))


@dataclass
class ResearcherAggregate:
    name: str
    sql: str
    dimensions: tuple[str, ...]
    table: pd.DataFrame
    spec: OutputSpec
    persons: dict[str, BitMap] = field(default_factory=dict)  # cell key -> the persons it counts

    def definition(self) -> dict:
        return {"name": self.name, "sql": self.sql, "dimensions": list(self.dimensions)}


def connect_research_db(path: str | Path) -> duckdb.DuckDBPyConnection:
    """The research database, read-only, with no way to reach files or other databases."""
    return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})


def aggregate(con: duckdb.DuckDBPyConnection, name: str, sql: str, dimensions: list[str],
              domains: Domains | None = None) -> ResearcherAggregate:
    """The researcher's rows counted by the tool, every label checked against its declared
    domain and every person against the base files first. `domains` default to those of
    dbt's manifest (`Domains.load()`)."""
    body, dimensions = _one_select(name, sql, dimensions)
    domains = domains if domains is not None else Domains.load()
    _check_columns(con, name, body, dimensions, domains)
    quoted = {d: '"' + d.replace('"', '""') + '"' for d in dimensions}
    rows = f"rows_of_the_researcher as ({body})"
    _check_labels(con, name, rows, dimensions, quoted, domains)
    _check_persons(con, name, rows)
    return _counted(con, name, sql, rows, dimensions, quoted)


def _one_select(name: str, sql: str, dimensions: list[str]) -> tuple[str, list[str]]:
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
    return sql.strip().rstrip(";"), dimensions


def _check_columns(con, name: str, body: str, dimensions: list[str], domains: Domains) -> None:
    """person_id of the base files' type; every dimension a column with a declared domain."""
    try:
        described = con.execute(f"describe ({body})").fetchall()
    except duckdb.Error as err:
        raise QueryRefused(f"{name}: the SQL does not run on the research database: {str(err).splitlines()[0]}") from err
    types = {row[0]: str(row[1]) for row in described}
    if PERSON not in types:
        raise QueryRefused(f"{name}: the rows must carry {PERSON}, so that the tool counts distinct persons")
    base_type = str(con.execute(f"describe (select {PERSON} from {BASE_FILES[0]})").fetchall()[0][1])
    if types[PERSON] != base_type:
        raise QueryRefused(f"{name}: {PERSON} is {types[PERSON]}, not the base files' {base_type}: the rows must "
                           "name persons of the base files, unchanged")
    for dimension in dimensions:
        if dimension not in types:
            raise QueryRefused(f"{name}: dimension {dimension!r} is not a column of the SQL's result ({', '.join(types)})")
        if dimension == PERSON:
            raise QueryRefused(f"{name}: {PERSON} cannot be a dimension: it identifies a person")
        if domains.get(dimension) is None:
            raise QueryRefused(f"{name}: dimension {dimension!r} is not a column whose domain the project declares; "
                               "name a code, class, quarter, measure, population group or flag column as the base "
                               "files name it (e.g. sex_code, region_code, age_class, snapshot_quarter)")


def _check_labels(con, name: str, rows: str, dimensions: list[str], quoted: dict, domains: Domains) -> None:
    """Every label in its declared domain, before anything is counted."""
    for dimension in dimensions:
        domain = domains.get(dimension)
        outside = con.execute(
            f"with {rows}, labels as (select distinct cast({quoted[dimension]} as varchar) as label "
            f"from rows_of_the_researcher where {quoted[dimension]} is not null) "
            "select label from labels where not list_contains(?, label) order by label limit 1",
            [sorted(domain.values)]).fetchone()
        if outside is not None:
            shown = outside[0] if len(outside[0]) <= SHOWN_VALUE_CHARS else outside[0][:SHOWN_VALUE_CHARS] + "..."
            raise QueryRefused(
                f"{name}: dimension {dimension!r} holds a value outside its declared domain ({domain.declared_as}): "
                "only declared codes, classes and labels are released",
                [f"{name}: dimension {dimension!r}: first value outside {domain.declared_as}: {shown!r}"])


def _check_persons(con, name: str, rows: str) -> None:
    """Every person a person of the base files, unchanged."""
    base = " union ".join(f"select {PERSON} from {table}" for table in BASE_FILES)
    missing, made_up, first = con.execute(
        f"with {rows}, named as (select distinct {PERSON} from rows_of_the_researcher), "
        f"base as ({base}) "
        f"select count(*) filter (where named.{PERSON} is null), "
        f"count(*) filter (where named.{PERSON} is not null and base.{PERSON} is null), "
        f"min(named.{PERSON}) filter (where base.{PERSON} is null) "
        f"from named left join base on named.{PERSON} = base.{PERSON}").fetchone()
    if missing or made_up:
        raise QueryRefused(
            f"{name}: the rows name {made_up + missing} {PERSON} value(s) that are no person of the base files "
            f"({' and '.join(BASE_FILES)}): only real persons are counted, unchanged",
            [f"{name}: first {PERSON} not in the base files: {first}"] if made_up else [])


def _counted(con, name: str, sql: str, rows: str, dimensions: list[str], quoted: dict) -> ResearcherAggregate:
    """Distinct persons per cell and every Total, with the persons behind each cell."""
    labels = ", ".join(
        f"case when grouping({quoted[d]}) = 1 then '{TOTAL}' else coalesce(cast({quoted[d]} as varchar), 'unknown') end "
        f"as {quoted[d]}" for d in dimensions)
    cells = con.execute(
        f"with {rows} select {labels}, list(distinct {PERSON}) as persons from rows_of_the_researcher "
        f"group by cube ({', '.join(quoted[d] for d in dimensions)}) "
        f"order by {', '.join(str(i + 1) for i in range(len(dimensions)))}").to_arrow_table()
    additive = tuple(d for d in dimensions if _is_additive(con, rows, d, [x for x in dimensions if x != d], quoted))
    spec = OutputSpec(name=name, dimensions=tuple(dimensions), additive=additive,
                      union=tuple(d for d in dimensions if d not in additive), count=COUNT)
    sets = bitmaps_of_lists(cells.column("persons"))
    table = cells.select(list(dimensions)).to_pandas()
    table[COUNT] = np.array([len(s) for s in sets], dtype=np.int64)
    persons = {cell_key(spec, row): s for (_, row), s in zip(table.iterrows(), sets)}
    return ResearcherAggregate(name, sql, tuple(dimensions), table, spec, persons)


def _is_additive(con, rows: str, dimension: str, others: list[str], quoted: dict[str, str]) -> bool:
    """No person has two values of the dimension within one combination of the others."""
    keys = ", ".join([PERSON, *(quoted[o] for o in others)])
    return con.execute(
        f"with {rows} select count(*) from (select {keys} from rows_of_the_researcher group by {keys} "
        f"having count(distinct coalesce(cast({quoted[dimension]} as varchar), 'unknown')) > 1)").fetchone()[0] == 0
