"""The same pipeline on Apache Spark: one real Spark build (local[2] session, dbt-spark) of
the same small landing and key as a DuckDB build, compared with it. The landing is the
session's generated one with damaged lines planted (a quoted line break, wrong field
counts, an unbalanced quote, bytes not UTF-8: fixture `damaged_build`, whose DuckDB build
test_deliveries checks), so the quarantine compared is not empty.

The Spark build runs `dbt build` with every dbt test of the project (contracts, class
bounds, reconciliation, INSZ leak, the codes-in-the-seeds test that replaces the ENUMs):
its success is the first assertion. The tables a Spark build writes are parquet files
under the warehouse; they are read here with DuckDB (wse_impact.spark.research_connection),
so the comparison needs no second JVM.
"""

from __future__ import annotations

import filecmp
import math
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import BIN_DIR, PROJECT_DIR, TEST_KEY, Pipeline, dbt_env
from wse_impact.spark import RESEARCH_SCHEMAS, RESTRICTED_SCHEMAS, research_connection, spark_root

MARTS = ["beneficiary_base", "control_base", "beneficiary_measures", "base_file_delivery"]
OUTPUTS = ["beneficiaries_by_profile", "employment_around_measure", "socio_economic_position_by_quarter"]
RESTRICTED = ["quarantine", "reconciliation", "delivery_files", "delivery", "int_persons_pseudonymised"]
# when the build read the files: differs between any two builds
BUILD_TIME_COLUMNS = {"read_at"}


@pytest.fixture(scope="session")
def duckdb_pipeline(damaged_build) -> Pipeline:
    return damaged_build[0]


@pytest.fixture(scope="session")
def spark_pipeline(tmp_path_factory, damaged_build) -> Pipeline:
    landing_dir = damaged_build[3]
    if shutil.which("java") is None:
        pytest.fail("java is missing: `make test` installs openjdk-17-jre-headless (make test-deps)")
    root = tmp_path_factory.mktemp("spark")
    warehouse_dir = root / "warehouse"
    env = dbt_env(landing_dir, warehouse_dir, DBT_LOG_PATH=str(root / "logs"), DBT_TARGET_PATH=str(root / "target"),
                  SPARK_LOCAL_IP="127.0.0.1", WSE_SPARK_DRIVER_MEMORY="2g")
    proc = subprocess.run([str(BIN_DIR / "wse-impact"), "spark-build"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True)
    (root / "spark-build.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise AssertionError(f"Spark build failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}")
    return Pipeline(landing_dir, warehouse_dir, root / "target", env)


def _rows(con, relation: str) -> tuple[list[str], list[tuple]]:
    cursor = con.execute(f"select * from {relation}")
    names = [d[0] for d in cursor.description]
    return names, cursor.fetchall()


def _normalised(names: list[str], rows: list[tuple], columns: list[str]) -> list[tuple]:
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


def _assert_same(duck, spark, relation: str) -> None:
    duck_names, duck_rows = _rows(duck, relation)
    spark_names, spark_rows = _rows(spark, relation)
    assert sorted(duck_names) == sorted(spark_names), f"{relation}: columns differ"
    columns = [c for c in duck_names if c not in BUILD_TIME_COLUMNS]
    assert len(duck_rows) == len(spark_rows), f"{relation}: {len(duck_rows)} rows on DuckDB, {len(spark_rows)} on Spark"
    assert duck_rows, f"{relation}: empty, nothing compared"
    left, right = _normalised(duck_names, duck_rows, columns), _normalised(spark_names, spark_rows, columns)
    for a, b in zip(left, right):
        for column, x, y in zip(columns, a, b):
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), f"{relation}.{column}: {x} != {y}"
            else:
                assert (str(x) if x is not None else None) == (str(y) if y is not None else None), \
                    f"{relation}.{column}: {x!r} on DuckDB, {y!r} on Spark\n{a}\n{b}"


@pytest.fixture(scope="session")
def both(duckdb_pipeline, spark_pipeline, tmp_path_factory):
    duck = duckdb_pipeline.restricted()
    duck.execute(f"attach '{duckdb_pipeline.research_db}' as wse_impact (read_only)")
    spark = research_connection(spark_pipeline.warehouse_dir)
    from wse_impact.quality import Warehouse
    from wse_impact.spark import duckdb_view_of_build

    # the Spark build's restricted and research tables, laid out as a DuckDB build
    spark_all = Warehouse(duckdb_view_of_build(spark_pipeline.warehouse_dir, tmp_path_factory.mktemp("spark_view"))).con
    yield duck, spark, spark_all
    duck.close()
    spark.close()


@pytest.mark.parametrize("mart", MARTS)
def test_marts_equal_on_spark_and_duckdb(both, mart):
    """Same rows, same pseudonyms (person_id), same classes; floats within 1e-9."""
    duck, spark, _ = both
    _assert_same(duck, spark, f"wse_impact.marts.{mart}")


@pytest.mark.parametrize("output", OUTPUTS)
def test_outputs_equal_on_spark_and_duckdb(both, output):
    duck, spark, _ = both
    _assert_same(duck, spark, f"wse_impact.outputs.{output}")


@pytest.mark.parametrize("relation", RESTRICTED)
def test_quarantine_reconciliation_and_pseudonyms_equal(both, relation):
    """The quarantine with the same files, true line numbers and reasons; the same
    reconciliation and delivery record; the same INSZ -> person_id link for the same key."""
    duck, _, spark_all = both
    _assert_same(duck, spark_all, f"intermediate.{relation}")


