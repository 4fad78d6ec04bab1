"""Engines: what differs between DuckDB (the dbt-duckdb plugin, the database files) and Spark
(session, registration of the landing files, the project's functions), behind one protocol
(`engines/base.py`). The rest of the project asks `engine(name)`, never an engine module."""

from __future__ import annotations

from wse_impact.engines.base import Engine, NoBuild, NoTables, QueryConnection
from wse_impact.engines.duckdb import Warehouse
from wse_impact.settings import engine_name

__all__ = ["Engine", "NoBuild", "NoTables", "QueryConnection", "Warehouse", "engine"]


def engine(name: str | None = None) -> Engine:
    """The engine called `name`, else $ENGINE, else DuckDB; `settings.UnknownEngine` otherwise."""
    if engine_name(name) == "spark":
        from wse_impact.engines.spark import SparkEngine

        return SparkEngine()
    from wse_impact.engines.duckdb import DuckDBEngine

    return DuckDBEngine()
