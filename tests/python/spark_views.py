"""A Spark build laid out as a DuckDB build, for the tests that compare the two engines."""

from __future__ import annotations

from pathlib import Path

import duckdb

from wse_impact.engines.spark import RESEARCH_SCHEMAS, RESTRICTED_SCHEMAS, _parquet_views, spark_warehouse
from wse_impact.settings import RESEARCH_DB, RESTRICTED_DB


def duckdb_view_of_build(warehouse_dir: str | Path | None, into: Path) -> Path:
    """`restricted.duckdb` and `wse_impact.duckdb` in `into`, laid out as a DuckDB build, each
    with a view over every table a local Spark build wrote (its parquet files): what the
    Great Expectations suites read of a Spark build. Returns `into`."""
    warehouse = spark_warehouse(warehouse_dir)
    into.mkdir(parents=True, exist_ok=True)
    for file_name, schemas in ((RESTRICTED_DB, RESTRICTED_SCHEMAS), (RESEARCH_DB, RESEARCH_SCHEMAS)):
        with duckdb.connect(str(into / file_name)) as con:
            _parquet_views(con, warehouse, schemas)
    return into

