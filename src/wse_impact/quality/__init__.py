"""Great Expectations suites (GX 1.x, defined as code) over the tables dbt built, computed in
the engine that holds the data.

- `project.declarations`, `project.seeds`, `project.macros`: where the rules come from,
  declared once (column meta in the models' yml read from dbt's manifest, the seeds, the
  measure catalog).
- `rules`: declarations in, expectations out, one function per kind of rule.
- `suites/`: the suites in four groups (reference, staging, intermediate, marts).
- `sources`: the GX source over the engine's connection (DuckDB files through
  `gx_duckdb`, or a Spark session), through the engine protocol (engines/base.py).
- `runner`: `validate()` and `run_suites()`, which return a `Report` (`suite`).

GX 1.x's stock SQL data source returns empty metrics on DuckDB (it fetches after closing the
connection); the DuckDB data source here keeps its connection, the fix GX applies to SQLite
(see gx_duckdb.py). Data Docs HTML go to `reports/gx/` (configurable).
"""

from __future__ import annotations

from wse_impact.engines import Warehouse
from wse_impact.project.declarations import ClassColumn, CodeColumn, Declarations, ValueRange, default_manifest
from wse_impact.project.macros import age_in_years_sql, classed_measure_schemes, measure_catalog, project_macro
from wse_impact.project.seeds import Seeds, seed_rows
from wse_impact.quality.rules import UNKNOWN_CLASS
from wse_impact.quality.runner import _columns_of, raised_exception, run_suites, validate
from wse_impact.quality.sources import DuckDBSource, SparkSource, source_for
from wse_impact.quality.suite import Failure, Report, Suite
from wse_impact.quality.suites import GROUPS, PANEL, build_suites

__all__ = [
    "ClassColumn", "CodeColumn", "Declarations", "DuckDBSource", "Failure", "GROUPS", "PANEL", "Report", "Seeds",
    "SparkSource", "Suite", "UNKNOWN_CLASS", "ValueRange", "Warehouse", "age_in_years_sql",
    "classed_measure_schemes", "build_suites", "default_manifest", "measure_catalog", "project_macro",
    "raised_exception", "run_suites", "seed_rows", "source_for", "validate",
]