def test_spark_quarantine_holds_the_damaged_lines_and_reconciles(both, damaged_build):
    _, _, spark_all = both
    planted = damaged_build[1]
    rows = {(f, n): (r, raw) for f, n, r, raw in spark_all.execute(
        "select source_file, source_line_number, reasons, raw_line from intermediate.quarantine").fetchall()}
    for (file, line), (reason, raw, _insz) in planted.items():
        assert (file, line) in rows, f"{file} line {line} ({reason}) is not in the Spark quarantine"
        assert reason in rows[(file, line)][0] and rows[(file, line)][1] == raw
    assert spark_all.execute("select bool_and(is_reconciled) from intermediate.reconciliation").fetchone()[0]


def test_research_schemas_hold_no_insz_and_restricted_tables_stay_apart(spark_pipeline):
    warehouse = spark_root(spark_pipeline.warehouse_dir) / "warehouse"
    research = research_connection(spark_pipeline.warehouse_dir)
    tables = research.execute("select table_schema, table_name from information_schema.tables "
                              "where table_catalog = 'wse_impact'").fetchall()
    assert {s for s, _ in tables} == set(RESEARCH_SCHEMAS)
    for schema, table in tables:
        columns = [r[0] for r in research.execute(f"describe wse_impact.{schema}.{table}").fetchall()]
        assert "insz" not in columns, f"{schema}.{table} holds an INSZ column"
    # the link INSZ -> person_id and the quarantine live in restricted schemas only
    assert (warehouse / "intermediate.db" / "int_persons_pseudonymised").is_dir()
    assert (warehouse / "intermediate.db" / "quarantine").is_dir()
    assert not any((warehouse / f"{s}.db" / "int_persons_pseudonymised").exists() for s in RESEARCH_SCHEMAS)
    assert set(RESEARCH_SCHEMAS).isdisjoint(RESTRICTED_SCHEMAS)


def test_key_never_in_spark_sql_logs_plans_or_metastore(spark_pipeline):
    """The key is read by the UDF inside the Python workers: not in compiled SQL, dbt's logs,
    the build's output or any file of the Spark warehouse and Derby metastore."""
    root = spark_pipeline.warehouse_dir.parent
    needle = TEST_KEY.encode()
    checked = 0
    for path in root.rglob("*"):
        if path.is_file():
            checked += 1
            assert needle not in path.read_bytes(), f"the pseudonymisation key appears in {path}"
    assert checked > 50


def test_export_of_either_engine_gives_the_same_files(duckdb_pipeline, spark_pipeline, tmp_path):
    """The disclosure gate on the outputs each engine built (read from the Spark build's
    parquet files through DuckDB) writes byte-identical CSVs."""
    from wse_impact.export import export_outputs

    folders = []
    for engine, built in (("duckdb", duckdb_pipeline), ("spark", spark_pipeline)):
        result = export_outputs(built.warehouse_dir, tmp_path / engine / "exports", today=date(2026, 6, 1),
                                restricted_dir=tmp_path / engine / "disclosure", engine=engine)
        folders.append(result.folder)
    duck_files = sorted(p.relative_to(folders[0]) for p in folders[0].rglob("*.csv"))
    spark_files = sorted(p.relative_to(folders[1]) for p in folders[1].rglob("*.csv"))
    assert duck_files and duck_files == spark_files
    for relative in duck_files:
        assert filecmp.cmp(folders[0] / relative, folders[1] / relative, shallow=False), f"{relative} differs"


def test_great_expectations_suites_pass_on_the_spark_build(spark_pipeline):
    """The suites of the reference, intermediate and marts groups, on the tables the Spark
    build wrote (read as on DuckDB, into pandas). The staging group reads the staging and
    int_snapshots_checked views, which on Spark are metastore SQL, not files: not run here."""
    proc = subprocess.run(
        [str(BIN_DIR / "wse-impact"), "validate", "--engine", "spark", "--warehouse-dir",
         str(spark_pipeline.warehouse_dir), "--no-docs", "--suites", "reference,intermediate,marts"],
        cwd=PROJECT_DIR, env=spark_pipeline.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " 0 failed" in proc.stdout


def test_a_request_reads_the_output_models_of_a_spark_build(spark_pipeline, tmp_path):
    """The release review starts the same way on a Spark build: the researcher's request
    reads the output models from its parquet files and runs the gate."""
    from wse_impact.review import current_user

    warehouse = tmp_path / "warehouse"
    shutil.copytree(spark_pipeline.warehouse_dir / "spark" / "warehouse", warehouse / "spark" / "warehouse")
    (warehouse / "disclosure").mkdir()
    (warehouse / "disclosure" / "roles.yml").write_text(f"researchers: [{current_user()}]\ncustodians: []\n")
    proc = subprocess.run(
        [str(BIN_DIR / "wse-impact"), "request", "--engine", "spark", "--output", "socio_economic_position_by_quarter",
         "--warehouse-dir", str(warehouse), "--today", "2026-06-01"],
        cwd=PROJECT_DIR, env=spark_pipeline.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    staged = warehouse / "disclosure" / "requests" / "R0001" / "staged"
    assert (staged / "socio_economic_position_by_quarter.csv").is_file()
