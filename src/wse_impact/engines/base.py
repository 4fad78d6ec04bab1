"""The engine protocol: what the rest of the project may ask of the engine that built the
warehouse, without knowing which one it was (DuckDB: `engines/duckdb.py`, Spark:
`engines/spark.py`; `wse_impact.engines.engine(name)` picks one by `settings.engine_name`).

- `build_location(warehouse_dir)`: where the build is (what a release names as its source);
  `NoBuild` when there is none.
- `research_connection(warehouse_dir)`: a DuckDB connection on the research tables, named
  `wse_impact.<schema>.<table>` (marts, outputs, reference), read-only.
- `read_outputs(warehouse_dir, schema)`: every table of the research schema `schema`
  (default `outputs`) as a DataFrame, rows in a fixed order.
- `query_connection(warehouse_dir)`: `rows(sql)`, `columns(relation)`, `close()` on all the
  build's tables (restricted ones too), SQL written for the DuckDB layout.
- `suite_connection(warehouse_dir)` and `suite_sql(sql)`: what the Great Expectations
  source computes on (DuckDB: the database files; Spark: a session on the build's
  metastore) and a suite's SQL, written for the DuckDB layout, as that engine runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

OUTPUT_SCHEMA = "outputs"
RESEARCH_CATALOG = "wse_impact"


class NoBuild(FileNotFoundError):
    """The warehouse folder holds no build of this engine."""


class NoTables(LookupError):
    """The research data has no table in the schema asked for."""


class QueryConnection(Protocol):
    def rows(self, sql: str) -> list[tuple]: ...

    def columns(self, relation: str) -> list[str]: ...

    def close(self) -> None: ...


class Engine(Protocol):
    name: str

    def build_location(self, warehouse_dir: str | Path | None = None) -> Path: ...

    def research_connection(self, warehouse_dir: str | Path | None = None) -> "duckdb.DuckDBPyConnection": ...

    def read_outputs(self, warehouse_dir: str | Path | None = None,
                     schema: str = OUTPUT_SCHEMA) -> dict[str, "pd.DataFrame"]: ...

    def query_connection(self, warehouse_dir: str | Path | None = None) -> QueryConnection: ...

    def suite_connection(self, warehouse_dir: str | Path | None = None) -> Any: ...

    def suite_sql(self, sql: str) -> str: ...


class EngineBase:
    """What both engines do the same way, over their own `research_connection`."""

    name = ""

    def research_connection(self, warehouse_dir: str | Path | None = None):
        raise NotImplementedError

    def read_outputs(self, warehouse_dir: str | Path | None = None,
                     schema: str = OUTPUT_SCHEMA) -> dict[str, "pd.DataFrame"]:
        with self.research_connection(warehouse_dir) as con:
            return read_tables(con, schema, RESEARCH_CATALOG)

    def suite_sql(self, sql: str) -> str:
        return sql


def read_tables(con, schema: str, catalog: str | None = None) -> dict[str, "pd.DataFrame"]:
    """Every table (or view) of `schema` on an open DuckDB connection, each sorted on all its
    columns: secondary suppression breaks ties by row order, and an engine (or a rebuild)
    may store the same rows in another order; sorted, the same data gives the same files."""
    names = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?"
        + (" and table_catalog = ?" if catalog else "") + " order by table_name",
        [schema, *([catalog] if catalog else [])],
    ).fetchall()]
    if not names:
        raise NoTables(f"the research data has no tables in schema {schema!r}")
    prefix = f'"{catalog}".' if catalog else ""
    return {name: con.execute(f'select * from {prefix}"{schema}"."{name}" order by all').df() for name in names}
