"""Engines: what differs between DuckDB (the dbt-duckdb plugin) and Spark (session,
registration of the landing files, the project's functions)."""
