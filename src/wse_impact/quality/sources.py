"""Where the suites run: a Great Expectations source over the connection the engine gives
(engines/base.py, `suite_connection`), so that the engine holding the data computes the
metrics and only metric values and a few example rows come back to Python.

- `DuckDBSource`: the built database files, read-only, through GX's SQL engine
  (quality/gx_duckdb.py); each suite's SQL becomes a GX query asset; DuckDB's memory limit
  for the queries is `WSE_VALIDATE_MEMORY_LIMIT`.
- `SparkSource`: GX's Spark execution engine (a `spark` data source with one dataframe
  asset) on `spark.sql(suite.sql)` in a session on the build's own warehouse and metastore,
  staging views included. The suites' SQL is the same as on DuckDB; the engine's `suite_sql`
  adapts the research tables' names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wse_impact.engines import Engine, QueryConnection, engine
from wse_impact.quality.suite import Suite
from wse_impact.settings import validate_memory_limit


class DuckDBSource:
    """Where the suites run on a DuckDB build (see the module doc)."""

    def __init__(self, warehouse_dir: Path, memory_limit: str | None = None, threads: int | None = None,
                 engine_: Engine | None = None):
        self.dir = Path(warehouse_dir)
        self.engine = engine_ or engine("duckdb")
        self.restricted, self.research = self.engine.suite_connection(self.dir)
        self.config = {"memory_limit": validate_memory_limit(memory_limit)}
        if threads:
            self.config["threads"] = threads
        self.datasource = None

    def warehouse(self) -> QueryConnection:
        """The facts the suites are made from; closed before GX opens the files with its
        own settings."""
        return self.engine.query_connection(self.dir)

    def add_to(self, context) -> None:
        from wse_impact.quality.gx_duckdb import add_duckdb_datasource

        self.datasource = add_duckdb_datasource(context, "warehouse", str(self.restricted),
                                                attach={"wse_impact": str(self.research)}, config=self.config)

    def batch(self, suite: Suite) -> tuple[Any, dict | None]:
        """The suite's batch definition and batch parameters."""
        query = suite.sql.strip()
        if not re.match(r"select\s", query, re.IGNORECASE):  # GX's query assets must start with SELECT
            query = f"select * from ({query}) as suite_rows"
        asset = self.datasource.add_query_asset(suite.name, query=query)
        return asset.add_batch_definition_whole_table("whole_table"), None

    def close(self) -> None:
        """Close every connection GX opened: DuckDB keeps a database file open (and locked
        against writers in this process) while any connection to it is open."""
        if self.datasource is not None:
            self.datasource.get_execution_engine().close()
            self.datasource.get_engine().dispose()
            self.datasource = None


class SparkSource:
    """Where the suites run on a Spark build (see the module doc)."""

    def __init__(self, warehouse_dir: Path, engine_: Engine | None = None):
        self.dir = Path(warehouse_dir)
        self.engine = engine_ or engine("spark")
        self.spark = self.engine.suite_connection(warehouse_dir)  # a clear error when there is no Spark build
        self.asset = None

    def warehouse(self) -> QueryConnection:
        """The facts the suites are made from, read in this source's session."""
        return self.engine.query_connection(self.dir, session=self.spark)

    def add_to(self, context) -> None:
        self.asset = context.data_sources.add_spark("warehouse").add_dataframe_asset("suite_rows")

    def batch(self, suite: Suite) -> tuple[Any, dict | None]:
        return (self.asset.add_batch_definition_whole_dataframe(suite.name),
                {"dataframe": self.spark.sql(self.engine.suite_sql(suite.sql))})

    def close(self) -> None:
        self.spark.stop()


SOURCES = {"duckdb": DuckDBSource, "spark": SparkSource}


def source_for(warehouse_dir: Path | str, engine_name: str | None = None) -> DuckDBSource | SparkSource:
    """The GX source of the build of `engine_name` (else $ENGINE, else DuckDB)."""
    chosen = engine(engine_name)
    return SOURCES[chosen.name](Path(warehouse_dir), engine_=chosen)
