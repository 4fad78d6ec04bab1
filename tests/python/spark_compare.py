"""Comparing a Spark build with a DuckDB build of the same landing and key (test_spark:
local[2]; test_spark_cluster: a two-worker standalone cluster): the relations compared, and
an equality that allows only float rounding and the build-time columns."""

from __future__ import annotations

import filecmp
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

MARTS = ["beneficiary_base", "control_base", "beneficiary_measures", "base_file_delivery"]
OUTPUTS = ["beneficiaries_by_profile", "employment_around_measure", "socio_economic_position_by_quarter"]
RESTRICTED = ["quarantine", "reconciliation", "delivery_files", "delivery", "int_persons_pseudonymised"]
# when the build read the files: differs between any two builds
BUILD_TIME_COLUMNS = {"read_at"}


def rows_of(con, relation: str) -> tuple[list[str], list[tuple]]:
    cursor = con.execute(f"select * from {relation}")
    names = [d[0] for d in cursor.description]
    return names, cursor.fetchall()


def normalised(names: list[str], rows: list[tuple], columns: list[str]) -> list[tuple]:
    index = [names.index(c) for c in columns]
    out = []
    for row in rows:
        values = []
        for i in index:
            value = row[i]
            if isinstance(value, Decimal):
                value = float(value)
            values.append(value)
        out.append(tuple(values))
    return sorted(out, key=lambda r: tuple((v is None, str(v) if not isinstance(v, float) else f"{v:.9e}") for v in r))


def assert_same(duck, spark, relation: str) -> None:
    duck_names, duck_rows = rows_of(duck, relation)
    spark_names, spark_rows = rows_of(spark, relation)
    assert sorted(duck_names) == sorted(spark_names), f"{relation}: columns differ"
    columns = [c for c in duck_names if c not in BUILD_TIME_COLUMNS]
    assert len(duck_rows) == len(spark_rows), f"{relation}: {len(duck_rows)} rows on DuckDB, {len(spark_rows)} on Spark"
    assert duck_rows, f"{relation}: empty, nothing compared"
    left, right = normalised(duck_names, duck_rows, columns), normalised(spark_names, spark_rows, columns)
    for a, b in zip(left, right):
        for column, x, y in zip(columns, a, b):
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), f"{relation}.{column}: {x} != {y}"
            else:
                assert (str(x) if x is not None else None) == (str(y) if y is not None else None), \
                    f"{relation}.{column}: {x!r} on DuckDB, {y!r} on Spark\n{a}\n{b}"


def open_both(duckdb_pipeline, spark_warehouse_dir: Path, view_dir: Path):
    """(DuckDB build with its research database attached, the Spark build's research
    tables, the Spark build's restricted and research tables laid out as a DuckDB build)."""
    from spark_views import duckdb_view_of_build
    from wse_impact.engines.spark import research_connection
    from wse_impact.quality import Warehouse

    duck = duckdb_pipeline.restricted()
    # `if not exists`: another open connection to the same file shares its DuckDB instance
    duck.execute(f"attach if not exists '{duckdb_pipeline.research_db}' as wse_impact (read_only)")
    spark = research_connection(spark_warehouse_dir)
    spark_all = Warehouse(duckdb_view_of_build(spark_warehouse_dir, view_dir)).con
    return duck, spark, spark_all


def assert_same_exports(duckdb_warehouse_dir: Path, spark_warehouse_dir: Path, tmp_path: Path) -> None:
    """The disclosure gate on the outputs each engine built (the Spark build's read from its
    parquet files through DuckDB) writes byte-identical CSVs."""
    from releases import export_outputs

    folders = []
    for engine, warehouse_dir in (("duckdb", duckdb_warehouse_dir), ("spark", spark_warehouse_dir)):
        result = export_outputs(warehouse_dir, tmp_path / engine / "exports", today=date(2026, 6, 1),
                                restricted_dir=tmp_path / engine / "disclosure", engine=engine)
        folders.append(result.folder)
    duck_files = sorted(p.relative_to(folders[0]) for p in folders[0].rglob("*.csv"))
    spark_files = sorted(p.relative_to(folders[1]) for p in folders[1].rglob("*.csv"))
    assert duck_files and duck_files == spark_files
    for relative in duck_files:
        assert filecmp.cmp(folders[0] / relative, folders[1] / relative, shallow=False), f"{relative} differs"
