"""Great Expectations 1.x computing its metrics in DuckDB, where the data lives.

Why GX's SQL data source fails on DuckDB out of the box: `SqlAlchemyExecutionEngine.
execute_query` opens a pooled connection, executes the query, *closes the connection* and
returns the SQLAlchemy result; the caller then calls `.fetchall()`. For most drivers the
rows are already buffered, but a DuckDB result belongs to its connection: once that is
returned to the pool (and rolled back) the result is empty, so `resolve_metric_bundle`
fails with `IndexError: list index out of range` and every expectation "fails" without
having looked at the data.

The fix used here is the one GX itself applies to SQLite, SQL Server, BigQuery and
Databricks (`_PERSISTED_CONNECTION_DIALECTS`): the execution engine keeps one connection
for its lifetime, so a result is fetched on the connection that computed it. It is done by
subclassing, not by patching GX:
- `DuckDBExecutionEngine(SqlAlchemyExecutionEngine)` overrides `get_connection` only: it
  opens one connection on first use and keeps it (closed with the engine);
- `DuckDBDatasource(SQLDatasource)`, a fluent data source of type "duckdb" (GX registers it
  by its `type`), makes its execution engine a `DuckDBExecutionEngine`.
The connection string is duckdb_engine's (`duckdb:///path`); `connect_args` open the
database read-only with a memory limit, and `attach` names further databases to attach
read-only on that connection (the research database beside the restricted one).

Every metric is then a SQL query run by DuckDB (aggregates over the table; example values
with a LIMIT); nothing but metric values and at most `partial_unexpected_count` example rows
come back to Python, so the validating process's memory does not grow with the table.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, ClassVar, Dict, Generator, List, Literal, Type

import great_expectations as gx
from great_expectations.compatibility import pydantic
from great_expectations.datasource.fluent.sql_datasource import (
    QueryAsset,
    SQLDatasource,
    TableAsset,
)
from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine


def _attach_on_connect(engine, attach: dict[str, str]) -> None:
    """Every DBAPI connection the engine opens (also GX's reflection and connection tests)
    sees the attached databases, read-only."""
    import sqlalchemy as sa

    statements = [f"attach if not exists '{path}' as {alias} (read_only)" for alias, path in attach.items()]

    @sa.event.listens_for(engine, "connect")
    def _attach_databases(dbapi_connection, _record):  # noqa: ANN001
        for statement in statements:
            dbapi_connection.execute(statement)


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQL execution engine on one kept DuckDB connection (see the module doc)."""

    def __init__(self, *args: Any, attach: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _attach_on_connect(self.engine, dict(attach or {}))

    @contextmanager
    def get_connection(self) -> Generator[Any, None, None]:
        """One connection for the engine's lifetime: a DuckDB result is fetched on the
        connection that produced it (GX fetches after leaving this context)."""
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        yield self._connection

    def execute_query(self, query):  # noqa: ANN001, ANN201
        """As GX's, but a failed query is rolled back on the kept connection: DuckDB aborts
        the connection's transaction on an error, and every later metric would otherwise
        fail with "Current transaction is aborted" instead of its own result."""
        try:
            return super().execute_query(query)
        except Exception:
            if self._connection is not None and not self._connection.closed:
                try:
                    self._connection.rollback()
                except Exception:  # noqa: BLE001 - the original error is the one to report
                    pass
            raise

    def close(self) -> None:
        if self._connection is not None and not self._connection.closed:
            self._connection.close()
        self._connection = None
        self.engine.dispose()


class DuckDBTableAsset(TableAsset):
    type: Literal["table"] = "table"


class DuckDBQueryAsset(QueryAsset):
    type: Literal["query"] = "query"


class DuckDBDatasource(SQLDatasource):
    """A GX fluent data source on a DuckDB file, computing expectations in DuckDB.

    Args:
        name: the data source's name.
        connection_string: `duckdb:///<path to .duckdb>`.
        attach: alias -> path of further databases attached read-only.
        kwargs: passed to SQLAlchemy's create_engine, e.g. `{"connect_args": {"read_only":
            True, "config": {"memory_limit": "1GB"}}}`.
    """

    asset_types: ClassVar[List[Type]] = [DuckDBTableAsset, DuckDBQueryAsset]
    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]
    attach: Dict[str, str] = {}

    _TableAsset: Type[TableAsset] = pydantic.PrivateAttr(DuckDBTableAsset)
    _QueryAsset: Type[QueryAsset] = pydantic.PrivateAttr(DuckDBQueryAsset)

    @property
    def execution_engine_type(self) -> Type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine

    def _create_engine(self):  # noqa: ANN202
        engine = super()._create_engine()
        _attach_on_connect(engine, self.attach)
        return engine


def add_duckdb_datasource(context, name: str, database: str, attach: dict[str, str] | None = None,
                          config: dict[str, Any] | None = None) -> DuckDBDatasource:
    """A read-only DuckDB data source in `context` (DuckDB allows one read-write process per
    file: dbt's; any number of read-only ones once it has finished)."""
    # `add_duckdb` exists because GX registers every Datasource subclass by its `type`
    return context.data_sources.add_duckdb(
        name=name,
        connection_string=f"duckdb:///{database}",
        attach={alias: str(path) for alias, path in (attach or {}).items()},
        create_temp_table=False,
        kwargs={"connect_args": {"read_only": True, "config": dict(config or {})}},
    )


__all__ = ["DuckDBDatasource", "DuckDBExecutionEngine", "add_duckdb_datasource", "gx"]
