"""The DuckDB engine: the two database files a `dbt build` on DuckDB writes (the project's
functions and the landing reader are the dbt-duckdb plugin's, `engines/duckdb_plugin.py`)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from wse_impact.engines.base import EngineBase, NoBuild
from wse_impact.settings import RESEARCH_DB, RESTRICTED_DB, warehouse_dir as default_warehouse_dir


def warehouse_files(warehouse_dir: str | Path | None = None) -> tuple[Path, Path]:
    """The restricted and the research database of a DuckDB build."""
    folder = default_warehouse_dir(warehouse_dir)
    restricted, research = folder / RESTRICTED_DB, folder / RESEARCH_DB
    for db in (restricted, research):
        if not db.exists():
            raise NoBuild(f"{db} not found: run `dbt build` first (WSE_WAREHOUSE_DIR={folder})")
    return restricted, research


class Warehouse:
    """The two DuckDB databases dbt built, opened read-only in one connection (the research
    database attached as `wse_impact`)."""

    def __init__(self, warehouse_dir: str | Path | None = None):
        self.dir = default_warehouse_dir(warehouse_dir)
        restricted, research = warehouse_files(self.dir)
        self.con = duckdb.connect(str(restricted), read_only=True)
        self.con.execute(f"attach if not exists '{research}' as wse_impact (read_only)")

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def columns(self, relation: str) -> list[str]:
        return [r[0] for r in self.rows(f"select column_name from (describe {relation})")]


class DuckDBEngine(EngineBase):
    name = "duckdb"

    def build_location(self, warehouse_dir: str | Path | None = None) -> Path:
        """The research database (all a release reads)."""
        research = default_warehouse_dir(warehouse_dir) / RESEARCH_DB
        if not research.exists():
            raise NoBuild(f"research database {research} does not exist (run `make build` first)")
        return research

    def research_connection(self, warehouse_dir: str | Path | None = None) -> duckdb.DuckDBPyConnection:
        """The research database, read-only (its catalog is `wse_impact`, the file's name)."""
        return duckdb.connect(str(self.build_location(warehouse_dir)), read_only=True)

    def query_connection(self, warehouse_dir: str | Path | None = None) -> Warehouse:
        return Warehouse(warehouse_dir)

    def suite_connection(self, warehouse_dir: str | Path | None = None) -> tuple[Path, Path]:
        """The database files (restricted, research): GX opens them with its own settings."""
        return warehouse_files(warehouse_dir)
